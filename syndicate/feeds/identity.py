"""Entry identity: id/guid, else the normalised link, else a hash of title and date."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PREFIXES = ("utm_",)
_TRACKING_KEYS = {"fbclid", "gclid", "mc_cid", "mc_eid", "ref", "source"}


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, drop the default port, the fragment and tracking params."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith(_TRACKING_PREFIXES) and key.lower() not in _TRACKING_KEYS
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def entry_identity(entry_id: str, link: str, title: str, published: str) -> str:
    if entry_id.strip():
        return entry_id.strip()
    if link.strip():
        return normalise_url(link)
    digest = hashlib.sha256(f"{title}\x00{published}".encode()).hexdigest()
    return f"sha256:{digest}"


def content_hash(*parts: str) -> str:
    """A change detector over an entry's visible fields (dates excluded: some are generated)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()
