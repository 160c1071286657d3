"""What a person does to deliveries: re-queue, mark as posted, queue an entry by hand.

Each change is one conditional UPDATE (or INSERT) on the state the caller read, with its event
written in the same transaction and the person as the actor, exactly as the automatic path
records its own changes. A row that changed in between is left alone (the caller is told).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from syndicate.model import DeliveryState, Trigger
from syndicate.store import ledger
from syndicate.store.rows import DeliveryRow
from syndicate.store.schema import deliveries, entries, feeds

# Re-queued as they are: nothing was (or may have been) posted, the same key is safe.
REQUEUE_STATES = frozenset({DeliveryState.FAILED, DeliveryState.HELD, DeliveryState.WAITING})
# With force, a new key: the platform must not answer with the old post.
FORCE_STATES = REQUEUE_STATES | {DeliveryState.UNKNOWN, DeliveryState.POSTED}
MARK_POSTED_STATES = frozenset({DeliveryState.UNKNOWN, DeliveryState.FAILED, DeliveryState.HELD})

_FRESH: dict[str, Any] = {
    "attempts": 0,
    "lease_until": None,
    "claim_token": None,
    "enqueued_at": None,
    "last_error": None,
}


def _update(conn: sa.Connection, delivery: DeliveryRow, *where: Any, **values: Any) -> bool:
    """One conditional UPDATE: only while the row is still in the state the caller read."""
    result = conn.execute(
        deliveries.update()
        .where(deliveries.c.id == delivery.id, deliveries.c.state == delivery.state, *where)
        .values(**values)
    )
    return result.rowcount == 1


def _event(
    conn: sa.Connection,
    delivery: DeliveryRow,
    now: datetime,
    kind: str,
    message: str,
    *,
    actor: str,
    trigger: Trigger,
    data: dict[str, Any],
) -> None:
    ledger.append_event(
        conn, at=now, kind=kind, trigger=trigger, actor=actor, entry_id=delivery.entry_id,
        delivery_id=delivery.id, account_id=delivery.account_id, message=message, data=data,
    )  # fmt: skip


def _requeue_values(
    delivery: DeliveryRow, now: datetime, force_key: str | None
) -> tuple[DeliveryState, list[Any], dict[str, Any]] | None:
    """(new state, extra conditions, values) for a re-queue, or None if not allowed."""
    previous = delivery.state
    if force_key is not None and previous in FORCE_STATES:
        new_key = {"idempotency_key": force_key, "remote_id": None, "remote_url": None}
        values = {"next_attempt_at": now, "reconcile_at": None, **new_key}
        return DeliveryState.PENDING, [], values
    if previous in REQUEUE_STATES:
        return DeliveryState.PENDING, [], {"next_attempt_at": now}
    if previous == DeliveryState.UNKNOWN:
        # Not yet due for its reconcile (or waiting for a person): make it due now.
        not_due = sa.or_(deliveries.c.reconcile_at.is_(None), deliveries.c.reconcile_at > now)
        return DeliveryState.UNKNOWN, [not_due], {"reconcile_at": now}
    return None


def requeue(
    conn: sa.Connection,
    delivery: DeliveryRow,
    now: datetime,
    *,
    actor: str,
    trigger: Trigger,
    force_key: str | None = None,
) -> DeliveryState | None:
    """failed|held|waiting -> pending, due now, attempts reset. An `unknown` one stays unknown
    with its reconcile due now: the platform is asked first, and only a definite "not there"
    sends it again (DESIGN.md §4). With `force_key` (a new idempotency key), posted and
    unknown ones too go straight to pending. Returns the new state; None if not allowed or
    the row changed since it was read."""
    planned = _requeue_values(delivery, now, force_key)
    if planned is None:
        return None
    state, where, values = planned
    if not _update(conn, delivery, *where, state=state, updated_at=now, **_FRESH, **values):
        return None
    forced = force_key is not None
    data: dict[str, Any] = {"previous": delivery.state.value, "force": forced}
    if forced:
        data["previous_remote_url"] = delivery.remote_url
    how = "re-queued with a new key" if forced else "re-queued"
    message = f"{how} by {actor} (was {delivery.state.value})"
    _event(conn, delivery, now, "delivery_requeued", message, actor=actor, trigger=trigger,
           data=data)  # fmt: skip
    return state


def mark_posted(
    conn: sa.Connection,
    delivery: DeliveryRow,
    remote_url: str,
    now: datetime,
    *,
    actor: str,
    trigger: Trigger,
) -> bool:
    """unknown|failed|held -> posted: a person saw the post at `remote_url`."""
    if delivery.state not in MARK_POSTED_STATES:
        return False
    done = _update(
        conn, delivery, state=DeliveryState.POSTED, remote_url=remote_url, reconcile_at=None,
        lease_until=None, claim_token=None, last_error=None, updated_at=now,
    )  # fmt: skip
    if done:
        data = {"previous": delivery.state.value, "remote_url": remote_url, "manual": True}
        _event(conn, delivery, now, "delivery_posted", remote_url, actor=actor,
               trigger=trigger, data=data)  # fmt: skip
    return done


def create(
    conn: sa.Connection,
    entry_id: int,
    account_id: int,
    key: str,
    now: datetime,
    *,
    account: str,
    actor: str,
    trigger: Trigger,
) -> int | None:
    """A delivery a person asked for (an entry that had none for the account: a baseline
    entry, or an account added later). None when one exists already (someone was quicker)."""
    exists = sa.select(deliveries.c.id).where(
        deliveries.c.entry_id == entry_id, deliveries.c.account_id == account_id
    )
    if conn.execute(exists).first() is not None:
        return None
    delivery_id = ledger.create_delivery(conn, entry_id, account_id, key, now)
    ledger.append_event(
        conn, at=now, kind="delivery_created", trigger=trigger, actor=actor, entry_id=entry_id,
        delivery_id=delivery_id, account_id=account_id, message=f"queued for {account} by {actor}",
    )  # fmt: skip
    return delivery_id


def delete_feed(
    conn: sa.Connection, feed_id: int, name: str, now: datetime, *, actor: str, trigger: Trigger
) -> dict[str, int] | None:
    """Remove a feed with its entries and deliveries (the events stay: the audit log is
    append-only). Returns what went, by table; None when the feed was already gone."""
    counts = {
        "entries": _count(conn, entries, entries.c.feed_id == feed_id),
        "deliveries": _count(conn, deliveries, deliveries.c.entry_id.in_(_entry_ids(feed_id))),
    }
    # Children first: no reliance on ON DELETE CASCADE being enforced by the connection.
    conn.execute(deliveries.delete().where(deliveries.c.entry_id.in_(_entry_ids(feed_id))))
    conn.execute(entries.delete().where(entries.c.feed_id == feed_id))
    if conn.execute(feeds.delete().where(feeds.c.id == feed_id)).rowcount != 1:
        return None
    message = (
        f"{name}: removed by {actor} with {counts['entries']} entries and "
        f"{counts['deliveries']} deliveries"
    )
    ledger.append_event(
        conn, at=now, kind="feed_removed", trigger=trigger, actor=actor, feed_id=feed_id,
        message=message, data=counts,
    )  # fmt: skip
    return counts


def _entry_ids(feed_id: int) -> sa.Select[tuple[int]]:
    return sa.select(entries.c.id).where(entries.c.feed_id == feed_id)


def _count(conn: sa.Connection, table: sa.Table, condition: Any) -> int:
    query = sa.select(sa.func.count()).select_from(table).where(condition)
    return int(conn.execute(query).scalar_one())
