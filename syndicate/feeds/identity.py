"""Entry identity: id/guid, else the normalised link, else a hash of title and date."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import SplitResult, unquote_plus, urlsplit

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_TRACKING_PREFIXES = ("utm_",)
_TRACKING_KEYS = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ref", "source"}
# Whitespace, and the C0 controls urlsplit strips from the front: trimmed from both ends.
_EDGES = re.compile(r"^[\s\x00-\x20]+|[\s\x00-\x20]+$")


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, drop the default port, the fragment and tracking params.

    Everything else is kept as written (path, other query parameters and their order), so
    two links differ after normalising exactly when they may name different pages. Text
    that is not a URL comes back stripped, never raises.
    """
    text = _EDGES.sub("", url)
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return text
    netloc = _netloc(parts)
    path = parts.path or ("/" if netloc else "")
    # The authority is written whenever the path could otherwise be read as one ("http:////x").
    if netloc or path.startswith("//"):
        path = f"//{netloc}{path}"
    query = _query(parts.query)
    result = f"{parts.scheme}:" * bool(parts.scheme) + path + f"?{query}" * bool(query)
    # Dropping the fragment or a trailing parameter can leave whitespace at the end.
    return _EDGES.sub("", result)


def _netloc(parts: SplitResult) -> str:
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, colon, port = hostport.lower().rpartition(":")
    if not colon or (":" in host and not (host.startswith("[") and host.endswith("]"))):
        return f"{userinfo}{at}{hostport.lower()}"  # no port: any ":" is inside an IPv6 literal
    default = _DEFAULT_PORTS.get(parts.scheme)
    if not port or (default is not None and port.lstrip("0") == default):
        return f"{userinfo}{at}{host}"
    return f"{userinfo}{at}{host}:{port}"


def _query(query: str) -> str:
    """The query without tracking parameters or empty pieces, otherwise byte for byte."""
    pieces = query.split("&")
    return "&".join(p for p in pieces if _EDGES.sub("", p) and not _is_tracking(p))


def _is_tracking(piece: str) -> bool:
    key = _EDGES.sub("", unquote_plus(piece.partition("=")[0])).lower()
    return key.startswith(_TRACKING_PREFIXES) or key in _TRACKING_KEYS


def entry_identity(entry_id: str, link: str, title: str, published: str, content: str = "") -> str:
    """id; else the normalised link; else a hash of title and date; else of the content.

    Title and date come before content so an edited body keeps its identity; content only
    tells apart entries that have nothing else (untitled, undated notes).
    """
    if entry_id.strip():
        return entry_id.strip()
    # A "link" of nothing but control characters normalises to "": not an identity.
    if normalised := normalise_url(link) if link.strip() else "":
        return normalised
    title, published = " ".join(title.split()), published.strip()
    if title or published:
        return f"sha256:{content_hash(title, published)}"
    return f"sha256:{content_hash('', '', content.strip())}"


def content_hash(*parts: str) -> str:
    """A change detector over an entry's visible fields (dates excluded: some are generated)."""
    # surrogatepass: JSON can carry lone surrogates, and a hash must never raise.
    return hashlib.sha256("\x00".join(parts).encode(errors="surrogatepass")).hexdigest()
