"""When a server says to come back: Retry-After on a 429/503, and how long an answer stays
fresh (Cache-Control max-age, Expires). Pure: header values in, instants and seconds out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# A longer wait is more likely a bug than a plan; it also keeps the datetime sum in range.
MAX_RETRY_AFTER = timedelta(days=31)


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a 429/503 lets us ask again (UTC), from Retry-After in either form (RFC 9110
    §10.2.3); None without a usable value. `headers` has lower-cased names."""
    value = headers.get("retry-after", "").strip()
    seconds = _delta_seconds(value)
    if seconds is not None:
        delay = timedelta(seconds=seconds)
    else:
        at = _http_date(value)
        if at is None:
            return None
        # Measured against the server's own Date, so a skewed server clock does not matter.
        delay = at - (_http_date(headers.get("date", "")) or now)
    return now + min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def freshness_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the response stays fresh (RFC 9111 §4.2.1): max-age wins over Expires, and
    no-cache or no-store mean the server gives no freshness at all. Lower-cased names."""
    directives = _cache_directives(headers.get("cache-control", ""))
    if "no-cache" in directives or "no-store" in directives:
        return None
    max_age = _delta_seconds(directives.get("max-age", ""))
    if max_age is not None:
        return float(max_age)
    expires = _http_date(headers.get("expires", ""))
    if expires is None:
        return None
    served = _http_date(headers.get("date", "")) or now
    return max(0.0, (expires - served).total_seconds())


def _cache_directives(value: str) -> dict[str, str]:
    directives = {}
    for part in value.split(","):
        name, _, argument = part.partition("=")
        if name.strip():
            directives[name.strip().lower()] = argument.strip().strip('"')
    return directives


def _delta_seconds(value: str) -> int | None:
    # Digits only (RFC 9110 §1.2); long runs are refused before int() (it caps at 4,300 digits).
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP-dates are always GMT; "-0000" or an obsolete form may parse as naive.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
