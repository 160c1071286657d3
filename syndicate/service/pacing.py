"""Per-account pacing: one post in flight, a minimum gap, a quota per window, no request
before a known reset, oldest first. Shared by every worker through the ledger's rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from syndicate.model import Account
from syndicate.service.context import Context
from syndicate.store import accounts as account_store


@dataclass(frozen=True)
class Gate:
    """Why the account cannot take a send now, if it cannot."""

    token: str = ""  # set when we hold the account
    paused: str | None = None  # the pause reason
    held_elsewhere: bool = False  # another worker is sending to it
    not_before: datetime | None = None  # a reset, a gap or a full quota
    oldest: int | None = None  # with the token: the account's oldest due delivery, read then


def take(ctx: Context, account_id: int, account: Account) -> Gate:
    """Hold the account for one send, or say why not."""
    now = ctx.clock()
    token = uuid.uuid4().hex
    with ctx.store.begin() as conn:
        if account_store.take(conn, account_id, token, now, ctx.send_lease):
            full_until = _quota_full_until(conn, account_id, account, now)
            if full_until is None:
                return Gate(token=token, oldest=account_store.oldest_due(conn, account_id, now))
            account_store.release(conn, account_id, token, not_before=full_until)
            return Gate(not_before=full_until)
        state = account_store.get_state(conn, account_id)
    if state is None:
        return Gate(held_elsewhere=True)
    if state.health != account_store.HEALTH_OK:
        return Gate(paused=state.paused_reason or "paused")
    if state.next_allowed_at is not None and state.next_allowed_at > now:
        return Gate(not_before=state.next_allowed_at)
    return Gate(held_elsewhere=True)


def _quota_full_until(
    conn: sa.Connection, account_id: int, account: Account, now: datetime
) -> datetime | None:
    """When the window has room again, if the account's quota is used up."""
    options = account.delivery
    if options.quota <= 0:
        return None
    window = timedelta(seconds=options.quota_window)
    if account_store.posted_since(conn, account_id, now - window) < options.quota:
        return None
    oldest = account_store.oldest_posted_since(conn, account_id, now - window)
    return (oldest or now) + window


def release(
    ctx: Context,
    account_id: int,
    account: Account,
    token: str,
    *,
    posted: bool,
    not_before: datetime | None = None,
) -> tuple[int | None, datetime | None]:
    """Give the account back; after a post, keep the minimum gap. Then, in the same
    transaction, what `next_due` answers."""
    now = ctx.clock()
    gap = timedelta(seconds=account.delivery.min_gap)
    if posted and gap:
        not_before = max(filter(None, (not_before, now + gap)))
    with ctx.store.begin() as conn:
        account_store.release(
            conn, account_id, token, posted_at=now if posted else None, not_before=not_before
        )
        return next_due(conn, account_id, now)


def next_due(
    conn: sa.Connection, account_id: int, now: datetime
) -> tuple[int | None, datetime | None]:
    """The account's next delivery to ring and when (None: at once), in the caller's
    transaction: the oldest one due when the account can next send, else the one whose backoff
    or reconcile time ends first."""
    state = account_store.get_state(conn, account_id)
    if state is None or state.health != account_store.HEALTH_OK:
        return None, None
    allowed = state.next_allowed_at
    at = allowed if allowed is not None and allowed > now else now
    oldest = account_store.oldest_due(conn, account_id, at)
    if oldest is not None:
        return oldest, (at if at > now else None)
    wake = account_store.next_wake(conn, account_id)
    if wake is None:
        return None, None
    return wake[0], max(wake[1], at)
