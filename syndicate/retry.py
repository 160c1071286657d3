"""The retry policy, as one pure function. The only place retry numbers live."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from syndicate.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.model import DeliveryState


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8


@dataclass(frozen=True)
class Decision:
    state: DeliveryState
    reason: str
    next_attempt_at: datetime | None = None
    reconcile_at: datetime | None = None  # unknown: when to ask the platform; None: a person
    account_not_before: datetime | None = None  # no request to the account before this
    pause_account: bool = False  # the credentials are bad: hold everything until resumed


def backoff(attempts: int, policy: RetryPolicy, rand: Callable[[], float]) -> timedelta:
    """Exponential backoff with equal jitter: half the step fixed, half random."""
    doublings = min(max(0, attempts - 1), 30)  # 2**30 steps is far past any cap
    step = min(policy.cap, policy.base * (1 << doublings))
    return step / 2 + step / 2 * rand()


def decide(
    error: PublishError,
    attempts: int,
    now: datetime,
    policy: RetryPolicy = RetryPolicy(),
    rand: Callable[[], float] = random.random,
) -> Decision:
    """What a failed attempt (the `attempts`-th) leads to."""
    reason = f"{type(error).__name__}: {error}"
    if isinstance(error, RateLimited):
        # The platform's reset is a fact, not a guess; waiting for it is not a failure.
        wait_until = max(error.reset_at or now + backoff(attempts, policy, rand), now)
        return Decision(
            DeliveryState.WAITING, reason, wait_until, account_not_before=error.reset_at
        )
    if isinstance(error, AuthError):
        return Decision(DeliveryState.HELD, reason, pause_account=True)
    if isinstance(error, OutcomeUnknown):
        # Ask the platform soon, not at once: a post can take a moment to show in listings.
        return Decision(DeliveryState.UNKNOWN, reason, reconcile_at=now + policy.base)
    if isinstance(error, TransientError) and attempts < policy.max_attempts:
        return Decision(DeliveryState.WAITING, reason, now + backoff(attempts, policy, rand))
    if isinstance(error, TransientError):
        return Decision(DeliveryState.FAILED, f"gave up after {attempts} attempts: {reason}")
    if isinstance(error, PermanentError):
        return Decision(DeliveryState.FAILED, reason)
    raise TypeError(f"no retry rule for {type(error).__name__}")


def decide_reconcile(
    error: PublishError,
    attempts: int,
    now: datetime,
    policy: RetryPolicy = RetryPolicy(),
    rand: Callable[[], float] = random.random,
) -> Decision:
    """What a failed "did it post?" question leads to. The delivery stays unknown: only a
    definite answer may move it, so a re-send never follows a guess."""
    reason = f"cannot tell whether it posted: {type(error).__name__}: {error}"
    person = f"{reason}; decide with `syndicate resync --force` or `deliveries mark-posted`"
    if isinstance(error, RateLimited):
        wait_until = max(error.reset_at or now + backoff(attempts, policy, rand), now)
        return Decision(
            DeliveryState.UNKNOWN,
            reason,
            reconcile_at=wait_until,
            account_not_before=error.reset_at,
        )
    if isinstance(error, AuthError):
        # Asked again once the account is resumed (resume makes it due at once).
        return Decision(
            DeliveryState.UNKNOWN, reason, reconcile_at=now + policy.cap, pause_account=True
        )
    if isinstance(error, TransientError) and attempts < policy.max_attempts:
        return Decision(
            DeliveryState.UNKNOWN, reason, reconcile_at=now + backoff(attempts, policy, rand)
        )
    # OutcomeUnknown here means the platform cannot be asked (a webhook); a permanent error
    # or too many tries: a person decides.
    return Decision(DeliveryState.UNKNOWN, person)
