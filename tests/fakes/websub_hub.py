"""A loopback WebSub hub (W3C Recommendation §5-§8), stdlib only.

It accepts subscription requests with 202, then verifies intent in the background the way a
hub does: a GET to the callback with a random `hub.challenge`, and the subscription counts only
if the body echoes it. `publish` POSTs content to verified subscribers, signed with
`X-Hub-Signature` (sha256 unless told otherwise; a wrong or missing signature on demand).
`deny` sends the `hub.mode=denied` notification. Its HMAC is computed here, independently of
the code under test.

Faults on demand: `answer` sets the status of its answer to a request; `redirect` answers every
request with a redirect (status and Location) instead, as a hub that moved does; `hold` queues
verifications until `release`, so a test can act while a renewal is waiting. A renewal replaces
the subscription (and so the secret the hub signs with) only once verified, as the spec says.
Anything that goes wrong inside the fake itself is kept in `errors`, for tests to assert empty.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from tests.fakes._http import LoopbackService, Reply, RequestHandler

DEFAULT_LEASE_SECONDS = 3600


@dataclass(frozen=True)
class Verification:
    mode: str
    topic: str
    callback: str
    status: int
    echoed: bool  # the callback answered 2xx with exactly the challenge


@dataclass
class Subscription:
    topic: str
    callback: str
    secret: str | None
    lease_seconds: int


class FakeHub(LoopbackService):
    _label = "FakeWebSubHub"

    def __init__(
        self,
        *,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,  # what it grants, whatever is asked
        answer: int = 202,  # the status of its answer to a (un)subscription request
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lease_seconds = lease_seconds
        self.answer = answer
        self.redirect: tuple[int, str] | None = None  # (status, Location) for every request
        self.hold = False  # queue verifications until release()
        self.clock = clock
        self.requests: list[dict[str, str]] = []
        self.raw_requests: list[tuple[str, dict[str, str], bytes]] = []  # method, headers, body
        self.errors: list[str] = []
        self._held: list[dict[str, str]] = []
        self.verifications: list[Verification] = []
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def _request_handler(self) -> type[_Handler]:
        return _Handler

    @property
    def url(self) -> str:
        return f"{self.base_url}/"

    def request(self, form: dict[str, str]) -> Reply:
        with self._lock:
            if self.redirect is not None:
                status, location = self.redirect
                return Reply(status, headers={"Location": location})
            self.requests.append(form)
            if self.answer == 202 and self.hold:
                self._held.append(form)
        if self.answer == 202 and not self.hold:
            self._start_verification(form)
        return Reply(self.answer)

    def release(self) -> None:
        """Verify every request held since `hold` was set, and stop holding."""
        with self._lock:
            held, self._held, self.hold = self._held, [], False
        for form in held:
            self._start_verification(form)

    def _start_verification(self, form: dict[str, str]) -> None:
        threading.Thread(target=self._verify_recorded, args=(form,), daemon=True).start()

    def _verify_recorded(self, form: dict[str, str]) -> None:
        try:
            self._verify(form)
        except Exception:  # a bug in the fake: kept for the test to see, not lost in a thread
            with self._changed:
                self.errors.append(traceback.format_exc())
                self._changed.notify_all()

    def _verify(self, form: dict[str, str]) -> None:
        mode, topic, callback = form["hub.mode"], form["hub.topic"], form["hub.callback"]
        challenge = secrets.token_urlsafe(16)
        query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            query["hub.lease_seconds"] = str(self.lease_seconds)
        status, body = _get(callback, query)
        echoed = 200 <= status < 300 and body == challenge.encode()
        with self._changed:
            self.verifications.append(Verification(mode, topic, callback, status, echoed))
            if echoed and mode == "subscribe":
                secret = form.get("hub.secret")
                sub = Subscription(topic, callback, secret, self.lease_seconds)
                self.subscriptions[(topic, callback)] = sub
            elif echoed and mode == "unsubscribe":
                self.subscriptions.pop((topic, callback), None)
            self._changed.notify_all()

    def wait_verified(self, count: int = 1, timeout: float = 5.0) -> list[Verification]:
        """Block until `count` verifications were attempted; return them all."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.verifications) >= count, timeout):
                raise TimeoutError(f"{len(self.verifications)} of {count} verification(s)")
            return list(self.verifications)

    def deny(self, topic: str, callback: str, reason: str = "not allowed") -> int:
        status, _ = _get(callback, {"hub.mode": "denied", "hub.topic": topic, "hub.reason": reason})
        with self._lock:
            self.subscriptions.pop((topic, callback), None)
        return status

    def publish(
        self,
        topic: str,
        body: bytes,
        content_type: str = "application/atom+xml",
        *,
        method: str = "sha256",
        signature: str | None = None,
        unsigned: bool = False,
        secret: str | None = None,
    ) -> list[int]:
        """POST `body` to each verified subscriber of `topic`; their answers' statuses.
        `signature` replaces the real one (a wrong signature); `unsigned` sends none; `secret`
        signs with that secret instead of the subscription's (a stale one, say)."""
        with self._lock:
            subscribers = [s for s in self.subscriptions.values() if s.topic == topic]
        statuses = []
        for sub in subscribers:
            headers = {"Content-Type": content_type, "Link": f'<{topic}>; rel="self"'}
            key = secret or sub.secret
            if key and not unsigned:
                digest = hmac.new(key.encode(), body, getattr(hashlib, method)).hexdigest()
                headers["X-Hub-Signature"] = signature or f"{method}={digest}"
            statuses.append(_post(sub.callback, body, headers))
        return statuses

    def post_raw(self, callback: str, body: bytes, headers: dict[str, str]) -> int:
        """POST anything to a callback, as an attacker who knows its URL might."""
        return _post(callback, body, headers)


class _Handler(RequestHandler[FakeHub]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        with self.server.app._lock:
            self.server.app.raw_requests.append((self.command, headers, body))
        if self.command != "POST":
            self.send_reply(Reply(405))
            return
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if {"hub.mode", "hub.topic", "hub.callback"} - set(form):
            self.send_reply(Reply(400, b"hub.mode, hub.topic and hub.callback are required"))
            return
        self.send_reply(self.server.app.request(form))


def _get(url: str, query: dict[str, str]) -> tuple[int, bytes]:
    sep = "&" if "?" in url else "?"
    return _open(urllib.request.Request(f"{url}{sep}{urlencode(query)}"))


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return _open(urllib.request.Request(url, data=body, headers=headers, method="POST"))[0]


def _open(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
