"""Deliveries and their audit events: the ledger proper (DESIGN.md §3-4).

Every write is conditional (claims, fenced finishes) and takes an open transaction, so the
caller (service) records each state change and its event together.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syndicate.model import CLAIMABLE_STATES, DeliveryState, Secret, Trigger
from syndicate.store.rows import (
    DeliveryRow,
    EventRow,
    HistoryRow,
    bound_values,
    from_row,
    inserted_id,
    new_params,
)
from syndicate.store.schema import accounts, deliveries, entries, events, feeds

# --- deliveries ---------------------------------------------------------------------------


def create_delivery(
    conn: sa.Connection,
    entry_id: int,
    account_id: int,
    key: str,
    now: datetime,
    *,
    settle: timedelta = timedelta(0),
) -> int:
    """A new delivery: pending, or waiting until `settle` has passed (an edit made right
    after publishing is then what gets posted: the post is composed at send time)."""
    result = conn.execute(
        deliveries.insert().values(
            entry_id=entry_id,
            account_id=account_id,
            state=DeliveryState.WAITING if settle else DeliveryState.PENDING,
            next_attempt_at=now + settle,
            idempotency_key=key,
            created_at=now,
            updated_at=now,
        )
    )
    return inserted_id(result)


# The statements every delivery runs are built once, with bind parameters: SQLAlchemy keys its
# compiled-statement cache on a key it memoises on the statement object, so a send only binds
# values. Building them per call cost more CPU than the database's own work (bench.deliver).
_GET_DELIVERY = sa.select(deliveries).where(deliveries.c.id == sa.bindparam("delivery_id"))


def get_delivery(conn: sa.Connection, delivery_id: int) -> DeliveryRow | None:
    row = conn.execute(_GET_DELIVERY, {"delivery_id": delivery_id}).one_or_none()
    if row is None:
        return None
    return from_row(DeliveryRow, row, state=DeliveryState(row.state))


def claim_delivery(
    conn: sa.Connection, delivery_id: int, token: str, now: datetime, lease: timedelta
) -> DeliveryState | None:
    """-> sending, with a lease and a claim token: pending|waiting when due, or unknown when
    its reconcile time has come. Returns the state it was claimed from; None: not ours."""
    params = {"delivery_id": delivery_id, "token": token, "now": now, "until": now + lease}
    for statement, state in _CLAIMS:
        if conn.execute(statement, params).rowcount == 1:
            return state
    return None


def _claim_from(condition: sa.ColumnElement[bool]) -> sa.Update:
    return (
        deliveries.update()
        .where(deliveries.c.id == sa.bindparam("delivery_id"), condition)
        .values(
            state=DeliveryState.SENDING,
            attempts=deliveries.c.attempts + 1,
            claim_token=sa.bindparam("token", type_=deliveries.c.claim_token.type),
            lease_until=sa.bindparam("until", type_=deliveries.c.lease_until.type),
            reconcile_at=None,
            updated_at=sa.bindparam("now", type_=deliveries.c.updated_at.type),
        )
    )


_CLAIMS = (
    (
        _claim_from(
            sa.and_(
                deliveries.c.state.in_([s.value for s in CLAIMABLE_STATES]),
                deliveries.c.next_attempt_at <= sa.bindparam("now"),
            )
        ),
        DeliveryState.PENDING,
    ),
    (
        _claim_from(
            sa.and_(
                deliveries.c.state == DeliveryState.UNKNOWN,
                deliveries.c.reconcile_at <= sa.bindparam("now"),
            )
        ),
        DeliveryState.UNKNOWN,
    ),
)


_SET_RENDERED = (
    deliveries.update()
    .where(
        deliveries.c.id == sa.bindparam("delivery_id"),
        deliveries.c.claim_token == sa.bindparam("token"),
    )
    .values(rendered_text=sa.bindparam("text", type_=deliveries.c.rendered_text.type))
)


def set_rendered(conn: sa.Connection, delivery_id: int, token: str, text: str) -> bool:
    params = {"delivery_id": delivery_id, "token": token, "text": text}
    return conn.execute(_SET_RENDERED, params).rowcount == 1


def finish_delivery(
    conn: sa.Connection,
    delivery_id: int,
    token: str,
    state: DeliveryState,
    now: datetime,
    **values: Any,
) -> bool:
    """sending -> `state`, only for the holder of the claim token (fences a stale owner)."""
    params = new_params(values)
    statement = _finish_statement(frozenset(values))
    params.update(delivery_id=delivery_id, token=token, new_state=state, now=now)
    return conn.execute(statement, params).rowcount == 1


@functools.cache
def _finish_statement(columns: frozenset[str]) -> sa.Update:
    """One statement per set of columns a finish writes (a handful), built once."""
    return (
        deliveries.update()
        .where(
            deliveries.c.id == sa.bindparam("delivery_id"),
            deliveries.c.claim_token == sa.bindparam("token"),
            deliveries.c.state == DeliveryState.SENDING,
        )
        .values(
            state=sa.bindparam("new_state", type_=deliveries.c.state.type),
            lease_until=None,
            claim_token=None,
            updated_at=sa.bindparam("now", type_=deliveries.c.updated_at.type),
            **bound_values(deliveries, columns),
        )
    )


def due_deliveries(
    conn: sa.Connection, now: datetime, *, rung_before: datetime | None = None, limit: int = 500
) -> list[int]:
    """Each account's oldest delivery whose time has come (one per account: a send takes the
    account's oldest due delivery and rings the next itself, so more doorbells would only
    queue up behind each other). With `rung_before`, only those whose last doorbell is older
    than that (or that never had one)."""
    due = sa.or_(
        sa.and_(
            deliveries.c.state.in_([s.value for s in CLAIMABLE_STATES]),
            deliveries.c.next_attempt_at <= now,
        ),
        sa.and_(deliveries.c.state == DeliveryState.UNKNOWN, deliveries.c.reconcile_at <= now),
    )
    oldest = (
        sa.select(sa.func.min(deliveries.c.id).label("id"))
        .join(accounts, accounts.c.id == deliveries.c.account_id)
        .where(
            due,
            # A paused or rate-limited account takes nothing; ringing it would be noise.
            accounts.c.health == "ok",
            sa.or_(accounts.c.next_allowed_at.is_(None), accounts.c.next_allowed_at <= now),
        )
        .group_by(deliveries.c.account_id)
        .subquery()
    )
    query = sa.select(deliveries.c.id).join(oldest, oldest.c.id == deliveries.c.id)
    if rung_before is not None:
        query = query.where(
            sa.or_(deliveries.c.enqueued_at.is_(None), deliveries.c.enqueued_at < rung_before)
        )
    return list(conn.execute(query.order_by(deliveries.c.id).limit(limit)).scalars())


def oldest_per_account(conn: sa.Connection, delivery_ids: Sequence[int]) -> list[int]:
    """Of `delivery_ids`, each account's oldest (by id), in id order."""
    if not delivery_ids:
        return []
    query = (
        sa.select(sa.func.min(deliveries.c.id))
        .where(deliveries.c.id.in_(list(delivery_ids)))
        .group_by(deliveries.c.account_id)
    )
    return sorted(int(i) for i in conn.execute(query).scalars())


def mark_enqueued(conn: sa.Connection, delivery_ids: Sequence[int], now: datetime) -> None:
    if delivery_ids:
        conn.execute(
            deliveries.update()
            .where(deliveries.c.id.in_(list(delivery_ids)))
            .values(enqueued_at=now)
        )


def expired_sending(conn: sa.Connection, now: datetime) -> list[DeliveryRow]:
    query = sa.select(deliveries.c.id).where(
        deliveries.c.state == DeliveryState.SENDING, deliveries.c.lease_until < now
    )
    rows = (get_delivery(conn, delivery_id) for delivery_id in conn.execute(query).scalars())
    return [row for row in rows if row is not None]


def expire_lease(conn: sa.Connection, delivery_id: int, token: str | None, now: datetime) -> bool:
    """sending with an expired lease -> unknown: the send may or may not have happened."""
    result = conn.execute(
        deliveries.update()
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.state == DeliveryState.SENDING,
            deliveries.c.claim_token == token,
            deliveries.c.lease_until < now,
        )
        .values(
            state=DeliveryState.UNKNOWN,
            lease_until=None,
            claim_token=None,
            reconcile_at=now,  # ask the platform before anything is sent again
            updated_at=now,
        )
    )
    return result.rowcount == 1


def states_since(conn: sa.Connection, since: datetime) -> dict[DeliveryState, int]:
    """How many deliveries changed since `since`, by the state they are in now."""
    query = (
        sa.select(deliveries.c.state, sa.func.count())
        .where(deliveries.c.updated_at >= since)
        .group_by(deliveries.c.state)
    )
    return {DeliveryState(state): int(n) for state, n in conn.execute(query)}


def count_sending_since(conn: sa.Connection, since: datetime) -> int:
    query = sa.select(sa.func.count()).where(
        deliveries.c.state == DeliveryState.SENDING, deliveries.c.updated_at >= since
    )
    return int(conn.execute(query).scalar_one())


# --- events and history -------------------------------------------------------------------


def _redact(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: "***" if isinstance(value, Secret) else value for key, value in data.items()}


def append_event(
    conn: sa.Connection,
    *,
    at: datetime,
    kind: str,
    trigger: Trigger,
    message: str,
    actor: str = "syndicate",
    feed_id: int | None = None,
    entry_id: int | None = None,
    delivery_id: int | None = None,
    account_id: int | None = None,
    attempt: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    values = {
        "at": at,
        "kind": kind,
        "trigger": trigger,
        "actor": actor,
        "feed_id": feed_id,
        "entry_id": entry_id,
        "delivery_id": delivery_id,
        "account_id": account_id,
        "attempt": attempt,
        "message": message,
        "data": _redact(data or {}),
    }
    # The columns come from the parameters' keys, so the one statement is compiled once.
    conn.execute(_INSERT_EVENT, values)


_INSERT_EVENT = events.insert()


def list_events(
    conn: sa.Connection, *, kinds: Sequence[str] = (), delivery_id: int | None = None
) -> list[EventRow]:
    query = sa.select(events).order_by(events.c.id)
    if kinds:
        query = query.where(events.c.kind.in_(kinds))
    if delivery_id is not None:
        query = query.where(events.c.delivery_id == delivery_id)
    return [from_row(EventRow, row) for row in conn.execute(query)]


def history(conn: sa.Connection, limit: int = 50) -> list[HistoryRow]:
    """Deliveries, newest change first, with their feed, entry and account."""
    query = (
        sa.select(
            deliveries.c.id,
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
        .join(entries, entries.c.id == deliveries.c.entry_id)
        .join(feeds, feeds.c.id == entries.c.feed_id)
        .join(accounts, accounts.c.id == deliveries.c.account_id)
        .order_by(deliveries.c.updated_at.desc(), deliveries.c.id.desc())
        .limit(limit)
    )
    return [
        HistoryRow(
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
        )
        for row in conn.execute(query)
    ]
