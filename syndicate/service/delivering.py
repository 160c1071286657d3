"""Deliver one post: claim, render, send, record. Safe to run twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from syndicate.errors import AlreadyPosted, ConfigError, PermanentError, PublishError
from syndicate.model import Account, DeliveryState, Post, PublishResult, Trigger
from syndicate.platforms.base import Publisher
from syndicate.retry import backoff, decide
from syndicate.service.context import SEND_LEASE, Context, log
from syndicate.service.summarising import summary_for
from syndicate.store import catalog, ledger
from syndicate.store.rows import AccountRow, DeliveryRow, EntryRow


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    state: DeliveryState | None  # None: no such delivery
    claimed: bool
    message: str = ""


def deliver(
    ctx: Context, delivery_id: int, trigger: Trigger, actor: str = "syndicate"
) -> DeliveryOutcome:
    """Claim one delivery, render it, send it, and record the outcome. Safe to run twice."""
    with ctx.store.begin() as conn:
        delivery = ledger.get_delivery(conn, delivery_id)
        entry = catalog.get_entry(conn, delivery.entry_id) if delivery else None
        account = catalog.get_account(conn, delivery.account_id) if delivery else None
    if delivery is None or entry is None or account is None:
        log.warning("deliver: no delivery with id %s; message dropped", delivery_id)
        return DeliveryOutcome(delivery_id, None, claimed=False, message="no such delivery")
    attempt = _Attempt(ctx, delivery, entry, account, uuid.uuid4().hex, trigger, actor)
    if not attempt.claim():
        return DeliveryOutcome(delivery_id, None, claimed=False, message="not claimable")
    configured = ctx.settings.accounts.get(account.name)
    if configured is None:
        reason = f"account {account.name!r} is no longer configured"
        return attempt.finish(DeliveryState.FAILED, last_error=reason)
    return attempt.send(configured)


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

    def claim(self) -> bool:
        now = self.ctx.clock()
        with self.ctx.store.begin() as conn:
            if ledger.claim_delivery(conn, self.delivery.id, self.token, now, SEND_LEASE):
                claimed = ledger.get_delivery(conn, self.delivery.id)
                assert claimed is not None  # we hold it, in this very transaction
                self.delivery = claimed  # attempts as counted by the claim, not before it
                self.event(conn, "delivery_claimed", f"attempt {self.number}", attempt=self.number)
                return True
            current = ledger.get_delivery(conn, self.delivery.id)
            state = current.state.value if current else "deleted"
            self.event(
                conn,
                "claim_skipped",
                f"not claimable (state {state}): a duplicate or early message, ignored",
            )
            return False

    def send(self, account: Account) -> DeliveryOutcome:
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
            return self.finish(DeliveryState.FAILED, last_error=f"{type(e).__name__}: {e}")
        except Exception as e:
            # Nothing was sent: try again after a backoff. A bug still crashes loudly.
            self.retry_later(f"{type(e).__name__} before sending: {e}")
            raise
        return self.publish(publisher, post)

    def publish(self, publisher: Publisher, post: Post) -> DeliveryOutcome:
        try:
            result = publisher.publish(post, self.delivery.idempotency_key)
        except AlreadyPosted as e:
            return self.posted(e.remote or PublishResult("", ""))
        except PublishError as e:
            decision = decide(
                e, self.number, self.ctx.clock(), self.ctx.retry_policy, self.ctx.rand
            )
            when = {"next_attempt_at": decision.next_attempt_at} if decision.next_attempt_at else {}
            return self.finish(decision.state, last_error=decision.reason, **when)
        except Exception as e:
            # A bug, not an outcome: record that the send may have happened, then crash loudly.
            self.finish(DeliveryState.UNKNOWN, last_error=f"unexpected {type(e).__name__}: {e}")
            raise
        return self.posted(result)

    def retry_later(self, reason: str) -> None:
        wait = backoff(self.number, self.ctx.retry_policy, self.ctx.rand)
        self.finish(
            DeliveryState.WAITING, last_error=reason, next_attempt_at=self.ctx.clock() + wait
        )

    def posted(self, result: PublishResult) -> DeliveryOutcome:
        return self.finish(
            DeliveryState.POSTED,
            remote_id=result.remote_id,
            remote_url=result.remote_url,
            last_error=None,
        )

    def finish(self, state: DeliveryState, **values: Any) -> DeliveryOutcome:
        now = self.ctx.clock()
        message = str(values.get("remote_url") or values.get("last_error") or state.value)
        with self.ctx.store.begin() as conn:
            if not ledger.finish_delivery(conn, self.delivery.id, self.token, state, now, **values):
                log.warning("delivery %s: claim lost before finishing", self.delivery.id)
                return DeliveryOutcome(self.delivery.id, None, claimed=True, message="claim lost")
            self.event(
                conn,
                f"delivery_{state.value}",
                message,
                attempt=self.number,
                data=_jsonable(values),
            )
        log.info("delivery %s -> %s: %s", self.delivery.id, state.value, message)
        return DeliveryOutcome(self.delivery.id, state, claimed=True, message=message)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
