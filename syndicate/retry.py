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
        wait_until = error.reset_at or now + backoff(attempts, policy, rand)
        return Decision(DeliveryState.WAITING, reason, max(wait_until, now))
    if isinstance(error, AuthError):
        return Decision(DeliveryState.HELD, reason)
    if isinstance(error, OutcomeUnknown):
        return Decision(DeliveryState.UNKNOWN, reason)
    if isinstance(error, TransientError) and attempts < policy.max_attempts:
        return Decision(DeliveryState.WAITING, reason, now + backoff(attempts, policy, rand))
    if isinstance(error, TransientError):
        return Decision(DeliveryState.FAILED, f"gave up after {attempts} attempts: {reason}")
    if isinstance(error, PermanentError):
        return Decision(DeliveryState.FAILED, reason)
    raise TypeError(f"no retry rule for {type(error).__name__}")
