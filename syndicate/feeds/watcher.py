"""Which entries are new: a pure decision over what the feed shows and what the ledger knows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from syndicate.feeds.identity import content_hash
from syndicate.model import FeedEntry

_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PollPlan:
    new: tuple[FeedEntry, ...]  # store and deliver
    baseline: tuple[FeedEntry, ...]  # store as already seen; never deliver
    changed: tuple[tuple[int, FeedEntry], ...]  # (entry id, entry) whose text was edited
    hashes: Mapping[str, str]  # identity -> content hash, for every entry in the feed


def entry_hash(entry: FeedEntry) -> str:
    return content_hash(entry.title, entry.link, entry.content_html, "\x1f".join(entry.categories))


def plan_poll(
    entries: Sequence[FeedEntry],
    known: Mapping[str, tuple[int, str]],
    *,
    first_poll: bool,
    backfill: int = 0,
) -> PollPlan:
    """`known` maps identity -> (entry id, content hash) for every entry ever stored.

    The first poll of a feed records a baseline and delivers only the newest `backfill`
    entries. Later, an unseen identity is new; a known one with a new hash is an edit, which
    never creates a delivery.
    """
    hashes = {entry.identity: entry_hash(entry) for entry in entries}
    unseen = [entry for entry in entries if entry.identity not in known]
    changed = tuple(
        (known[e.identity][0], e)
        for e in entries
        if e.identity in known and known[e.identity][1] != hashes[e.identity]
    )
    if not first_poll:
        return PollPlan(new=tuple(unseen), baseline=(), changed=changed, hashes=hashes)
    newest_first = sorted(unseen, key=_published, reverse=True)
    return PollPlan(
        new=tuple(newest_first[:backfill]),
        baseline=tuple(newest_first[backfill:]),
        changed=changed,
        hashes=hashes,
    )


def _published(entry: FeedEntry) -> datetime:
    return entry.published or entry.updated or _OLDEST
