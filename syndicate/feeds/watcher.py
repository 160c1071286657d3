"""Which entries are new: a pure decision over what the feed shows and what the ledger knows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from syndicate.feeds.identity import content_hash, normalise_url
from syndicate.model import FeedEntry

_OLDEST = datetime.min.replace(tzinfo=UTC)

# identity -> (entry id, content hash, link) for every entry the ledger holds for the feed.
Known = Mapping[str, tuple[int, str, str]]


@dataclass(frozen=True)
class PollPlan:
    new: tuple[FeedEntry, ...]  # store and deliver
    baseline: tuple[FeedEntry, ...]  # store as already seen; never deliver
    changed: tuple[tuple[int, FeedEntry], ...]  # (entry id, entry) whose text was edited
    hashes: Mapping[str, str]  # identity -> content hash, for every entry in the feed


def entry_hash(entry: FeedEntry) -> str:
    return content_hash(entry.title, entry.link, entry.content_html, "\x1f".join(entry.categories))


def plan_poll(
    entries: Sequence[FeedEntry], known: Known, *, first_poll: bool, backfill: int = 0
) -> PollPlan:
    """The first poll of a feed records a baseline and delivers only the newest `backfill`
    entries. Later, an unseen identity is new; a known one with a new hash is an edit, which
    never creates a delivery."""
    entries = resolve_identities(entries, known)
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


def resolve_identities(entries: Sequence[FeedEntry], known: Known) -> list[FeedEntry]:
    """Final identities, whatever the order of the items.

    An id used by one item is that item's identity (a changed link is an edit). Items sharing
    an id are told apart by link (`id|link`, as Miniflux does); a known (id, link) pair keeps
    its identity; exact duplicates (same id and link) are dropped.
    """
    groups: dict[str, list[FeedEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.identity, []).append(entry)
    chosen: dict[int, str] = {}  # id(entry) -> identity
    for base, items in groups.items():
        chosen.update(_resolve_group(base, items, known))
    resolved: list[FeedEntry] = []
    seen: set[str] = set()
    for entry in entries:
        identity = chosen[id(entry)]
        if identity not in seen:
            seen.add(identity)
            resolved.append(
                entry if identity == entry.identity else replace(entry, identity=identity)
            )
    return resolved


def _resolve_group(base: str, items: list[FeedEntry], known: Known) -> dict[int, str]:
    def alt(entry: FeedEntry) -> str:
        return f"{base}|{normalise_url(entry.link)}"

    if len(items) == 1:
        [entry] = items
        moved_from_group = base not in known and alt(entry) in known
        return {id(entry): alt(entry) if moved_from_group else base}
    base_link = normalise_url(known[base][2]) if base in known else None
    identities: dict[int, str] = {}
    unmatched: list[FeedEntry] = []
    for entry in items:
        if base_link is not None and normalise_url(entry.link) == base_link:
            identities[id(entry)] = base
        elif alt(entry) in known:
            identities[id(entry)] = alt(entry)
        else:
            unmatched.append(entry)
    base_free = base not in known and base not in identities.values()
    by_link: dict[str, str] = {}  # the same id and link twice is one item
    # New items of the group: the plain id goes to the smallest link, so order never matters.
    for entry in sorted(unmatched, key=lambda e: normalise_url(e.link)):
        link = normalise_url(entry.link)
        if link not in by_link:
            by_link[link] = base if base_free else alt(entry)
            base_free = False
        identities[id(entry)] = by_link[link]
    return identities


def _published(entry: FeedEntry) -> datetime:
    return entry.published or entry.updated or _OLDEST
