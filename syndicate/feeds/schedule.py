"""When to poll a feed next: a pure function of the time, the feed's settings and its hints."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

DEFAULT_INTERVAL = timedelta(minutes=15)
MAX_DELAY = timedelta(hours=24)  # errors and hints never make a feed wait longer than this
JITTER = 0.2  # ±20%, so feeds added together do not stay in lockstep
_MAX_DOUBLINGS = 64  # far past any ceiling; keeps 2**errors a sane float


def next_poll(
    now: datetime,
    *,
    interval: timedelta = DEFAULT_INTERVAL,
    errors: int = 0,
    ttl: float | None = None,
    max_age: float | None = None,
    retry_after: datetime | timedelta | None = None,
    rand: Callable[[], float],
) -> datetime:
    """The time of the next poll; always after `now`.

    - The wait is `interval` × 2^`errors` (exponential backoff), with ±20% jitter from `rand`
      (a `random.random`-like callable, values in [0, 1]).
    - Never sooner than the feed asks: `ttl` is the RSS `<ttl>` in minutes, `max_age` the
      Cache-Control max-age in seconds, `retry_after` the Retry-After header as a time or a
      delay. When a hint is the longer wait, it gets up to +20% jitter (never less than asked).
    - The ceiling is MAX_DELAY (24 h), or the configured interval when that is longer (a
      feed set to poll weekly polls weekly). Backoff, hints and jitter never pass it, so a
      feed in trouble or a server asking for a week's pause is still checked daily.
    """
    if interval <= timedelta(0) or errors < 0:
        raise ValueError(f"interval must be positive and errors >= 0: {interval}, {errors}")
    r = min(max(rand(), 0.0), 1.0)
    # Seconds as floats: a 30-day interval doubled 40 times would overflow a timedelta.
    base = interval.total_seconds()
    ceiling = max(MAX_DELAY.total_seconds(), base)
    delay = min(base * 2.0 ** min(errors, _MAX_DOUBLINGS), ceiling) * (1 - JITTER + 2 * JITTER * r)
    hint = longest_hint(now, ttl=ttl, max_age=max_age, retry_after=retry_after)
    if hint > delay:
        delay = hint * (1 + JITTER * r)
    return now + timedelta(seconds=min(delay, ceiling))


def longest_hint(
    now: datetime,
    *,
    ttl: float | None = None,
    max_age: float | None = None,
    retry_after: datetime | timedelta | None = None,
) -> float:
    """The longest wait in seconds the feed's server asked for; 0 when none. Hints that are
    not finite non-negative numbers (a garbled `<ttl>`) are ignored."""
    if isinstance(retry_after, datetime):
        retry_after = retry_after - now
    waits = [
        ttl * 60 if ttl is not None else None,
        max_age,
        retry_after.total_seconds() if retry_after is not None else None,
    ]
    return max([0.0, *(w for w in waits if w is not None and 0 <= w < math.inf)])
