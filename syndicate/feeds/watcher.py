"""Which entries are new: a pure decision over what the feed shows and what the ledger knows.

Every input is plain data, including the time (`now`); nothing here reads a clock, a database
or the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from syndicate.feeds.identity import content_hash, normalise_url
from syndicate.feeds.parse import finish
from syndicate.model import FeedEntry, KnownEntry

_OLDEST = datetime.min.replace(tzinfo=UTC)

# A feed must have this many known entries before a burst of unknown ids can quarantine it.
QUARANTINE_MIN_KNOWN = 5
# An entry dated further ahead than this has a bad clock: it counts as published now.
FUTURE_SKEW_LIMIT = timedelta(days=2)

# identity -> what the ledger holds of every entry of the feed.
Known = Mapping[str, KnownEntry]


@dataclass(frozen=True)
class PollPlan:
    new: tuple[FeedEntry, ...]  # store and deliver
    baseline: tuple[FeedEntry, ...]  # store as already seen; never deliver
    changed: tuple[tuple[int, FeedEntry], ...]  # (entry id, entry) whose text was edited
    hashes: Mapping[str, str]  # identity -> content hash, for every entry in the feed
    deferred: tuple[FeedEntry, ...] = ()  # dated in the future: do not store; new once due
    quarantined: bool = False  # the ids look replaced: deliver nothing, alert, await accept
    reason: str = ""  # why the feed is quarantined, for the event and `feeds list`
    held: tuple[FeedEntry, ...] = ()  # unseen entries a quarantine withholds; not stored
    # (entry id, source hash): the feed's text changed, the cleaned entry did not; no event
    resourced: tuple[tuple[int, str], ...] = ()


def entry_hash(entry: FeedEntry) -> str:
    """The change detector stored with an entry: a hash of its cleaned visible fields."""
    entry = finish(entry)
    return content_hash(entry.title, entry.link, entry.content_html, "\x1f".join(entry.categories))


def plan_poll(
    entries: Sequence[FeedEntry],
    known: Known,
    *,
    first_poll: bool,
    backfill: int = 0,
    now: datetime | None = None,
    accept: bool = False,
) -> PollPlan:
    """Decide what to store and deliver for one poll.

    - An unseen identity is new; a known one with a new hash is an edit, which never creates
      a delivery (nor do re-dates, reorders or republished old items).
    - The first poll records a baseline and delivers only the newest `backfill` entries.
      `accept=True` (`syndicate feeds accept NAME`) does the same without backfill: every
      unseen entry becomes baseline, which ends a quarantine.
    - On later polls, unseen entries dated after `now` are deferred (see `split_due`), and a
      burst of unseen ids quarantines the feed (see `quarantine_reason`).
    - `now=None` defers nothing; every caller that has a clock should pass it.
    """
    entries = resolve_identities(entries, known)
    hashes, changed, resourced = compare(entries, known)
    # Unseen entries are cleaned here, known ones in `compare` only if their source changed.
    unseen = [finish(entry) for entry in entries if entry.identity not in known]
    if now is not None:
        unseen = [clamp_future(entry, now) for entry in unseen]
    if first_poll or accept:
        plan = _baseline(unseen, backfill if first_poll else 0, changed, hashes)
        return replace(plan, resourced=resourced)
    reason = quarantine_reason(len(unseen), len(entries), len(known))
    if reason:
        return PollPlan((), (), changed, hashes, quarantined=True, reason=reason, held=(*unseen,))
    due, deferred = split_due(unseen, now)
    return PollPlan(
        new=due,
        baseline=(),
        changed=changed,
        hashes=hashes,
        deferred=deferred,
        resourced=resourced,
    )


def compare(
    entries: Sequence[FeedEntry], known: Known
) -> tuple[dict[str, str], tuple[tuple[int, FeedEntry], ...], tuple[tuple[int, str], ...]]:
    """(identity -> content hash, edited known entries, known entries with a new source only).

    A known entry whose source hash is the stored one is unchanged without being cleaned.
    Any other is cleaned and its content hash decides: the same (an entry stored before
    source hashes, or markup that cleans to the same text) only records the new source."""
    hashes: dict[str, str] = {}
    changed: list[tuple[int, FeedEntry]] = []
    resourced: list[tuple[int, str]] = []
    for shown in entries:
        stored = known.get(shown.identity)
        if stored is not None and shown.source_hash and shown.source_hash == stored.source_hash:
            hashes[shown.identity] = stored.content_hash
            continue
        entry = finish(shown)
        hashes[entry.identity] = hashed = entry_hash(entry)
        if stored is None:
            continue
        if hashed != stored.content_hash:
            changed.append((stored.id, entry))
        elif entry.source_hash != stored.source_hash:
            resourced.append((stored.id, entry.source_hash))
    return hashes, tuple(changed), tuple(resourced)


def quarantine_reason(unseen: int, total: int, known: int) -> str:
    """Why a (non-first) poll looks like an id-scheme change, or "" when it does not.

    The rule: the ledger knows at least QUARANTINE_MIN_KNOWN entries of the feed, and strictly
    more than half of the entries the feed shows now are unseen. Half exactly is not enough.

    It counts against the feed's own window, not against the ledger: a feed known for years
    has hundreds of known entries but shows 10-25, and a scheme change makes all of those look
    new. A blog that is new to us (fewer known entries than the minimum, e.g. its first posts
    after the baseline) is never quarantined, however much it publishes at once.

    The false positive left is an established feed that publishes more than half of its window
    at once (5 posts in a 5-item feed). We accept it, because the two mistakes differ in cost:
    a wrong quarantine holds a few posts and raises an alert; a missed one reposts the
    feed's whole backlog to every account, in public, where it cannot be taken back. We also
    considered exempting unseen entries dated after the newest known entry still in the feed;
    we rejected it because a scheme change that spares a few ids (entries that already had a
    guid, an old pinned post) would then let every re-identified post newer than the survivor
    through. A held burst is visible in `held`; accepting it baselines those posts (they are
    not posted), so the operator decides.
    """
    if known < QUARANTINE_MIN_KNOWN or 2 * unseen <= total:
        return ""
    return f"{unseen} of {total} entries look new: the feed probably changed its id scheme"


def split_due(
    unseen: Sequence[FeedEntry], now: datetime | None
) -> tuple[tuple[FeedEntry, ...], tuple[FeedEntry, ...]]:
    """(due, deferred): an entry dated after `now` waits for its date.

    A deferred entry is not stored, so it is still unseen on the poll after its date and
    becomes new then. Dates beyond FUTURE_SKEW_LIMIT are clamped first (`clamp_future`).
    """
    if now is None:
        return tuple(unseen), ()
    due = tuple(entry for entry in unseen if _published(entry) <= now)
    return due, tuple(entry for entry in unseen if _published(entry) > now)


def clamp_future(entry: FeedEntry, now: datetime) -> FeedEntry:
    """An entry dated more than FUTURE_SKEW_LIMIT ahead comes from a bad clock, not a schedule:
    it counts as published now, and its far-future dates are replaced by `now` (as tt-rss
    does), so they never sort above real posts or show in the history."""
    limit = now + FUTURE_SKEW_LIMIT
    published = entry.published if entry.published is None or entry.published <= limit else now
    updated = entry.updated if entry.updated is None or entry.updated <= limit else now
    if (published, updated) == (entry.published, entry.updated):
        return entry
    return replace(entry, published=published, updated=updated)


def _baseline(
    unseen: Sequence[FeedEntry],
    backfill: int,
    changed: tuple[tuple[int, FeedEntry], ...],
    hashes: Mapping[str, str],
) -> PollPlan:
    """Everything the feed shows now is seen (future-dated entries too: in real feeds they are
    nearly always existing posts with a skewed clock), except the newest `backfill`."""
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
    base_link = normalise_url(known[base].link) if base in known else None
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
