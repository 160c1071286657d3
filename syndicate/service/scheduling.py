"""Find due work, expire dead claims, and read the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syndicate.model import (
    DeliveryState,
    Trigger,
)
from syndicate.service.context import FEED_LEASE, Context
from syndicate.store import catalog, ledger
from syndicate.store.rows import FeedRow, HistoryRow

# --- scheduling ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DueWork:
    feed_ids: tuple[int, ...]
    delivery_ids: tuple[int, ...]
    expired: int


def collect_due(ctx: Context, trigger: Trigger = Trigger.SWEEPER) -> DueWork:
    """Due feeds (their next poll pushed ahead so a second scheduler skips them), deliveries
    due with no recent doorbell, and `sending` claims whose lease ran out (-> unknown)."""
    now = ctx.clock()
    with ctx.store.begin() as conn:
        expired = _expire_leases(conn, now, trigger)
        feed_ids = [
            feed_id
            for feed_id in catalog.due_feeds(conn, now)
            if catalog.push_next_poll(conn, feed_id, now, now + FEED_LEASE)
        ]
        delivery_ids = ledger.due_deliveries(conn, now, rung_before=now - ctx.redispatch_after)
        ledger.mark_enqueued(conn, delivery_ids, now)
    return DueWork(tuple(feed_ids), tuple(delivery_ids), expired)


def doorbells_for(ctx: Context, delivery_ids: tuple[int, ...]) -> tuple[int, ...]:
    """Which of `delivery_ids` to ring: each account's oldest. A send takes its account's
    oldest due delivery and goes on to the next (tasks.deliver), so one doorbell per account
    does the work of all; more would only queue up behind it (the sweeper rings the same
    way). Deliveries that do not exist are left out."""
    if len(delivery_ids) < 2:
        return delivery_ids
    with ctx.store.begin() as conn:
        return tuple(ledger.oldest_per_account(conn, delivery_ids))


def mark_enqueued(ctx: Context, delivery_ids: tuple[int, ...]) -> None:
    with ctx.store.begin() as conn:
        ledger.mark_enqueued(conn, delivery_ids, ctx.clock())


def _expire_leases(conn: Any, now: datetime, trigger: Trigger) -> int:
    expired = 0
    for row in ledger.expired_sending(conn, now):
        if ledger.expire_lease(conn, row.id, row.claim_token, now):
            expired += 1
            ledger.append_event(
                conn,
                at=now,
                kind="lease_expired",
                trigger=trigger,
                actor="sweeper",
                delivery_id=row.id,
                entry_id=row.entry_id,
                account_id=row.account_id,
                message="send outcome unknown: the worker stopped mid-send",
            )
    return expired


@dataclass(frozen=True)
class RunReport:
    """What one `syndicate run` did."""

    polled: int
    drained: bool
    remaining: int
    outcomes: dict[DeliveryState, int]  # deliveries changed during the run, by state now


def work_remaining(ctx: Context, since: datetime) -> int:
    """Deliveries due now, plus those claimed since `since` and still sending: zero means
    drained. (A send claimed before `since` belongs to another run; its lease runs out.)"""
    now = ctx.clock()
    with ctx.store.begin() as conn:
        due = len(ledger.due_deliveries(conn, now))
        sending = ledger.count_sending_since(conn, since)
    return due + sending


def states_since(ctx: Context, since: datetime) -> dict[DeliveryState, int]:
    with ctx.store.begin() as conn:
        return ledger.states_since(conn, since)


def list_feeds(ctx: Context) -> list[FeedRow]:
    with ctx.store.begin() as conn:
        return catalog.list_feeds(conn)


def accept_feed(ctx: Context, name: str, actor: str = "cli") -> bool:
    """Let a quarantined feed's next poll take its entries as the new baseline."""
    target = feed_id(ctx, name)
    now = ctx.clock()
    with ctx.store.begin() as conn:
        if not catalog.request_accept(conn, target, now):
            return False
        ledger.append_event(
            conn, at=now, kind="feed_accept_requested", trigger=Trigger.CLI, actor=actor,
            feed_id=target, message=f"{name}: the next poll takes its entries as the baseline",
        )  # fmt: skip
    return True


def history(ctx: Context, limit: int = 50) -> list[HistoryRow]:
    with ctx.store.begin() as conn:
        return ledger.history(conn, limit)


def feed_id(ctx: Context, name: str) -> int:
    """The ledger id of a configured feed; a ConfigError naming the known feeds otherwise."""
    ctx.settings.feed(name)  # raises a ConfigError naming the known feeds
    return ctx.feed_ids[name]
