"""Checks and parsers for single config values; pure, no file or environment access."""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from syndicate.model import (
    ComposeOptions,
    OptionSpec,
)
from syndicate.platforms.compose import PLACEHOLDERS as _TEMPLATE_PLACEHOLDERS

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DATABASES = ("sqlite", "postgresql")
_BROKERS = ("redis", "rediss")
_MIN_FEED_BYTES, _MAX_FEED_BYTES = 1024, 1024**3


class _Invalid(ValueError):
    """A bad value. The loader adds the file and the key, so the message names neither."""


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {type(value).__name__}")
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise _Invalid(f"expected a duration like '30s', '15m' or '2h', got {value!r}")
    return float(match[1]) * _UNITS[match[2]]


def _duration_upto(cap: str) -> Callable[[Any], float]:
    """A parser for durations above zero and at most `cap`, which also refuses inf and nan:
    they pass the regex or TOML, then break `timedelta` (or never fire) much later."""
    most = _seconds(cap)

    def parse(value: Any) -> float:
        seconds = _seconds(value)
        if not 0 < seconds <= most:  # False for nan, too
            raise _Invalid(f"expected a duration above 0 and at most {cap}, got {value!r}")
        return seconds

    return parse


_INTERVAL = _duration_upto("30d")
_TIMEOUT = _duration_upto("5m")  # no single HTTP call should hold a worker (or a lease) longer


def _whole_number(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _Invalid(f"expected a whole number >= 0, got {value!r}")
    return value


def _feed_bytes(value: Any) -> int:
    size = _whole_number(value)
    if not _MIN_FEED_BYTES <= size <= _MAX_FEED_BYTES:
        raise _Invalid(f"expected {_MIN_FEED_BYTES} to {_MAX_FEED_BYTES} (1 GiB), got {size}")
    return size


def _database_url(value: Any) -> str:
    """Empty (the SQLite file in data_dir) or a SQLite/PostgreSQL URL. Errors never show the
    value: it may carry a password."""
    url = _str(value)
    if not url:
        return url
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except (ArgumentError, ValueError):
        backend = ""
    if backend not in _DATABASES:
        shown = f"{backend}://" if backend else "a value that does not parse as a URL"
        raise _Invalid(
            f"expected a sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB URL, got {shown}"
        )
    if parsed.drivername == "postgresql":
        # A bare postgresql:// means psycopg2 to SQLAlchemy; we ship psycopg 3.
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _broker_url(value: Any) -> str:
    """Empty (the embedded broker) or a Redis URL; the value itself is never shown."""
    url = _str(value)
    scheme = match[1] if (match := _SCHEME.match(url)) else ""
    if url and scheme not in _BROKERS:
        shown = f"{scheme}://" if scheme else "no scheme"
        raise _Invalid(
            f"expected empty (the embedded broker) or a redis:// or rediss:// URL, got {shown}"
        )
    return url


def _http_url(value: str) -> str:
    if not _is_http_url(value):
        raise _Invalid(
            f"expected an http(s) URL with a host, like https://example.org, got {value!r}"
        )
    return value


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0  # .port raises on junk or > 65535
    except ValueError:  # also a malformed IPv6 literal
        return False
    has_host = parts.scheme in ("http", "https") and bool(parts.hostname)
    return has_host and port_ok and not any(c.isspace() for c in value)


def _bind(value: Any) -> str:
    """HOST:PORT, e.g. 127.0.0.1:8080, 0.0.0.0:80 or [::1]:8080."""
    text = _str(value).strip()
    host, _, port = text.rpartition(":")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not bare or (":" in bare and not host.startswith("[")) or any(c.isspace() for c in host):
        raise _Invalid(f"expected HOST:PORT like 127.0.0.1:8080, got {value!r}")
    if not port.isdecimal() or not 0 < int(port) <= 65535:
        raise _Invalid(f"expected a port from 1 to 65535 after the colon, got {value!r}")
    return text


def _public_url(value: Any) -> str:
    """Empty (no WebSub subscriptions) or the http(s) base URL hubs can reach us at."""
    url = _str(value).strip()
    if url and (not _is_http_url(url) or urlsplit(url).query or urlsplit(url).fragment):
        raise _Invalid(
            f"expected empty or an http(s) base URL like https://syndicate.example, got {url!r}"
        )
    return url.rstrip("/")


def _template(value: str) -> str:
    """Checked like compose.render_text will read it, so a typo stops start-up, not a post."""
    try:
        fields = list(string.Formatter().parse(value))
    except ValueError as e:
        raise _Invalid(f"malformed braces ({e}); write {{{{ or }}}} for a literal brace") from None
    for _, name, spec, conversion in fields:
        if name is not None and name not in _TEMPLATE_PLACEHOLDERS:
            close = difflib.get_close_matches(name, _TEMPLATE_PLACEHOLDERS, n=1)
            hint = f" (did you mean {{{close[0]}}}?)" if close else ""
            known = ", ".join(f"{{{p}}}" for p in _TEMPLATE_PLACEHOLDERS)
            raise _Invalid(f"unknown placeholder {{{name}}}{hint}; known: {known}")
        if name is not None and (spec or conversion):
            raise _Invalid(f"placeholder {{{name}}} takes no '!' conversion or ':' format")
    if not value.strip():
        raise _Invalid("empty: a post needs some text")
    return value


def _option_value(spec: OptionSpec, value: Any) -> str | int | bool:
    """`value` checked against everything `spec` promises (secrets are never shown)."""
    shown = "a hidden value" if spec.secret else repr(value)
    kinds = {bool: "true or false", int: "a whole number", str: "a string"}
    if not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool)):
        raise _Invalid(f"expected {kinds[spec.kind]}, got {shown}")
    if isinstance(value, int) and spec.minimum is not None and value < spec.minimum:
        raise _Invalid(f"expected a whole number >= {spec.minimum}, got {shown}")
    if not isinstance(value, str):
        return value
    if spec.choices and value not in spec.choices:
        raise _Invalid(f"expected one of {', '.join(spec.choices)}, got {shown}")
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        raise _Invalid(f"expected {spec.help or 'a match for ' + spec.pattern}, got {shown}")
    if spec.url and value and not _is_http_url(value):
        raise _Invalid(
            f"expected an http(s) URL with a host, like https://example.org, got {shown}"
        )
    return value


# [syndicate] keys: name -> (parser, default). Each is overridable by SYNDICATE_<NAME>.
def _flag(value: Any) -> bool:
    """true/false in TOML; "true"/"false" (also 1/0, yes/no) from the environment."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise _Invalid(f"expected true or false, got {value!r}")


_CORE_KEYS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "data_dir": (_str, "var"),
    "env_file": (_str, ""),  # `${VAR}`s the environment lacks; "": <data_dir>/secrets.env
    "database_url": (_database_url, ""),
    "broker_url": (_broker_url, ""),
    "poll_interval": (_INTERVAL, "15m"),
    "fetch_timeout": (_TIMEOUT, "15s"),
    "max_feed_bytes": (_feed_bytes, 10 * 1024 * 1024),
    "user_agent": (_str, "syndicate/0.1 (+https://github.com/syndicate)"),
    "block_private_networks": (_flag, False),
    # How long a sender may hold a delivery (and its account) before the sweeper calls the
    # outcome unknown: longer than any one send with its timeouts.
    "send_lease": (_duration_upto("1h"), "5m"),
    "redispatch_after": (_duration_upto("1h"), "2m"),  # re-ring a doorbell this old
    "sweep_interval": (_duration_upto("1h"), "30s"),
    "alert_webhook": (lambda v: _http_url(_str(v)) if v else "", ""),  # POSTed on account pause
}
_SUMMARISE_OPTIONS = (
    OptionSpec("fetch_pages", bool, default=True),
    OptionSpec("llm_base_url", default="", url=True),
    OptionSpec("llm_model", default=""),
    OptionSpec("llm_api_key", secret=True, default=""),
)
_WEB_KEYS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "bind": (_bind, "127.0.0.1:8080"),
    "public_url": (_public_url, ""),
}
_WEB_PASSWORD = OptionSpec("password", secret=True, default="")  # or password_file
_FEED_KEYS = {"name", "url", "accounts", "backfill", "interval", "include", "exclude", "routes"}
_COMPOSE_KEYS = {f.name for f in fields(ComposeOptions)}
_NON_NEGATIVE_DURATION = _duration_upto("30d")


def _delay(value: Any) -> float:
    """A duration that may be zero ("0s": no delay)."""
    return 0.0 if _seconds(value) == 0 else _NON_NEGATIVE_DURATION(value)


def _at_least_one(value: Any) -> int:
    number = _whole_number(value)
    if number < 1:
        raise _Invalid(f"expected a whole number >= 1, got {value!r}")
    return number


_DELIVERY_KEYS: dict[str, Callable[[Any], Any]] = {
    "settle": _delay,
    "min_gap": _delay,
    "quota": _whole_number,
    "quota_window": _NON_NEGATIVE_DURATION,
    "retry_base": _NON_NEGATIVE_DURATION,
    "retry_cap": _NON_NEGATIVE_DURATION,
    "max_attempts": _at_least_one,
}
_ACCOUNT_KEYS = {"platform"} | _COMPOSE_KEYS | set(_DELIVERY_KEYS)
