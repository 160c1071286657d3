"""Jinja filters: times for people, and links that cannot run script.

Everything a feed or a platform wrote is untrusted; autoescaping covers text, but an escaped
`javascript:` URL is still a script when clicked, so only http(s) URLs become links.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, quote_plus, urlsplit, urlunsplit

from flask import Flask

from syndicate.web.state import ctx


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "never"


def ago(at: datetime | None) -> str:
    """ "5 min ago" or "in 5 min", against the app's clock (injected in tests)."""
    if at is None:
        return "never"
    seconds = (ctx().clock() - at).total_seconds()
    span = _span(abs(seconds))
    if span == "now":
        return "just now"
    return f"{span} ago" if seconds > 0 else f"in {span}"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return "now"


def href(url: str | None) -> str | None:
    """The URL when it is http(s) with a host; None means "show it as text"."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    ok = parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
    return url.strip() if ok else None


def redact(url: str | None) -> str:
    """A feed URL without credentials or query values (private feeds carry tokens there)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "(unparseable URL)"
    query = "&".join(f"{quote_plus(k)}=***" for k, _ in parse_qsl(parts.query, True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def install(app: Flask) -> None:
    app.add_template_filter(when)
    app.add_template_filter(ago)
    app.add_template_filter(href)
    app.add_template_filter(redact)
