"""A loopback web server that publishes feed documents the way blog hosts do.

It speaks the HTTP caching contract feed pollers rely on (RFC 9110 §13): strong ETags and
Last-Modified on 200, 304 for If-None-Match (which takes precedence) or If-Modified-Since, and
can misbehave on request: servers that ignore conditional headers, gzip with a weakened ETag
(as nginx does), redirects, gone documents, scripted error answers such as 410 or 429 with
Retry-After, and the hostile servers a fetcher must survive: a slow drip, an oversized body
(declared or streamed), a gzip bomb. `entity_bomb()` builds the quadratic-entity document.

Stdlib only (`ThreadingHTTPServer` on 127.0.0.1, ephemeral port); state sits behind one lock
because the end-to-end test polls it from a separate Celery worker process.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

from tests.fakes._http import LoopbackService, Reply, RequestHandler, RequestRecord

ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class _Document:
    body: bytes
    content_type: str
    etag: str
    last_modified: int  # whole seconds: an HTTP-date cannot say more
    headers: dict[str, str] = field(default_factory=dict)  # sent on 200 and 304 alike


@dataclass(frozen=True)
class _Redirect:
    location: str
    status: int


@dataclass(frozen=True)
class _Canned:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class _Stream:
    """A 200 whose body is written piece by piece, `interval` seconds apart. `length` is the
    Content-Length to declare; None sends the pieces chunked."""

    headers: dict[str, str]
    pieces: Callable[[], Iterator[bytes]]  # a fresh iterator per request
    interval: float = 0.0
    length: int | None = None


class FeedServer(LoopbackService):
    """Serves published documents by URL path (the query string is ignored, like a static host)."""

    _label = "FeedServer"

    def __init__(
        self,
        *,
        ignore_conditional: bool = False,
        gzip_responses: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Both flags may be flipped while the server runs.
        self.ignore_conditional = ignore_conditional
        self.gzip_responses = gzip_responses
        self.clock = clock
        self._lock = threading.Lock()
        self._init_state()

    def _init_state(self) -> None:
        self._documents: dict[str, _Document] = {}
        self._redirects: dict[str, _Redirect] = {}
        self._streams: dict[str, _Stream] = {}
        self._failures: defaultdict[str, deque[_Canned]] = defaultdict(deque)
        self._hits: defaultdict[str, int] = defaultdict(int)
        self._last_headers: dict[str, dict[str, str]] = {}
        self._requests: list[RequestRecord] = []

    # ----------------------------------------------------------------- lifecycle

    def _request_handler(self) -> type[_RequestHandler]:
        return _RequestHandler

    def url_for(self, path: str) -> str:
        return self.base_url + _normalise(path)

    # ------------------------------------------------------------------- content

    def publish(
        self,
        path: str,
        body: bytes,
        content_type: str = ATOM_CONTENT_TYPE,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Set or replace the document at `path`; a redirect or stream there is replaced too.
        `headers` are extra response headers, e.g. {"Cache-Control": "max-age=600"}.

        Last-Modified is the clock at publish time, so two publishes within one second share it
        (as on real hosts): only the ETag tells them apart."""
        digest = hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16]
        document = _Document(
            body, content_type, f'"{digest}"', int(self.clock()), dict(headers or {})
        )
        with self._lock:
            self._forget(_normalise(path))
            self._documents[_normalise(path)] = document

    def remove(self, path: str) -> None:
        """Forget whatever is served at `path`: it answers 404 from now on."""
        with self._lock:
            self._forget(_normalise(path))

    def _forget(self, path: str) -> None:
        self._documents.pop(path, None)
        self._redirects.pop(path, None)
        self._streams.pop(path, None)

    def redirect(self, path: str, to_path: str, status: int = 301) -> None:
        """Answer `path` with a redirect to `to_path`: a path on this server or an absolute URL."""
        if status not in _REDIRECT_STATUSES:
            raise ValueError(f"{status} is not a redirect status")
        location = to_path if "://" in to_path else self.url_for(to_path)
        with self._lock:
            self._redirects[_normalise(path)] = _Redirect(location, status)

    def fail_next(
        self,
        path: str,
        status: int,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        count: int = 1,
    ) -> None:
        """Answer the next `count` requests for `path` with this canned response (FIFO),
        e.g. `fail_next(p, 429, {"Retry-After": "120"})` or `fail_next(p, 410)`."""
        if count < 1:
            raise ValueError("count must be at least 1")
        canned_headers = dict(headers or {})
        if body and not any(k.lower() == "content-type" for k in canned_headers):
            canned_headers["Content-Type"] = "text/plain; charset=utf-8"
        canned = _Canned(status, canned_headers, body)
        with self._lock:
            self._failures[_normalise(path)].extend([canned] * count)

    def rate_limit_next(
        self, path: str, retry_after: int | datetime, *, status: int = 429, count: int = 1
    ) -> None:
        """Answer the next `count` requests with 429 (or 503) and Retry-After: delta-seconds
        for an int, an HTTP-date for a datetime (the Date header follows the fake's clock)."""
        if isinstance(retry_after, datetime):
            value = formatdate(retry_after.timestamp(), usegmt=True)
        else:
            value = str(retry_after)
        self.fail_next(path, status, {"Retry-After": value}, b"slow down", count=count)

    # ------------------------------------------------------------ hostile servers

    def drip(self, path: str, body: bytes, *, chunk: int = 16, interval: float = 0.05) -> None:
        """Serve `body` at `path` `chunk` bytes every `interval` seconds, with an honest
        Content-Length: each read is quick, so only a total time cap stops it."""
        pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]
        self._stream(path, _Stream(_ATOM, lambda: iter(pieces), interval, len(body)))

    def oversize(self, path: str, size: int, *, declared: bool = True) -> None:
        """Serve `size` bytes of filler at `path`, generated as it is sent (never held in
        memory): with Content-Length: size when `declared`, else chunked with no length, so
        only counting the bytes as they arrive can stop it."""
        self._stream(path, _Stream(_ATOM, lambda: _filler(size), 0.0, size if declared else None))

    def gzip_bomb(self, path: str, decoded_size: int = 50_000_000) -> None:
        """Serve at `path` a gzip body that inflates to `decoded_size` zero bytes (about a
        thousandth of that on the wire, under any sane cap), whatever Accept-Encoding says."""
        body = _gzipped_zeros(decoded_size)
        headers = _ATOM | {"Content-Encoding": "gzip"}
        self._stream(path, _Stream(headers, lambda: iter([body]), 0.0, len(body)))

    def _stream(self, path: str, stream: _Stream) -> None:
        with self._lock:
            self._forget(_normalise(path))
            self._streams[_normalise(path)] = stream

    # ------------------------------------------------------------- introspection

    def hits(self, path: str) -> int:
        """Requests received for `path`, whatever they were answered with."""
        with self._lock:
            return self._hits.get(_normalise(path), 0)

    def last_request_headers(self, path: str) -> dict[str, str]:
        """Headers of the latest request for `path`, names lower-cased (clients differ:
        urllib sends `If-none-match`, requests `If-None-Match`). KeyError if never requested."""
        with self._lock:
            try:
                return dict(self._last_headers[_normalise(path)])
            except KeyError:
                raise KeyError(f"no request for {path!r} yet") from None

    def etag(self, path: str) -> str:
        """The current strong ETag of the document at `path`."""
        with self._lock:
            return self._documents[_normalise(path)].etag

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received: (method, path-with-query, lower-cased headers, body)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget documents, redirects, streams, scripted failures and counters."""
        with self._lock:
            self._init_state()

    # ------------------------------------------------------------------ serving

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Reply | _Stream:
        """Answer one request; called from the server's handler threads."""
        path = urlsplit(target).path
        with self._lock:
            self._requests.append((method, target, headers, body))
            self._hits[path] += 1
            self._last_headers[path] = headers
            if method not in ("GET", "HEAD"):
                return Reply(405, b"Method Not Allowed", {"Allow": "GET, HEAD"} | _TEXT)
            if self._failures.get(path):
                canned = self._failures[path].popleft()
                return Reply(canned.status, canned.body, dict(canned.headers))
            if path in self._redirects:
                moved = self._redirects[path]
                return Reply(moved.status, b"", {"Location": moved.location})
            if path in self._streams:
                return self._streams[path]
            document = self._documents.get(path)
        if document is None:
            return Reply(404, b"Not Found", dict(_TEXT))
        return self._serve(document, headers)

    def _serve(self, document: _Document, headers: dict[str, str]) -> Reply:
        gzipped = self.gzip_responses and _accepts_gzip(headers)
        # nginx weakens a strong ETag when it compresses: the bytes are no longer the same.
        etag = f"W/{document.etag}" if gzipped else document.etag
        validators = document.headers | {
            "ETag": etag,
            "Last-Modified": formatdate(document.last_modified, usegmt=True),
        }
        if not self.ignore_conditional and _not_modified(headers, etag, document.last_modified):
            return Reply(304, b"", validators)
        reply = Reply(200, document.body, validators | {"Content-Type": document.content_type})
        if self.gzip_responses:
            reply.headers["Vary"] = "Accept-Encoding"
        if gzipped:
            reply.body = gzip.compress(document.body, mtime=0)  # mtime=0: same bytes every time
            reply.headers["Content-Encoding"] = "gzip"
        return reply


_TEXT = {"Content-Type": "text/plain; charset=utf-8"}
_ATOM = {"Content-Type": ATOM_CONTENT_TYPE}
_FILLER = b"x" * 65536


def entity_bomb(entity_size: int = 100_000, references: int = 2_000) -> bytes:
    """An RSS document whose DOCTYPE declares one entity of `entity_size` bytes and references
    it `references` times: about 0.11 MB that expands to 200 MB by default (a quadratic
    blow-up; no nesting, so billion-laughs guards do not see it). Never feed it to a parser
    in a test without stripping the DOCTYPE first."""
    reference = "&big;" * references
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<!DOCTYPE rss [<!ENTITY big "{"A" * entity_size}">]>\n'
        '<rss version="2.0"><channel><title>bomb</title><link>http://example.com/</link>'
        f"<item><title>bomb</title><description>{reference}</description></item>"
        "</channel></rss>\n"
    ).encode()


def _filler(size: int) -> Iterator[bytes]:
    for start in range(0, size, len(_FILLER)):
        yield _FILLER[: size - start]


def _gzipped_zeros(size: int) -> bytes:
    # Fed in 1 MiB blocks so that building a large bomb needs no more memory than serving it.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: gzip framing
    block = bytes(1 << 20)
    parts = [
        compressor.compress(block[: min(len(block), size - n)]) for n in range(0, size, len(block))
    ]
    return b"".join(parts) + compressor.flush()


def _normalise(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _accepts_gzip(headers: dict[str, str]) -> bool:
    for coding in headers.get("accept-encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip") and params.replace(" ", "") != "q=0":
            return True
    return False


def _not_modified(headers: dict[str, str], etag: str, last_modified: int) -> bool:
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) wins; If-Modified-Since only without it."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {_opaque(tag) for tag in if_none_match.split(",")}
        return "*" in tags or _opaque(etag) in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored, not an error
    return last_modified <= since.timestamp()


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


# ------------------------------------------------------------------- HTTP plumbing


class _RequestHandler(RequestHandler[FeedServer]):
    # A 304 has no body by definition, and its Content-Length would have to describe the
    # 200 representation (RFC 9110 §8.6), so it is left out.
    bodyless_statuses = frozenset({304})

    def respond(self, headers: dict[str, str], body: bytes) -> None:
        reply = self.server.app.handle(self.command, self.path, headers, body)
        if isinstance(reply, _Stream):
            self._send_stream(reply)
        else:
            self.send_reply(reply)

    def _send_stream(self, stream: _Stream) -> None:
        try:
            self._write_stream(stream)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client gave up, which is what a cap is for

    def _write_stream(self, stream: _Stream) -> None:
        chunked = stream.length is None
        self.send_response(200)
        for name, value in stream.headers.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(stream.length))
        self.end_headers()
        if self.command == "HEAD":
            return
        for piece in stream.pieces():
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            time.sleep(stream.interval)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        # Hang up like the hostile servers these imitate; a client never reuses the connection.
        self.close_connection = True
