"""Deliver posts: take the account, claim its oldest due delivery, render, (reconcile,) send,
record. Safe to run twice; a duplicate or early doorbell changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from syndicate.errors import AlreadyPosted, ConfigError, PermanentError, PublishError
from syndicate.model import Account, DeliveryState, Post, PublishResult, Trigger
from syndicate.platforms.base import Publisher
from syndicate.retry import Decision, RetryPolicy, backoff, decide, decide_reconcile
from syndicate.service import pacing
from syndicate.service.accounts import alert, pause_in
from syndicate.service.context import Context, log
from syndicate.service.summarising import summary_for
from syndicate.store import accounts as account_store
from syndicate.store import catalog, ledger
from syndicate.store.rows import AccountRow, DeliveryRow, EntryRow


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    state: DeliveryState | None  # None: nothing was finished by this call
    claimed: bool
    message: str = ""
    follow_up: int | None = None  # the account's next due delivery: ring it next
    follow_up_at: datetime | None = None  # not before this (None: at once)


def deliver(
    ctx: Context, delivery_id: int, trigger: Trigger, actor: str = "syndicate"
) -> DeliveryOutcome:
    """Send the oldest due delivery of `delivery_id`'s account (often that one itself)."""
    with ctx.store.begin() as conn:
        delivery = ledger.get_delivery(conn, delivery_id)
        account = catalog.get_account(conn, delivery.account_id) if delivery else None
        if _skip_idle(ctx, conn, delivery, account, trigger=trigger, actor=actor):
            assert account is not None  # an idle doorbell is one for a known account
            follow_up, follow_up_at = pacing.next_due(conn, account.id, ctx.clock())
            return DeliveryOutcome(delivery_id, None, claimed=False, message="not claimable",
                                   follow_up=follow_up, follow_up_at=follow_up_at)  # fmt: skip
    if delivery is None or account is None:
        log.warning("deliver: no delivery with id %s; message dropped", delivery_id)
        return DeliveryOutcome(delivery_id, None, claimed=False, message="no such delivery")
    configured = ctx.settings.accounts.get(account.name)
    if configured is None:
        return _fail_unconfigured(ctx, delivery, account, trigger, actor)
    gate = pacing.take(ctx, account.id, configured)
    if not gate.token:
        return _not_now(ctx, delivery, account=account, gate=gate, trigger=trigger, actor=actor)
    try:
        outcome, posted, not_before = _send_one(
            ctx, gate.oldest or delivery.id, account=account, configured=configured,
            trigger=trigger, actor=actor,
        )  # fmt: skip
    except BaseException:
        pacing.release(ctx, account.id, configured, gate.token, posted=False)
        raise
    follow_up, follow_up_at = pacing.release(
        ctx, account.id, configured, gate.token, posted=posted, not_before=not_before
    )
    return DeliveryOutcome(
        outcome.delivery_id,
        outcome.state,
        outcome.claimed,
        outcome.message,
        follow_up=follow_up,
        follow_up_at=follow_up_at,
    )


def _skip_idle(
    ctx: Context,
    conn: sa.Connection,
    delivery: DeliveryRow | None,
    account: AccountRow | None,
    *,
    trigger: Trigger,
    actor: str,
) -> bool:
    """A doorbell for an account with nothing due (a duplicate, or one that comes after the
    account's chain already sent this delivery): say so and stop, without taking the account.
    A paused or unconfigured account goes on to `_not_now` or `_fail_unconfigured`."""
    if delivery is None or account is None or account.name not in ctx.settings.accounts:
        return False
    if account.health != account_store.HEALTH_OK:
        return False
    if account_store.oldest_due(conn, account.id, ctx.clock()) is not None:
        return False
    ledger.append_event(
        conn, at=ctx.clock(), kind="claim_skipped", trigger=trigger, actor=actor,
        delivery_id=delivery.id, entry_id=delivery.entry_id, account_id=account.id,
        message=_not_claimable(delivery.state.value),
    )  # fmt: skip
    return True


def _not_claimable(state: str) -> str:
    return f"not claimable (state {state}): a duplicate or early message, ignored"


def _oldest_due(ctx: Context, account_id: int) -> int | None:
    with ctx.store.begin() as conn:
        return account_store.oldest_due(conn, account_id, ctx.clock())


def _send_one(
    ctx: Context,
    delivery_id: int,
    *,
    account: AccountRow,
    configured: Account,
    trigger: Trigger,
    actor: str,
) -> tuple[DeliveryOutcome, bool, datetime | None]:
    """(outcome, posted?, the account's next allowed time if the platform set one)."""
    with ctx.store.begin() as conn:
        delivery = ledger.get_delivery(conn, delivery_id)
        entry = catalog.get_entry(conn, delivery.entry_id) if delivery else None
        if delivery is None or entry is None:
            deleted = DeliveryOutcome(delivery_id, None, claimed=False, message="deleted")
            return deleted, False, None
        attempt = _Attempt(ctx, delivery, entry, account, uuid.uuid4().hex, trigger, actor)
        claimed_from = attempt.claim(conn)
    if claimed_from is None:
        return (
            DeliveryOutcome(delivery_id, None, claimed=False, message="not claimable"),
            False,
            None,
        )
    outcome = attempt.send(configured, reconcile=claimed_from is DeliveryState.UNKNOWN)
    return outcome, outcome.state is DeliveryState.POSTED, attempt.account_not_before


def _not_now(
    ctx: Context,
    delivery: DeliveryRow,
    *,
    account: AccountRow,
    gate: pacing.Gate,
    trigger: Trigger,
    actor: str,
) -> DeliveryOutcome:
    """The account cannot take a send: paused (hold what is due), busy (the holder rings the
    next one), or waiting for a reset (only the oldest due delivery rings again then)."""
    if gate.paused is not None:
        with ctx.store.begin() as conn:
            held = account_store.hold_due(
                conn, account.id, f"account paused: {gate.paused}", ctx.clock()
            )
            for delivery_id in held:
                ledger.append_event(
                    conn, at=ctx.clock(), kind="delivery_held", trigger=trigger, actor=actor,
                    account_id=account.id, delivery_id=delivery_id,
                    message=f"account paused: {gate.paused}",
                )  # fmt: skip
        return DeliveryOutcome(delivery.id, None, claimed=False, message="account paused")
    if gate.held_elsewhere:
        return DeliveryOutcome(delivery.id, None, claimed=False, message="account busy")
    oldest = _oldest_due(ctx, account.id)
    first = oldest == delivery.id or oldest is None
    return DeliveryOutcome(
        delivery.id,
        None,
        claimed=False,
        message=f"account waits until {gate.not_before}",
        follow_up=delivery.id if first else None,
        follow_up_at=gate.not_before,
    )


def _fail_unconfigured(
    ctx: Context, delivery: DeliveryRow, account: AccountRow, trigger: Trigger, actor: str
) -> DeliveryOutcome:
    with ctx.store.begin() as conn:
        entry = catalog.get_entry(conn, delivery.entry_id)
    if entry is None:
        return DeliveryOutcome(delivery.id, None, claimed=False, message="deleted")
    attempt = _Attempt(ctx, delivery, entry, account, uuid.uuid4().hex, trigger, actor)
    with ctx.store.begin() as conn:
        claimed_from = attempt.claim(conn)
    if claimed_from is None:
        return DeliveryOutcome(delivery.id, None, claimed=False, message="not claimable")
    reason = f"account {account.name!r} is no longer configured"
    return attempt.finish(DeliveryState.FAILED, last_error=reason)


@dataclass
class _Attempt:
    """One claimed try at one delivery; only the holder of `token` can finish it."""

    ctx: Context
    delivery: DeliveryRow
    entry: EntryRow
    account: AccountRow
    token: str
    trigger: Trigger
    actor: str
    account_not_before: datetime | None = None

    @property
    def number(self) -> int:
        """This attempt's number: the claim counted it."""
        return self.delivery.attempts

    def event(self, conn: sa.Connection, kind: str, message: str, **values: Any) -> None:
        ledger.append_event(
            conn,
            at=self.ctx.clock(),
            kind=kind,
            trigger=self.trigger,
            actor=self.actor,
            delivery_id=self.delivery.id,
            entry_id=self.entry.id,
            account_id=self.account.id,
            message=message,
            **values,
        )

    def claim(self, conn: sa.Connection) -> DeliveryState | None:
        """Claim it, in the caller's transaction; the state it was claimed from (unknown:
        reconcile first), or None."""
        now = self.ctx.clock()
        lease = self.ctx.send_lease
        claimed_from = ledger.claim_delivery(conn, self.delivery.id, self.token, now, lease)
        if claimed_from is not None:
            claimed = ledger.get_delivery(conn, self.delivery.id)
            assert claimed is not None  # we hold it, in this very transaction
            self.delivery = claimed  # attempts as counted by the claim, not before it
            self.event(conn, "delivery_claimed", f"attempt {self.number}", attempt=self.number)
            return claimed_from
        current = ledger.get_delivery(conn, self.delivery.id)
        self.event(
            conn, "claim_skipped", _not_claimable(current.state.value if current else "deleted")
        )
        return None

    def send(self, account: Account, *, reconcile: bool = False) -> DeliveryOutcome:
        publisher = self.ctx.publisher(account)
        try:
            post = publisher.render(summary_for(self.ctx, self.entry, self.trigger, self.actor))
            with self.ctx.store.begin() as conn:
                ledger.set_rendered(conn, self.delivery.id, self.token, post.text)
                self.event(
                    conn,
                    "delivery_rendered",
                    "; ".join(post.notes) or f"{post.length}/{post.limit}",
                    attempt=self.number,
                    data={"length": post.length, "limit": post.limit, "parts": len(post.thread)},
                )
        except (ConfigError, PermanentError) as e:
            if reconcile:  # it may have posted before: only a person can decide now
                e = PermanentError(str(e))
                return self.apply(
                    decide_reconcile(e, self.number, self.ctx.clock(), self.policy(account))
                )
            return self.finish(DeliveryState.FAILED, last_error=f"{type(e).__name__}: {e}")
        except Exception as e:
            # Nothing was sent: try again after a backoff. A bug still crashes loudly.
            self.retry_later(account, f"{type(e).__name__} before sending: {e}", reconcile)
            raise
        if reconcile:
            return self.reconcile(account, publisher, post)
        return self.publish(account, publisher, post)

    def policy(self, account: Account) -> RetryPolicy:
        return self.ctx.retry_policy_for(account)

    def reconcile(self, account: Account, publisher: Publisher, post: Post) -> DeliveryOutcome:
        """The last try's outcome is unknown: ask the platform before anything is re-sent."""
        try:
            found = publisher.find_existing(self.delivery.idempotency_key, post)
        except PublishError as e:
            decision = decide_reconcile(
                e, self.number, self.ctx.clock(), self.policy(account), self.ctx.rand
            )
            return self.apply(decision)
        if found is not None:
            return self.posted(found, kind_note="found on the platform: it had posted")
        with self.ctx.store.begin() as conn:
            self.event(conn, "reconcile_not_found", "not on the platform: sending again",
                       attempt=self.number)  # fmt: skip
        return self.publish(account, publisher, post)

    def publish(self, account: Account, publisher: Publisher, post: Post) -> DeliveryOutcome:
        try:
            result = publisher.publish(post, self.delivery.idempotency_key)
        except AlreadyPosted as e:
            return self.posted(e.remote or PublishResult("", ""), kind_note="already posted")
        except PublishError as e:
            decision = decide(e, self.number, self.ctx.clock(), self.policy(account), self.ctx.rand)
            return self.apply(decision)
        except Exception as e:
            # A bug, not an outcome: record that the send may have happened, then crash loudly.
            self.finish(
                DeliveryState.UNKNOWN,
                last_error=f"unexpected {type(e).__name__}: {e}",
                reconcile_at=self.ctx.clock(),
            )
            raise
        return self.posted(result)

    def apply(self, decision: Decision) -> DeliveryOutcome:
        """Record what the retry policy decided, with its effect on the account."""
        values: dict[str, Any] = {"last_error": decision.reason}
        if decision.next_attempt_at is not None:
            values["next_attempt_at"] = decision.next_attempt_at
        if decision.state is DeliveryState.UNKNOWN:
            values["reconcile_at"] = decision.reconcile_at
        self.account_not_before = decision.account_not_before
        return self.finish(decision.state, pause=decision.pause_account, **values)

    def retry_later(self, account: Account, reason: str, reconcile: bool) -> None:
        now = self.ctx.clock()
        when = now + backoff(self.number, self.policy(account), self.ctx.rand)
        if reconcile:
            self.finish(DeliveryState.UNKNOWN, last_error=reason, reconcile_at=when)
        else:
            self.finish(DeliveryState.WAITING, last_error=reason, next_attempt_at=when)

    def posted(self, result: PublishResult, kind_note: str = "") -> DeliveryOutcome:
        return self.finish(
            DeliveryState.POSTED,
            note=kind_note,
            remote_id=result.remote_id,
            remote_url=result.remote_url,
            last_error=None,
        )

    def finish(
        self, state: DeliveryState, *, pause: bool = False, note: str = "", **values: Any
    ) -> DeliveryOutcome:
        now = self.ctx.clock()
        message = str(values.get("remote_url") or values.get("last_error") or state.value)
        message = f"{message} ({note})" if note else message
        paused = False
        with self.ctx.store.begin() as conn:
            if not ledger.finish_delivery(conn, self.delivery.id, self.token, state, now, **values):
                log.warning("delivery %s: claim lost before finishing", self.delivery.id)
                return DeliveryOutcome(self.delivery.id, None, claimed=True, message="claim lost")
            self.event(
                conn, f"delivery_{state.value}", message, attempt=self.number,
                data=_jsonable(values),
            )  # fmt: skip
            if self.account_not_before is not None:
                account_store.defer(conn, self.account.id, self.account_not_before)
            if pause:
                reason = str(values.get("last_error") or "credentials rejected")
                paused = pause_in(self.ctx, conn, self.account.id, reason,
                                  actor=self.actor, trigger=self.trigger)  # fmt: skip
        if paused:
            alert(self.ctx, self.account.name, str(values.get("last_error")))
        log.info("delivery %s -> %s: %s", self.delivery.id, state.value, message)
        return DeliveryOutcome(self.delivery.id, state, claimed=True, message=message)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
