"""What happened: deliveries with filters, one entry's whole timeline, new events as they
are written (`history --follow`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from syndicate.errors import ConfigError
from syndicate.service.context import Context
from syndicate.store import queries
from syndicate.store.queries import DeliveryFilter
from syndicate.store.rows import EntryRow, EventRow, HistoryRow


def deliveries(ctx: Context, f: DeliveryFilter, *, limit: int) -> list[HistoryRow]:
    with ctx.store.begin() as conn:
        return queries.list_deliveries(conn, f, limit=limit, before_id=None)


@dataclass(frozen=True)
class Timeline:
    entry: EntryRow
    feed: str
    deliveries: tuple[HistoryRow, ...]
    events: tuple[EventRow, ...]
    accounts: dict[int, str] = field(default_factory=dict)  # account id -> name


def find_entry(ctx: Context, id_or_url: str) -> EntryRow:
    with ctx.store.begin() as conn:
        return find_entry_in(conn, id_or_url)


def find_entry_in(conn: sa.Connection, id_or_url: str) -> EntryRow:
    entry = queries.find_entry(conn, id_or_url)
    if entry is None:
        raise ConfigError(f"no entry {id_or_url!r} in the ledger (give its id, link or guid)")
    return entry


def entry_timeline(ctx: Context, id_or_url: str) -> Timeline:
    """The entry, its deliveries (oldest first) and every event about it."""
    with ctx.store.begin() as conn:
        entry = find_entry_in(conn, id_or_url)
        rows = queries.list_deliveries(
            conn, DeliveryFilter(entry_id=entry.id), limit=1000, before_id=None
        )
        events = queries.entry_timeline(conn, entry.id)
        feeds, accounts = queries.names_by_id(conn)
    feed = feeds.get(entry.feed_id, f"#{entry.feed_id}")
    return Timeline(entry, feed, tuple(reversed(rows)), tuple(events), accounts)


def follow(
    ctx: Context,
    f: DeliveryFilter,
    *,
    after_id: int | None,
    wait: Callable[[], bool],
) -> Iterator[EventRow]:
    """New events matching `f`, as they are written; `wait` pauses between reads and returns
    False to stop. `after_id` None starts from the newest event now."""
    with ctx.store.begin() as conn:
        last = queries.last_event_id(conn) if after_id is None else after_id
    while True:
        with ctx.store.begin() as conn:
            events = queries.events_after(conn, last, f)
        yield from events
        if events:
            last = events[-1].id
        if len(events) < queries.EVENTS_PAGE and not wait():
            return
