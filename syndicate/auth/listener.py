"""The local redirect listener: where the platform sends the browser back after consent.

It listens on 127.0.0.1 only, answers the first request to its callback path and then stops
listening for good, and accepts that request only when it carries the value the flow expects
(OAuth 2.0 `state`, OAuth 1.0a `oauth_token`), compared in constant time.
"""

from __future__ import annotations

import hmac
import html
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from syndicate.auth.common import SetupError

CALLBACK_PATH = "/callback"
_PAGE = "<!doctype html><meta charset=utf-8><title>syndicate</title><p>{}</p>"


@dataclass(frozen=True)
class Callback:
    """The query of the redirect, once it passed the checks."""

    params: Mapping[str, str] = field(repr=False)


class RedirectListener:
    """`with RedirectListener(port, timeout) as listener:` then `expect(...)`, `wait()`."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self._expected: dict[str, str] = {}
        self._outcome: queue.Queue[Callback | SetupError] = queue.Queue(maxsize=1)
        self._answered = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def expect(self, **params: str) -> None:
        """Values the redirect must carry (e.g. state=...), set before the browser is sent."""
        self._expected = dict(params)

    def wait(self) -> Callback:
        try:
            outcome = self._outcome.get(timeout=self.timeout)
        except queue.Empty:
            raise SetupError(
                f"no redirect reached {self.redirect_uri} within {self.timeout:g}s; "
                "run the command again and approve access in the browser"
            ) from None
        if isinstance(outcome, SetupError):
            raise outcome
        return outcome

    def __enter__(self) -> Self:
        try:
            self._server = _Server(("127.0.0.1", self.port), _Handler, self)
        except OSError as e:
            raise SetupError(
                f"cannot listen on 127.0.0.1:{self.port} for the redirect ({e.strerror}); "
                "pass --port with a free port (registered as a redirect URI with the app)"
            ) from e
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def judge(self, query: str) -> tuple[int, str]:
        """Decide one callback request: the HTTP status and the sentence the browser shows."""
        if not self._answered.acquire(blocking=False):
            return 409, "This sign-in was already answered; return to the terminal."
        params = dict(parse_qsl(query, keep_blank_values=True))
        outcome = self._check(params)
        self._outcome.put(outcome)
        if isinstance(outcome, Callback):
            return 200, "Done: syndicate has the authorization. Return to the terminal."
        return 400, f"Refused: {outcome} Return to the terminal."

    def _check(self, params: Mapping[str, str]) -> Callback | SetupError:
        if "denied" in params and "oauth_token" not in params:
            # OAuth 1.0a's refusal names the request token as `denied` (X; Tumblr unverified).
            params = {**params, "oauth_token": params["denied"]}
        for name, expected in self._expected.items():
            if not hmac.compare_digest(params.get(name, "").encode(), expected.encode()):
                return SetupError(
                    f"the redirect's {name} does not match this sign-in; refused "
                    "(a stale browser tab, or someone else's link). Run the command again."
                )
        if "error" in params or "denied" in params:
            reason = params.get("error_description") or params.get("error") or "denied"
            return SetupError(f"access was not granted ({_printable(reason)}).")
        return Callback(params)


def _printable(text: str, limit: int = 200) -> str:
    """The platform's words, but never a terminal escape sequence."""
    return "".join(c if c.isprintable() else " " for c in text)[:limit]


class _Server(HTTPServer):
    def __init__(self, address: tuple[str, int], handler: Any, owner: RedirectListener) -> None:
        self.owner = owner
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self._answer(404, "Not found.")
            return
        status, sentence = self.server.owner.judge(parts.query)
        self._answer(status, sentence)

    def _answer(self, status: int, sentence: str) -> None:
        body = _PAGE.format(html.escape(sentence)).encode()  # it quotes the platform
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default writes the request line, code and all, to stderr
