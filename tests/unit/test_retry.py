from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syndicate.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from syndicate.model import DeliveryState
from syndicate.retry import RetryPolicy, backoff, decide

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(minutes=5), max_attempts=4)


def test_transient_errors_back_off_exponentially_within_jitter() -> None:
    waits = [backoff(n, POLICY, lambda: 1.0) for n in (1, 2, 3, 10)]
    assert waits == [
        timedelta(seconds=10),
        timedelta(seconds=20),
        timedelta(seconds=40),
        timedelta(minutes=5),
    ]
    assert backoff(3, POLICY, lambda: 0.0) == timedelta(seconds=20)


def test_transient_error_waits_then_fails_after_max_attempts() -> None:
    waiting = decide(TransientError("503"), 1, NOW, POLICY, lambda: 0.5)
    assert waiting.state is DeliveryState.WAITING
    assert waiting.next_attempt_at == NOW + timedelta(seconds=7.5)
    failed = decide(TransientError("503"), 4, NOW, POLICY, lambda: 0.5)
    assert failed.state is DeliveryState.FAILED
    assert "gave up after 4 attempts" in failed.reason


def test_rate_limit_waits_until_the_platform_reset() -> None:
    reset = NOW + timedelta(minutes=7)
    decision = decide(RateLimited("429", reset), 99, NOW, POLICY)
    assert decision.state is DeliveryState.WAITING
    assert decision.next_attempt_at == reset


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (PermanentError("422"), DeliveryState.FAILED),
        (AuthError("401"), DeliveryState.HELD),
        (OutcomeUnknown("timeout"), DeliveryState.UNKNOWN),
    ],
)
def test_each_error_class_has_its_own_outcome(error: Exception, state: DeliveryState) -> None:
    assert decide(error, 1, NOW, POLICY).state is state  # type: ignore[arg-type]
