"""Fetch an entry's image for a Bluesky thumbnail or image post, within a size cap.

A missing image never stops a post: every way the fetch can go wrong (unreachable, too big,
not an image, too slow) ends in None and a warning, and the post goes out without it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 1_000_000  # the lexicon's maxSize for an external thumb and a post image
_CHUNK = 64 * 1024
# Bluesky shows these formats; the bytes decide, not the server's Content-Type.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class Image:
    data: bytes
    mime_type: str


class _Skip(Exception):
    """Why the image is left out (a warning, never an error)."""


def fetch_image(
    http: requests.Session,
    url: str,
    timeout: tuple[float, float],
    cap: int = MAX_IMAGE_BYTES,
) -> Image | None:
    """The image at `url` if it is a JPEG, PNG, GIF or WebP of at most `cap` bytes that
    arrives within `timeout[1]` seconds in all; None (with a warning) otherwise."""
    try:
        data = _download(http, url, timeout, cap)
        mime_type = sniff(data)
        if mime_type is None:
            raise _Skip("not a JPEG, PNG, GIF or WebP image")
    except _Skip as e:
        log.warning("image %s left out: %s", url, e)
        return None
    return Image(data, mime_type)


def _download(http: requests.Session, url: str, timeout: tuple[float, float], cap: int) -> bytes:
    if urlsplit(url).scheme not in ("http", "https"):
        raise _Skip("not an http(s) URL")
    deadline = time.monotonic() + timeout[1]  # a trickling server must not hold the post
    try:
        with http.get(url, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise _Skip(f"HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise _Skip(f"{declared} bytes, over the {cap}-byte cap")
            return _read_capped(response, cap, deadline)
    except requests.RequestException as e:
        raise _Skip(f"{type(e).__name__}") from e


def _read_capped(response: requests.Response, cap: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK):
        size += len(chunk)
        if size > cap:
            raise _Skip(f"over the {cap}-byte cap")
        if time.monotonic() > deadline:
            raise _Skip("too slow")
        chunks.append(chunk)
    return b"".join(chunks)


def sniff(data: bytes) -> str | None:
    """The image type the bytes start with, or None."""
    for signature, mime_type in _SIGNATURES:
        if data.startswith(signature):
            return mime_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
