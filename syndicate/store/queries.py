"""Read queries with filters and keyset pagination, shared by the CLI and the web app.

Nothing here writes. Pages are keyed on `deliveries.id` (newest first), so page N costs the
same as page 1 at any table size; the indexes that make each filter cheap are in schema.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from syndicate.model import DeliveryState
from syndicate.store.rows import DeliveryRow, EntryRow, EventRow, HistoryRow, from_row
from syndicate.store.schema import accounts, deliveries, entries, events, feeds


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries to read; every field left None matches everything.

    `since` matches deliveries whose last change (`updated_at`) is at or after it.
    """

    feed: str | None = None  # feed name
    account: str | None = None  # account name
    state: DeliveryState | None = None
    since: datetime | None = None
    entry_id: int | None = None
    platform: str | None = None


_HISTORY_COLUMNS = (
    deliveries.c.id,
    deliveries.c.entry_id,
    deliveries.c.updated_at,
    feeds.c.name.label("feed"),
    entries.c.title,
    entries.c.link,
    accounts.c.name.label("account"),
    accounts.c.platform,
    deliveries.c.state,
    deliveries.c.attempts,
    deliveries.c.remote_url,
    deliveries.c.last_error,
)


def _joined(*columns: Any) -> sa.Select[Any]:
    return (
        sa.select(*columns)
        .join(entries, entries.c.id == deliveries.c.entry_id)
        .join(feeds, feeds.c.id == entries.c.feed_id)
        .join(accounts, accounts.c.id == deliveries.c.account_id)
    )


def _where(query: sa.Select[Any], f: DeliveryFilter) -> sa.Select[Any]:
    if f.feed is not None:
        query = query.where(feeds.c.name == f.feed)
    if f.account is not None:
        query = query.where(accounts.c.name == f.account)
    if f.platform is not None:
        query = query.where(accounts.c.platform == f.platform)
    if f.state is not None:
        query = query.where(deliveries.c.state == f.state.value)
    if f.since is not None:
        query = query.where(deliveries.c.updated_at >= f.since)
    if f.entry_id is not None:
        query = query.where(deliveries.c.entry_id == f.entry_id)
    return query


def _history_row(row: sa.Row[Any]) -> HistoryRow:
    return HistoryRow(
        delivery_id=row.id,
        at=row.updated_at,
        feed=row.feed,
        entry_title=row.title,
        entry_link=row.link,
        account=row.account,
        platform=row.platform,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        remote_url=row.remote_url,
        last_error=row.last_error,
        entry_id=row.entry_id,
    )


def list_deliveries(
    conn: sa.Connection, f: DeliveryFilter, *, limit: int, before_id: int | None
) -> list[HistoryRow]:
    """Matching deliveries, newest (highest id) first; pass the last row's `delivery_id` as
    `before_id` for the next page."""
    query = _where(_joined(*_HISTORY_COLUMNS), f)
    if before_id is not None:
        query = query.where(deliveries.c.id < before_id)
    query = query.order_by(deliveries.c.id.desc()).limit(limit)
    return [_history_row(row) for row in conn.execute(query)]


def count_deliveries(conn: sa.Connection, f: DeliveryFilter) -> dict[DeliveryState, int]:
    """How many deliveries match, by state."""
    query = _where(_joined(deliveries.c.state, sa.func.count()), f).group_by(deliveries.c.state)
    return {DeliveryState(state): int(n) for state, n in conn.execute(query)}


def deliveries_by_id(conn: sa.Connection, ids: Sequence[int]) -> list[DeliveryRow]:
    query = sa.select(deliveries).where(deliveries.c.id.in_(list(ids))).order_by(deliveries.c.id)
    return [
        from_row(DeliveryRow, row, state=DeliveryState(row.state)) for row in conn.execute(query)
    ]


def find_entry(conn: sa.Connection, id_or_url: str) -> EntryRow | None:
    """An entry by ledger id, feed identity or link; the newest when several feeds share it."""
    text = id_or_url.strip()
    by_id = entries.c.id == int(text) if text.isdigit() else sa.false()
    query = (
        sa.select(entries)
        .where(sa.or_(by_id, entries.c.identity == text, entries.c.link == text))
        # an id match beats a link that happens to be all digits
        .order_by(sa.case((by_id, 0), else_=1), entries.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).one_or_none()
    return None if row is None else from_row(EntryRow, row, categories=tuple(row.categories))


def entry_timeline(conn: sa.Connection, entry_id: int) -> list[EventRow]:
    """Every event about the entry or one of its deliveries, oldest first."""
    of_entry = sa.select(deliveries.c.id).where(deliveries.c.entry_id == entry_id)
    query = (
        sa.select(events)
        .where(sa.or_(events.c.entry_id == entry_id, events.c.delivery_id.in_(of_entry)))
        .order_by(events.c.id)
    )
    return [from_row(EventRow, row) for row in conn.execute(query)]


EVENTS_PAGE = 500


def events_after(
    conn: sa.Connection, after_id: int, f: DeliveryFilter | None = None
) -> list[EventRow]:
    """Events newer than `after_id`, oldest first, at most EVENTS_PAGE: what `history
    --follow` prints next. `f` narrows them to a feed, account, entry or delivery state."""
    query = sa.select(events).where(events.c.id > after_id)
    if f is not None:
        query = _events_where(query, f)
    query = query.order_by(events.c.id).limit(EVENTS_PAGE)
    return [from_row(EventRow, row) for row in conn.execute(query)]


def _events_where(query: sa.Select[Any], f: DeliveryFilter) -> sa.Select[Any]:
    if f.feed is not None:
        feed_id = sa.select(feeds.c.id).where(feeds.c.name == f.feed).scalar_subquery()
        of_feed = sa.select(entries.c.id).where(entries.c.feed_id == feed_id)
        query = query.where(sa.or_(events.c.feed_id == feed_id, events.c.entry_id.in_(of_feed)))
    if f.account is not None or f.platform is not None:
        chosen = sa.select(accounts.c.id)
        if f.account is not None:
            chosen = chosen.where(accounts.c.name == f.account)
        if f.platform is not None:
            chosen = chosen.where(accounts.c.platform == f.platform)
        query = query.where(events.c.account_id.in_(chosen))
    if f.entry_id is not None:
        query = query.where(events.c.entry_id == f.entry_id)
    if f.state is not None:
        query = query.where(events.c.kind == f"delivery_{f.state.value}")
    if f.since is not None:
        query = query.where(events.c.at >= f.since)
    return query


def last_event_id(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0))).scalar_one())


def accounts_without_delivery(
    conn: sa.Connection, entry_id: int, account_ids: Sequence[int]
) -> list[int]:
    """Which of `account_ids` have no delivery yet for the entry."""
    query = sa.select(deliveries.c.account_id).where(
        deliveries.c.entry_id == entry_id, deliveries.c.account_id.in_(list(account_ids))
    )
    have = set(conn.execute(query).scalars())
    return [account_id for account_id in account_ids if account_id not in have]


def entries_by_id(conn: sa.Connection, ids: Iterable[int]) -> list[EntryRow]:
    query = sa.select(entries).where(entries.c.id.in_(sorted(ids)))
    return [
        from_row(EntryRow, row, categories=tuple(row.categories)) for row in conn.execute(query)
    ]


def account_health(conn: sa.Connection) -> dict[str, str]:
    """account name -> health (ok | paused)."""
    query = sa.select(accounts.c.name, accounts.c.health)
    return {row.name: row.health for row in conn.execute(query)}


def feed_name(conn: sa.Connection, feed_id: int) -> str | None:
    query = sa.select(feeds.c.name).where(feeds.c.id == feed_id)
    name: str | None = conn.execute(query).scalar_one_or_none()
    return name


def names_by_id(conn: sa.Connection) -> tuple[dict[int, str], dict[int, str]]:
    """(feed id -> name, account id -> name): to print events, which carry ids only."""
    feed_names = {row.id: row.name for row in conn.execute(sa.select(feeds.c.id, feeds.c.name))}
    account_names = {
        row.id: row.name for row in conn.execute(sa.select(accounts.c.id, accounts.c.name))
    }
    return feed_names, account_names
