"""Account health, pacing and the one-post-in-flight lease; per-account token storage.

Every worker on every machine shares these rows, so the limits hold across all of them. Each
write is a conditional UPDATE inside the caller's transaction (the caller writes the event).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syndicate.model import CLAIMABLE_STATES, DeliveryState
from syndicate.store.rows import from_row
from syndicate.store.schema import (
    OPEN_DELIVERY_STATES,
    UTCDateTime,
    account_tokens,
    accounts,
    deliveries,
)

HEALTH_OK = "ok"
HEALTH_PAUSED = "paused"


@dataclass(frozen=True)
class AccountState:
    id: int
    name: str
    platform: str
    health: str
    paused_reason: str | None
    paused_at: datetime | None
    next_allowed_at: datetime | None
    last_posted_at: datetime | None
    lease_token: str | None
    lease_until: datetime | None


# The statements every delivery runs (take, release, oldest_due, next_wake) are built once,
# with bind parameters, so a send only binds values (see store/ledger.py).
_GET_STATE = sa.select(accounts).where(accounts.c.id == sa.bindparam("account_id"))


def get_state(conn: sa.Connection, account_id: int) -> AccountState | None:
    row = conn.execute(_GET_STATE, {"account_id": account_id}).one_or_none()
    return None if row is None else from_row(AccountState, row)


def all_states(conn: sa.Connection) -> list[AccountState]:
    rows = conn.execute(sa.select(accounts).order_by(accounts.c.name))
    return [from_row(AccountState, row) for row in rows]


def take(conn: sa.Connection, account_id: int, token: str, now: datetime, lease: timedelta) -> bool:
    """Hold the account for one send: healthy, no live lease, and past any known reset."""
    params = {"account_id": account_id, "now": now, "token": token, "until": now + lease}
    return conn.execute(_TAKE, params).rowcount == 1


_TAKE = (
    accounts.update()
    .where(
        accounts.c.id == sa.bindparam("account_id"),
        accounts.c.health == HEALTH_OK,
        sa.or_(accounts.c.lease_token.is_(None), accounts.c.lease_until < sa.bindparam("now")),
        sa.or_(
            accounts.c.next_allowed_at.is_(None),
            accounts.c.next_allowed_at <= sa.bindparam("now"),
        ),
    )
    .values(
        lease_token=sa.bindparam("token", type_=accounts.c.lease_token.type),
        lease_until=sa.bindparam("until", type_=accounts.c.lease_until.type),
    )
)


def release(
    conn: sa.Connection,
    account_id: int,
    token: str,
    *,
    posted_at: datetime | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Give the account back; record a post and push the next allowed time (never earlier)."""
    params = {"account_id": account_id, "token": token}
    params.update(posted_at=posted_at, not_before=not_before)
    statement = _release_statement(posted_at is not None, not_before is not None)
    return conn.execute(statement, params).rowcount == 1


@functools.cache
def _release_statement(posted: bool, not_before: bool) -> sa.Update:
    values: dict[str, Any] = {"lease_token": None, "lease_until": None}
    if posted:
        values["last_posted_at"] = sa.bindparam("posted_at", type_=accounts.c.last_posted_at.type)
    if not_before:
        at = sa.bindparam("not_before", type_=accounts.c.next_allowed_at.type)
        values["next_allowed_at"] = sa.case(
            (accounts.c.next_allowed_at > at, accounts.c.next_allowed_at), else_=at
        )
    return (
        accounts.update()
        .where(
            accounts.c.id == sa.bindparam("account_id"),
            accounts.c.lease_token == sa.bindparam("token"),
        )
        .values(**values)
    )


def defer(conn: sa.Connection, account_id: int, until: datetime) -> None:
    """No request to this account before `until` (a rate-limit reset), whoever holds it."""
    conn.execute(
        accounts.update()
        .where(
            accounts.c.id == account_id,
            sa.or_(accounts.c.next_allowed_at.is_(None), accounts.c.next_allowed_at < until),
        )
        .values(next_allowed_at=until)
    )


def posted_since(conn: sa.Connection, account_id: int, since: datetime) -> int:
    query = sa.select(sa.func.count()).where(
        deliveries.c.account_id == account_id,
        deliveries.c.state == DeliveryState.POSTED,
        deliveries.c.updated_at >= since,
    )
    return int(conn.execute(query).scalar_one())


def oldest_posted_since(conn: sa.Connection, account_id: int, since: datetime) -> datetime | None:
    query = sa.select(sa.func.min(deliveries.c.updated_at)).where(
        deliveries.c.account_id == account_id,
        deliveries.c.state == DeliveryState.POSTED,
        deliveries.c.updated_at >= since,
    )
    value: datetime | None = conn.execute(query).scalar_one()
    return value


def oldest_due(conn: sa.Connection, account_id: int, now: datetime) -> int | None:
    """The account's next delivery to send: the oldest due one (ids grow with age)."""
    value: int | None = conn.execute(_OLDEST_DUE, {"account_id": account_id, "now": now}).scalar()
    return value


# Every state a due delivery can be in, tested first on its own and spelled exactly as the
# partial index `ix_deliveries_open_by_account` (schema.py) is: SQLite then reads the account's
# open deliveries oldest first from that index and stops at the first due one. Bound values in
# place of the literals would hide the match and sort the account's whole backlog per send.
_OPEN_STATES = sa.text(OPEN_DELIVERY_STATES)

_OLDEST_DUE = (
    sa.select(deliveries.c.id)
    .where(
        deliveries.c.account_id == sa.bindparam("account_id"),
        _OPEN_STATES,
        sa.or_(
            sa.and_(
                deliveries.c.state.in_([s.value for s in CLAIMABLE_STATES]),
                deliveries.c.next_attempt_at <= sa.bindparam("now"),
            ),
            sa.and_(
                deliveries.c.state == DeliveryState.UNKNOWN,
                deliveries.c.reconcile_at <= sa.bindparam("now"),
            ),
        ),
    )
    .order_by(deliveries.c.created_at, deliveries.c.id)
    .limit(1)
)


def next_wake(conn: sa.Connection, account_id: int) -> tuple[int, datetime] | None:
    """The account's delivery that comes due soonest (a backoff or a reconcile time)."""
    row = conn.execute(_NEXT_WAKE, {"account_id": account_id}).one_or_none()
    if row is None:
        return None
    return int(row.id), row.wake


_WAKE = sa.type_coerce(
    sa.case(
        (deliveries.c.state == DeliveryState.UNKNOWN, deliveries.c.reconcile_at),
        else_=deliveries.c.next_attempt_at,
    ),
    UTCDateTime(),
)
_NEXT_WAKE = (
    sa.select(deliveries.c.id, _WAKE.label("wake"))
    .where(
        deliveries.c.account_id == sa.bindparam("account_id"),
        _OPEN_STATES,
        sa.or_(
            deliveries.c.state.in_([s.value for s in CLAIMABLE_STATES]),
            sa.and_(
                deliveries.c.state == DeliveryState.UNKNOWN,
                deliveries.c.reconcile_at.is_not(None),
            ),
        ),
    )
    .order_by(_WAKE, deliveries.c.id)
    .limit(1)
)


def pause(conn: sa.Connection, account_id: int, reason: str, now: datetime) -> bool:
    """ok -> paused; False when it already was (so the alert is written once)."""
    result = conn.execute(
        accounts.update()
        .where(accounts.c.id == account_id, accounts.c.health == HEALTH_OK)
        .values(health=HEALTH_PAUSED, paused_reason=reason, paused_at=now)
    )
    return result.rowcount == 1


def resume(conn: sa.Connection, account_id: int) -> bool:
    result = conn.execute(
        accounts.update()
        .where(accounts.c.id == account_id, accounts.c.health == HEALTH_PAUSED)
        .values(health=HEALTH_OK, paused_reason=None, paused_at=None)
    )
    return result.rowcount == 1


def hold_due(conn: sa.Connection, account_id: int, reason: str, now: datetime) -> list[int]:
    """pending|waiting -> held for a paused account; the ids held."""
    ids = list(
        conn.execute(
            sa.select(deliveries.c.id).where(
                deliveries.c.account_id == account_id,
                deliveries.c.state.in_([s.value for s in CLAIMABLE_STATES]),
            )
        ).scalars()
    )
    if ids:
        conn.execute(
            deliveries.update()
            .where(
                deliveries.c.id.in_(ids),
                deliveries.c.state.in_([s.value for s in CLAIMABLE_STATES]),
            )
            .values(state=DeliveryState.HELD, last_error=reason, updated_at=now)
        )
    return ids


def release_held(conn: sa.Connection, account_id: int, now: datetime) -> list[int]:
    """held -> pending, due now; the ids released."""
    ids = list(
        conn.execute(
            sa.select(deliveries.c.id).where(
                deliveries.c.account_id == account_id,
                deliveries.c.state == DeliveryState.HELD,
            )
        ).scalars()
    )
    if ids:
        conn.execute(
            deliveries.update()
            .where(deliveries.c.id.in_(ids), deliveries.c.state == DeliveryState.HELD)
            .values(state=DeliveryState.PENDING, next_attempt_at=now, updated_at=now)
        )
    return ids


def counts_by_state(conn: sa.Connection) -> dict[int, dict[str, int]]:
    query = sa.select(deliveries.c.account_id, deliveries.c.state, sa.func.count()).group_by(
        deliveries.c.account_id, deliveries.c.state
    )
    counts: dict[int, dict[str, int]] = {}
    for account_id, state, number in conn.execute(query):
        counts.setdefault(int(account_id), {})[str(state)] = int(number)
    return counts


# --- tokens -------------------------------------------------------------------------------


def load_tokens(conn: sa.Connection, account_id: int, *, lock: bool = False) -> dict[str, str]:
    """The stored values; with `lock`, the account row is locked until the transaction ends
    (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers)."""
    if lock and conn.dialect.name == "postgresql":
        conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())
    row = conn.execute(
        sa.select(account_tokens.c.data).where(account_tokens.c.account_id == account_id)
    ).one_or_none()
    data = row.data if row is not None else {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_tokens(
    conn: sa.Connection, account_id: int, values: dict[str, str], now: datetime
) -> None:
    updated = conn.execute(
        account_tokens.update()
        .where(account_tokens.c.account_id == account_id)
        .values(data=values, updated_at=now)
    )
    if updated.rowcount == 0:
        conn.execute(
            account_tokens.insert().values(account_id=account_id, data=values, updated_at=now)
        )
