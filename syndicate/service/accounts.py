"""Account health: pause (by a person, or once on an AuthError), resume, list; alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import requests
import sqlalchemy as sa

from syndicate.errors import ConfigError
from syndicate.model import DeliveryState, Trigger
from syndicate.service.context import Context, log
from syndicate.store import accounts as account_store
from syndicate.store import ledger
from syndicate.store.schema import deliveries

ALERT_TIMEOUT = 10.0


@dataclass(frozen=True)
class AccountStatus:
    name: str
    platform: str
    health: str  # ok | paused
    paused_reason: str | None
    paused_at: datetime | None
    next_allowed_at: datetime | None  # no request before this (rate-limit reset or gap)
    last_posted_at: datetime | None
    configured: bool
    deliveries: dict[str, int] = field(default_factory=dict)  # by state


def list_accounts(ctx: Context) -> list[AccountStatus]:
    with ctx.store.begin() as conn:
        states = account_store.all_states(conn)
        counts = account_store.counts_by_state(conn)
    return [
        AccountStatus(
            name=s.name,
            platform=s.platform,
            health=s.health,
            paused_reason=s.paused_reason,
            paused_at=s.paused_at,
            next_allowed_at=s.next_allowed_at,
            last_posted_at=s.last_posted_at,
            configured=s.name in ctx.settings.accounts,
            deliveries=counts.get(s.id, {}),
        )
        for s in states
    ]


def _account_id(ctx: Context, name: str) -> int:
    account_id = ctx.account_ids.get(name)
    if account_id is None:
        known = ", ".join(sorted(ctx.account_ids)) or "none"
        raise ConfigError(f"no account named {name!r} (accounts: {known})")
    return account_id


def pause_in(
    ctx: Context, conn: sa.Connection, account_id: int, reason: str, *, actor: str, trigger: Trigger
) -> bool:
    """Pause inside the caller's transaction: hold every due delivery, write one event.
    False when the account was already paused (nothing written: one alert per pause)."""
    now = ctx.clock()
    if not account_store.pause(conn, account_id, reason, now):
        return False
    held = account_store.hold_due(conn, account_id, f"account paused: {reason}", now)
    ledger.append_event(
        conn, at=now, kind="account_paused", trigger=trigger, actor=actor,
        account_id=account_id, message=reason, data={"held": len(held)},
    )  # fmt: skip
    for delivery_id in held:
        ledger.append_event(
            conn, at=now, kind="delivery_held", trigger=trigger, actor=actor,
            account_id=account_id, delivery_id=delivery_id, message=f"account paused: {reason}",
        )  # fmt: skip
    return True


def pause_account(ctx: Context, name: str, reason: str, *, actor: str, trigger: Trigger) -> bool:
    account_id = _account_id(ctx, name)
    with ctx.store.begin() as conn:
        paused = pause_in(ctx, conn, account_id, reason, actor=actor, trigger=trigger)
    if paused:
        alert(ctx, name, reason)
    return paused


def resume_account(ctx: Context, name: str, *, actor: str, trigger: Trigger) -> int:
    """paused -> ok; held deliveries become pending and unknown ones waiting on the account
    are asked about at once. Returns how many held deliveries were released."""
    account_id = _account_id(ctx, name)
    now = ctx.clock()
    with ctx.store.begin() as conn:
        resumed = account_store.resume(conn, account_id)
        released = account_store.release_held(conn, account_id, now)
        conn.execute(
            deliveries.update()
            .where(
                deliveries.c.account_id == account_id,
                deliveries.c.state == DeliveryState.UNKNOWN,
                deliveries.c.reconcile_at.is_not(None),
            )
            .values(reconcile_at=now)
        )
        message = f"resumed; {len(released)} held deliveries released"
        if resumed or released:
            ledger.append_event(
                conn, at=now, kind="account_resumed", trigger=trigger, actor=actor,
                account_id=account_id, message=message, data={"released": len(released)},
            )  # fmt: skip
    log.info("account %s: %s", name, message)
    return len(released)


def alert(ctx: Context, account: str, reason: str) -> None:
    """One log line, and a POST to `alert_webhook` when configured. Never raises: an alert
    that cannot be sent is logged, the pause itself is already recorded."""
    log.error("account %s paused: %s (fix it, then `syndicate accounts resume %s`)",
              account, reason, account)  # fmt: skip
    url = ctx.settings.alert_webhook
    if not url:
        return
    body = {"event": "account_paused", "account": account, "reason": reason}
    try:
        response = requests.post(
            url,
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=ALERT_TIMEOUT,
        )
        if response.status_code >= 300:
            log.warning("alert webhook answered HTTP %s", response.status_code)
    except requests.RequestException as e:
        log.warning("alert webhook failed: %s", type(e).__name__)
