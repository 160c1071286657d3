"""When a feed is polled next: interval with jitter, backoff on errors, the server's hints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.feeds.schedule import DEFAULT_INTERVAL, MAX_DELAY, next_poll

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LOW, MID, HIGH = (lambda: 0.0), (lambda: 0.5), (lambda: 1.0)

intervals = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=12))
rands = st.floats(0.0, 1.0)
hints = st.one_of(st.none(), st.floats(0, 2 * 24 * 60))


def test_the_default_interval_is_fifteen_minutes_with_twenty_percent_jitter() -> None:
    assert next_poll(NOW, rand=MID) == NOW + timedelta(minutes=15)
    assert next_poll(NOW, rand=LOW) == NOW + timedelta(minutes=12)
    assert next_poll(NOW, rand=HIGH) == NOW + timedelta(minutes=18)


@pytest.mark.parametrize(
    ("errors", "wait"),
    [
        (0, timedelta(minutes=15)),
        (1, timedelta(minutes=30)),
        (2, timedelta(hours=1)),
        (6, timedelta(hours=16)),
        (7, MAX_DELAY),  # 32 h, capped
        (10_000, MAX_DELAY),
    ],
)
def test_errors_back_off_exponentially_up_to_a_day(errors: int, wait: timedelta) -> None:
    assert next_poll(NOW, errors=errors, rand=MID) == NOW + wait


def test_jitter_never_pushes_a_capped_backoff_past_a_day() -> None:
    assert next_poll(NOW, errors=7, rand=HIGH) == NOW + MAX_DELAY
    assert next_poll(NOW, errors=7, rand=LOW) == NOW + MAX_DELAY * 0.8


@pytest.mark.parametrize(
    ("hint", "wait"),
    [
        ({"ttl": 60}, timedelta(hours=1)),
        ({"max_age": 3600}, timedelta(hours=1)),
        ({"retry_after": timedelta(hours=1)}, timedelta(hours=1)),
        ({"retry_after": NOW + timedelta(hours=1)}, timedelta(hours=1)),
        ({"ttl": 5}, timedelta(minutes=12)),  # shorter than the interval: the interval wins
        ({"retry_after": NOW - timedelta(hours=1)}, timedelta(minutes=12)),  # already passed
        ({"ttl": 60, "max_age": 7200, "retry_after": timedelta(minutes=1)}, timedelta(hours=2)),
        ({"ttl": 7 * 24 * 60}, MAX_DELAY),  # a week: still checked daily
        ({"ttl": float("nan"), "max_age": float("inf")}, timedelta(minutes=12)),  # garbage
        ({"max_age": -5}, timedelta(minutes=12)),
    ],
)
def test_the_longest_hint_wins_when_it_is_longer(hint: dict[str, object], wait: timedelta) -> None:
    assert next_poll(NOW, rand=LOW, **hint) == NOW + wait  # type: ignore[arg-type]


def test_a_hint_gets_jitter_above_it_never_below() -> None:
    assert next_poll(NOW, ttl=60, rand=HIGH) == NOW + timedelta(minutes=72)


def test_an_interval_longer_than_a_day_is_kept() -> None:
    week = timedelta(days=7)
    assert next_poll(NOW, interval=week, rand=MID) == NOW + week
    assert next_poll(NOW, interval=week, errors=3, rand=HIGH) == NOW + week


@pytest.mark.parametrize(("interval", "errors"), [(timedelta(0), 0), (DEFAULT_INTERVAL, -1)])
def test_nonsense_arguments_are_refused(interval: timedelta, errors: int) -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        next_poll(NOW, interval=interval, errors=errors, rand=MID)


@given(interval=intervals, r=rands)
def test_without_errors_or_hints_the_wait_is_within_twenty_percent(
    interval: timedelta, r: float
) -> None:
    wait = next_poll(NOW, interval=interval, rand=lambda: r) - NOW
    assert timedelta(0) < wait
    assert (
        interval * 0.8 - timedelta(microseconds=1)
        <= wait
        <= interval * 1.2 + timedelta(microseconds=1)
    )


@given(
    interval=intervals,
    errors=st.integers(0, 10_000),
    r=rands,
    ttl=hints,
    max_age=st.one_of(st.none(), st.floats(0, 3 * 24 * 3600)),
    retry_after=st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=3))),
)
def test_any_wait_is_after_now_respects_every_hint_and_stays_within_a_day(
    interval: timedelta,
    errors: int,
    r: float,
    ttl: float | None,
    max_age: float | None,
    retry_after: timedelta | None,
) -> None:
    at = next_poll(
        NOW,
        interval=interval,
        errors=errors,
        ttl=ttl,
        max_age=max_age,
        retry_after=retry_after,
        rand=lambda: r,
    )
    wait = at - NOW
    assert timedelta(0) < wait <= MAX_DELAY
    tick = timedelta(microseconds=1)  # timedelta rounds to microseconds
    asked = [
        timedelta(minutes=ttl) if ttl is not None else timedelta(0),
        timedelta(seconds=max_age) if max_age is not None else timedelta(0),
        retry_after or timedelta(0),
        min(interval * 2 ** min(errors, 20), MAX_DELAY) * 0.8,
    ]
    assert wait >= min(max(asked), MAX_DELAY) - tick
