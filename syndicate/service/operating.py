"""What a person does on the command line: re-sync, mark a post as made, remove a feed.

Every change goes through the same ledger as the automatic path (store.manual: conditional
UPDATEs with their events), with the person as the actor. Ringing the doorbells for what was
queued is the caller's job (the CLI, through tasks.dispatch).
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from syndicate.errors import ConfigError, SyndicateError
from syndicate.model import DeliveryState, Post, Trigger
from syndicate.service import timeline, websub
from syndicate.service.context import Context
from syndicate.service.polling import delivery_key
from syndicate.service.summarising import build_summary, entry_from_row, summary_from_json
from syndicate.store import manual, queries
from syndicate.store.queries import DeliveryFilter
from syndicate.store.rows import DeliveryRow, EntryRow, HistoryRow

# `--state all`: every state a person may re-queue (posted only with force).
RESYNC_STATES = frozenset(
    {DeliveryState.FAILED, DeliveryState.UNKNOWN, DeliveryState.HELD, DeliveryState.WAITING}
)
PAGE = 500  # rows per read and per write transaction

_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """`30m`, `12h`, `2d`, `1w` before `now`, or an ISO date or time (UTC unless it says)."""
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: give an age like 30m, 12h, 2d, 1w or a date like 2026-11-20"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# --- selection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What `syndicate resync` was asked to look at; None matches everything."""

    feed: str | None = None
    entry: str | None = None  # ledger id, identity or link
    account: str | None = None
    since: datetime | None = None
    states: frozenset[DeliveryState] = RESYNC_STATES


@dataclass(frozen=True)
class Missing:
    """An explicitly selected entry that has no delivery yet for a configured account."""

    entry: EntryRow
    feed: str
    account: str


@dataclass(frozen=True)
class ResyncPlan:
    requeue: tuple[HistoryRow, ...]  # re-queued (or, for unknown, asked about first)
    create: tuple[Missing, ...]
    posted: tuple[HistoryRow, ...]  # skipped: posted already (re-posted with force)
    queued: tuple[HistoryRow, ...]  # skipped: pending or sending already
    paused: tuple[HistoryRow, ...]  # skipped: held for a paused account (resume releases it)
    force: bool

    @property
    def size(self) -> int:
        return len(self.requeue) + len(self.create)


def classify(
    rows: Iterable[HistoryRow],
    states: frozenset[DeliveryState],
    *,
    force: bool,
    paused: frozenset[str] = frozenset(),
) -> dict[str, list[HistoryRow]]:
    """Sort selected deliveries into what a re-sync does with them (pure)."""
    buckets: dict[str, list[HistoryRow]] = {
        k: [] for k in ("requeue", "posted", "queued", "paused")
    }
    for row in rows:
        if row.state == DeliveryState.POSTED:
            buckets["requeue" if force else "posted"].append(row)
        elif row.state in (DeliveryState.PENDING, DeliveryState.SENDING):
            buckets["queued"].append(row)
        elif row.state not in states:
            continue
        elif row.state == DeliveryState.HELD and row.account in paused:
            buckets["paused"].append(row)
        else:
            buckets["requeue"].append(row)
    return buckets


def plan_resync(ctx: Context, selection: Selection, *, force: bool) -> ResyncPlan:
    """Read what the selection matches and decide, row by row, what a re-sync would do."""
    _known(ctx, selection.feed, selection.account)
    with ctx.store.begin() as conn:
        entry = timeline.find_entry_in(conn, selection.entry) if selection.entry else None
        rows = list(_matching(conn, _filter(selection, entry)))
        paused = frozenset(
            n for n, health in queries.account_health(conn).items() if health != "ok"
        )
    buckets = classify(rows, selection.states, force=force, paused=paused)
    create = _missing(ctx, entry, selection.account, rows) if entry else ()
    return ResyncPlan(
        requeue=tuple(buckets["requeue"]),
        create=tuple(create),
        posted=tuple(buckets["posted"]),
        queued=tuple(buckets["queued"]),
        paused=tuple(buckets["paused"]),
        force=force,
    )


def _known(ctx: Context, feed: str | None, account: str | None) -> None:
    if feed is not None and feed not in ctx.feed_ids:
        known = ", ".join(sorted(ctx.feed_ids)) or "none"
        raise ConfigError(f"no feed named {feed!r} in the ledger (feeds: {known})")
    if account is not None and account not in ctx.account_ids:
        known = ", ".join(sorted(ctx.account_ids)) or "none"
        raise ConfigError(f"no account named {account!r} (accounts: {known})")


def _filter(selection: Selection, entry: EntryRow | None) -> DeliveryFilter:
    return DeliveryFilter(
        feed=selection.feed,
        account=selection.account,
        since=selection.since,
        entry_id=entry.id if entry else None,
    )


def _matching(conn: sa.Connection, f: DeliveryFilter) -> Iterator[HistoryRow]:
    """Every matching delivery, a page at a time (keyset), newest first."""
    before: int | None = None
    while True:
        page = queries.list_deliveries(conn, f, limit=PAGE, before_id=before)
        yield from page
        if len(page) < PAGE:
            return
        before = page[-1].delivery_id


def _missing(
    ctx: Context, entry: EntryRow, account: str | None, rows: Sequence[HistoryRow]
) -> list[Missing]:
    """Configured accounts of the entry's feed (or the one asked for) with no delivery yet."""
    feed = next((name for name, i in ctx.feed_ids.items() if i == entry.feed_id), None)
    if feed is None:
        return []
    have = {row.account for row in rows}
    if account is not None:
        wanted: tuple[str, ...] = (account,)
    elif feed in ctx.settings.feeds_by_name:
        wanted = ctx.settings.feeds_by_name[feed].accounts
    else:
        wanted = ()
    return [
        Missing(entry, feed, name)
        for name in wanted
        if name not in have and name in ctx.settings.accounts and name in ctx.account_ids
    ]


# --- applying a plan ----------------------------------------------------------------------


@dataclass(frozen=True)
class ResyncResult:
    ring: tuple[int, ...]  # deliveries whose doorbell should ring now
    queued: int  # re-queued or created: will be sent
    reconciling: int  # unknown: the platform is asked first
    changed: int  # changed by someone else between the plan and the write
    errors: tuple[str, ...] = ()


def apply_resync(
    ctx: Context,
    plan: ResyncPlan,
    *,
    actor: str,
    trigger: Trigger = Trigger.CLI,
    progress: Callable[[int], None] = lambda _n: None,
) -> ResyncResult:
    """Write the plan: each row re-queued by a conditional UPDATE with its event, a page per
    transaction. Running it twice queues nothing new: the second plan finds them pending."""
    ring: list[int] = []
    counts: Counter[str] = Counter()
    rows = plan.requeue
    for start in range(0, len(rows), PAGE):
        chunk = rows[start : start + PAGE]
        with ctx.store.begin() as conn:
            current = queries.deliveries_by_id(conn, [r.delivery_id for r in chunk])
            for delivery in current:
                state = _requeue_one(
                    ctx, conn, delivery, actor=actor, trigger=trigger, force=plan.force
                )
                counts[state.value if state else "changed"] += 1
                if state is not None:
                    ring.append(delivery.id)
            counts["changed"] += len(chunk) - len(current)  # deleted meanwhile
        progress(len(chunk))
    errors = []
    for missing in plan.create:
        created = _create_one(ctx, missing, actor=actor, trigger=trigger)
        if isinstance(created, int):
            ring.append(created)
            counts["pending"] += 1
        else:
            errors.append(created)
        progress(1)
    return ResyncResult(
        ring=tuple(ring),
        queued=counts["pending"],
        reconciling=counts["unknown"],
        changed=counts["changed"],
        errors=tuple(errors),
    )


def _requeue_one(
    ctx: Context,
    conn: sa.Connection,
    delivery: DeliveryRow,
    *,
    actor: str,
    trigger: Trigger,
    force: bool,
) -> DeliveryState | None:
    key = f"syndicate-{uuid.uuid4()}" if force else None
    return manual.requeue(conn, delivery, ctx.clock(), actor=actor, trigger=trigger, force_key=key)


def _create_one(ctx: Context, missing: Missing, *, actor: str, trigger: Trigger) -> int | str:
    """The new delivery's id, or why there is none."""
    key = delivery_key(missing.feed, missing.entry.identity, missing.account)
    with ctx.store.begin() as conn:
        created = manual.create(
            conn, missing.entry.id, ctx.account_ids[missing.account], key, ctx.clock(),
            account=missing.account, actor=actor, trigger=trigger,
        )  # fmt: skip
    if created is None:
        return f"entry {missing.entry.id} for {missing.account}: a delivery exists already"
    return created


# --- dry run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunItem:
    account: str
    entry_id: int
    title: str
    action: str  # re-queue | re-post | ask the platform first | new delivery
    post: Post | None
    error: str = ""


def render_plan(ctx: Context, plan: ResyncPlan) -> list[DryRunItem]:
    """What each re-queued delivery would post, through the account's own render (as
    `syndicate preview`). Writes nothing: a missing summary is made here and not stored."""
    with ctx.store.begin() as conn:
        entries = {
            e.id: e
            for e in queries.entries_by_id(
                conn, {r.entry_id for r in plan.requeue if r.entry_id is not None}
            )
        }
    items = [
        _dry_item(ctx, row.account, entries.get(row.entry_id or 0), _action(row, plan.force))
        for row in plan.requeue
    ]
    items += [_dry_item(ctx, m.account, m.entry, "new delivery") for m in plan.create]
    return items


def _action(row: HistoryRow, force: bool) -> str:
    if force:
        return "re-post (new key)" if row.state == DeliveryState.POSTED else "send (new key)"
    if row.state == DeliveryState.UNKNOWN:
        return "ask the platform, send only if not there"
    return "re-queue"


def _dry_item(ctx: Context, account: str, entry: EntryRow | None, action: str) -> DryRunItem:
    if entry is None:
        return DryRunItem(account, 0, "", action, None, error="entry deleted")
    configured = ctx.settings.accounts.get(account)
    if configured is None:
        return DryRunItem(account, entry.id, entry.title, action, None, "account not configured")
    try:
        summary = (
            summary_from_json(entry.summary)
            if entry.summary is not None
            else build_summary(ctx.settings, ctx.get_fetcher(), entry_from_row(entry), [])
        )
        post = ctx.publisher(configured).render(summary)
    except SyndicateError as e:
        return DryRunItem(account, entry.id, entry.title, action, None, error=str(e))
    return DryRunItem(account, entry.id, entry.title, action, post)


# --- mark-posted, feeds remove ------------------------------------------------------------


def mark_posted(ctx: Context, delivery_id: int, remote_url: str, *, actor: str) -> DeliveryState:
    """A person says the post exists at `remote_url`. Returns the state it was in."""
    if not re.match(r"^https?://[^\s/]+", remote_url):
        raise ConfigError(f"{remote_url!r} is not an http(s) URL of the post")
    with ctx.store.begin() as conn:
        found = queries.deliveries_by_id(conn, [delivery_id])
        if not found:
            raise ConfigError(f"no delivery {delivery_id} (see `syndicate history`)")
        delivery = found[0]
        if delivery.state not in manual.MARK_POSTED_STATES:
            allowed = ", ".join(sorted(s.value for s in manual.MARK_POSTED_STATES))
            raise ConfigError(
                f"delivery {delivery_id} is {delivery.state.value}; only {allowed} ones "
                "can be marked posted"
            )
        now = ctx.clock()
        if not manual.mark_posted(
            conn, delivery, remote_url, now, actor=actor, trigger=Trigger.CLI
        ):
            raise ConfigError(f"delivery {delivery_id} changed meanwhile; look again")
    return delivery.state


@dataclass(frozen=True)
class Removal:
    feed: str
    entries: int
    deliveries: int
    websub: str  # what happened to its WebSub subscription
    still_configured: bool  # removed with force: the next start adds it back, fresh baseline


def remove_feed(ctx: Context, name: str, *, force: bool, actor: str) -> Removal:
    """Forget a feed: its entries and deliveries go, its events stay. Only a feed that is no
    longer in the config, unless `force`. A WebSub subscription is cancelled first."""
    feed_id = ctx.feed_ids.get(name)
    if feed_id is None:
        known = ", ".join(sorted(ctx.feed_ids)) or "none"
        raise ConfigError(f"no feed named {name!r} in the ledger (feeds: {known})")
    configured = name in ctx.settings.feeds_by_name
    if configured and not force:
        raise ConfigError(
            f"feed {name!r} is still in the config: remove it there first (or use --force; "
            "the next start would add it back with a fresh baseline)"
        )
    outcome = websub.unsubscribe(ctx, feed_id)
    said = "unsubscribe requested" if outcome.requested else outcome.error or outcome.skipped
    with ctx.store.begin() as conn:
        counts = manual.delete_feed(conn, feed_id, name, ctx.clock(), actor=actor,
                                    trigger=Trigger.CLI)  # fmt: skip
    if counts is None:
        raise ConfigError(f"feed {name!r} was removed meanwhile")
    ctx.feed_ids.pop(name, None)
    return Removal(name, counts["entries"], counts["deliveries"], said or "", configured)
