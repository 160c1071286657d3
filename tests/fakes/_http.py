"""HTTP plumbing shared by the loopback fakes (`FakeMastodon`, `FeedServer`).

A fake subclasses `LoopbackService` for its start/stop lifecycle and `RequestHandler` for how a
request is turned into a `Reply`; everything else here, from binding 127.0.0.1 on an ephemeral
port to closing live keep-alive connections on stop, is the same for every fake.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

RequestRecord = tuple[str, str, dict[str, str], bytes]

AppT = TypeVar("AppT", bound="LoopbackService")


@dataclass
class Reply:
    """One answer: status, body and headers (Content-Length is added when it is sent)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackService:
    """The start/stop lifecycle of a fake served on 127.0.0.1 and an ephemeral port.

    Subclasses set `_label` (for messages and the thread name) and `clock`, and name their
    handler class in `_request_handler`; `_on_start`/`_on_stop` run just before the server is
    created and just before it is shut down."""

    _label: ClassVar[str]
    clock: Callable[[], float]
    _server: LoopbackServer[Any] | None = None
    _thread: threading.Thread | None = None

    def _request_handler(self) -> type[RequestHandler[Any]]:
        raise NotImplementedError

    def _on_start(self) -> None:
        pass

    def _on_stop(self) -> None:
        pass

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{self._label} is already running")
        self._on_start()
        self._server = LoopbackServer(self, self._request_handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # keeps shutdown() quick
            name=f"{self._label}:{self._server.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        self._on_stop()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self._label} is not running; call start() first")
        return f"http://127.0.0.1:{self._server.port}"


class LoopbackServer(ThreadingHTTPServer, Generic[AppT]):
    """ThreadingHTTPServer on 127.0.0.1:0 that can close its live connections on stop."""

    daemon_threads = True  # handler threads never block interpreter exit
    request_queue_size = 128  # a Celery worker pool may open many connections at once

    def __init__(self, app: AppT, handler: type[RequestHandler[AppT]]) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), handler)
        self.port: int = self.socket.getsockname()[1]

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup for server_name; loopback needs none.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.socket.getsockname()[1]

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handler threads parked on idle keep-alive connections or mid-fault."""
        with self._connections_lock:
            live = list(self._connections)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        # Clients vanishing mid-answer is the point of the fault tests; anything else is a bug.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler, Generic[AppT]):
    """Reads every request whole and hands it to `respond`; subclasses answer it."""

    protocol_version = "HTTP/1.1"  # keep-alive, so every answer with a body has Content-Length
    # Statuses answered without a body or Content-Length (a fake may opt in to 304's rule).
    bodyless_statuses: ClassVar[frozenset[int]] = frozenset()
    server: LoopbackServer[AppT]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded on the fake; stderr noise would only clutter test output

    def date_time_string(self, timestamp: float | None = None) -> str:
        # Date follows the fake's clock: clients correct rate-limit resets for clock skew with
        # it, and Last-Modified comes from the same clock, so If-Modified-Since stays sane.
        return formatdate(self.server.app.clock() if timestamp is None else timestamp, usegmt=True)

    def _dispatch(self) -> None:
        body = read_body(self)
        self.respond({k.lower(): v for k, v in self.headers.items()}, body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def respond(self, headers: dict[str, str], body: bytes) -> None:
        """Answer the request; `headers` has lower-cased names, `body` is read in full."""
        raise NotImplementedError

    def send_reply(self, reply: Reply) -> None:
        try:
            self._send(reply)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client gave up

    def _send(self, reply: Reply) -> None:
        bodyless = reply.status in self.bodyless_statuses
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if not bodyless:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD" and not bodyless:
            self.wfile.write(reply.body)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """Consume the whole body, so the next request on a keep-alive connection parses cleanly."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        return _read_chunked(handler)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def _read_chunked(handler: BaseHTTPRequestHandler) -> bytes:
    chunks: list[bytes] = []
    while size := int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
        chunks.append(handler.rfile.read(size))
        handler.rfile.readline()  # CRLF after each chunk
    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(chunks)
