"""A loopback webhook receiver, and the fault script the Tumblr fake shares with it.

`FakeWebhook` receives POSTs on any path the way three kinds of receiver do: `flavor="json"`
(our own contract: the HMAC-SHA256 `X-Syndicate-Signature` checked over the raw body, a JSON
answer with `id` and `url`), `"slack"` (an incoming webhook: `{"text"}`, answers `ok`) and
`"discord"` (`{"content"}` of at most 2,000 characters, answers 204). With `dedupe=True` it
drops repeats of `X-Syndicate-Delivery` and answers as it did the first time.

`FaultScript` and `FaultyHandler` are the common fault API of the platform brief
(`fail_next`, `set_random_faults`, `violations`), written once for both fakes of this module
and tests/fakes/tumblr.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import socket
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from tests.fakes import _http
from tests.fakes._http import AppT, LoopbackService, RequestHandler, RequestRecord

FaultKind = Literal["status", "rate_limit", "unauthorized", "hang", "drop", "reset"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
# Faults that stop the request before the service would process it: nothing is stored.
REFUSING_FAULTS = frozenset({"status", "rate_limit", "unauthorized", "reset"})
_RANDOM_STATUSES = (500, 502, 503, 504)
Action = Literal["send", "hang", "drop", "reset"]
Flavor = Literal["json", "slack", "discord"]
DISCORD_LIMIT = 2000
_FIRST_ID = 7_000_001


# --------------------------------------------------------------------- the fault script


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 500
    reset_in: float = 60.0
    hang_seconds: float = 30.0


@dataclass
class Reply(_http.Reply):
    """What to answer, and how: `action` lets a fault misbehave at the socket level."""

    action: Action = "send"
    delay: float = 0.0


class FaultScript:
    """Scripted and random faults for post-creating requests, and the rate-limit bookkeeping
    behind `violations`. Not locked: the fake calls it under its own lock."""

    def __init__(self) -> None:
        self.queue: deque[Fault] = deque()
        self.rates: dict[str, float] = {}
        self.random = random.Random(0)
        self.reset_range = (1.0, 3.0)
        self.limited_until: dict[str, float] = {}  # account -> end of its last 429 window
        self.violations: list[str] = []

    def add(self, fault: Fault, count: int) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {fault.kind!r}; expected one of {sorted(FAULT_KINDS)}"
            )
        if count < 1:
            raise ValueError("count must be at least 1")
        self.queue.extend([fault] * count)

    def set_random(
        self, rates: Mapping[str, float], seed: int, reset_in: tuple[float, float]
    ) -> None:
        unknown = set(rates) - FAULT_KINDS
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        if any(r < 0 for r in rates.values()) or sum(rates.values()) > 1:
            raise ValueError("fault rates are probabilities that sum to at most 1")
        self.rates = dict(sorted(rates.items()))
        self.random = random.Random(seed)
        self.reset_range = reset_in

    def next(self) -> Fault | None:
        """The next scripted fault, else one drawn at the configured rates, else None."""
        if self.queue:
            return self.queue.popleft()
        draw, total = self.random.random(), 0.0
        for kind, rate in self.rates.items():
            total += rate
            if draw < total:
                return Fault(
                    kind,
                    status=self.random.choice(_RANDOM_STATUSES),
                    reset_in=self.random.uniform(*self.reset_range),
                )
        return None

    def limited(self, account: str, until: float) -> None:
        """A 429 told `account` to wait until `until`."""
        self.limited_until[account] = max(until, self.limited_until.get(account, 0.0))

    def check(self, account: str, now: float, what: str) -> None:
        """Record a post-creating request that came before the account's reset."""
        until = self.limited_until.get(account)
        if until is not None and now < until:
            self.violations.append(f"{what} for {account} at {now:.3f}, {until - now:.3f}s early")


class FaultyHandler(RequestHandler[AppT]):
    """Sends a `Reply`, or misbehaves at the socket level as its `action` says."""

    def answer(self, reply: Reply, stopping: threading.Event) -> None:
        if reply.action == "reset":
            # SO_LINGER 0 makes close() send RST instead of FIN.
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.close()
            self.close_connection = True
            return
        if reply.action == "drop":
            self.close_connection = True  # the socket closes with no status line sent
            return
        if reply.action == "hang":
            stopping.wait(reply.delay)  # stop() ends a hang at once
        self.send_reply(reply)


# ------------------------------------------------------------------------- the receiver


@dataclass(frozen=True)
class Delivery:
    """One delivery the receiver accepted."""

    id: str
    path: str
    key: str  # X-Syndicate-Delivery
    text: str  # what a reader sees: text (json, slack) or content (discord)
    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float


class FakeWebhook(LoopbackService):
    """A webhook receiver on 127.0.0.1; any path is a hook (one path per account)."""

    _label = "FakeWebhook"

    def __init__(
        self,
        *,
        secret: str = "",
        flavor: Flavor = "json",
        dedupe: bool = False,
        public_host: str = "hooks.example",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.flavor = flavor
        self.dedupe = dedupe
        self.public_host = public_host
        self.clock = clock
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._next_id = _FIRST_ID
        self._init_state()

    def _init_state(self) -> None:
        self._posts: list[Delivery] = []
        self._answers: dict[str, Reply] = {}  # delivery key -> first answer (dedupe)
        self._requests: list[RequestRecord] = []
        self._errors: list[str] = []
        self._faults = FaultScript()

    def _request_handler(self) -> type[_Handler]:
        return _Handler

    def _on_start(self) -> None:
        self.stopping.clear()

    def _on_stop(self) -> None:
        self.stopping.set()

    def url_for(self, path: str = "/hooks/blog") -> str:
        return f"{self.base_url}{path}"

    # ----------------------------------------------------------- introspection

    @property
    def posts(self) -> list[Delivery]:
        """Accepted deliveries, oldest first (a deduplicated repeat is not stored again)."""
        with self._lock:
            return list(self._posts)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of bugs inside the fake (answered as 500)."""
        with self._lock:
            return list(self._errors)

    @property
    def violations(self) -> list[str]:
        """Deliveries that arrived for a hook before the reset its 429 named."""
        with self._lock:
            return list(self._faults.violations)

    def posts_with_link(self, url: str) -> int:
        with self._lock:
            return sum(1 for p in self._posts if url in json.dumps(p.body, ensure_ascii=False))

    def reset(self) -> None:
        with self._lock:
            self._init_state()

    # ----------------------------------------------------------- fault injection

    def fail_next(
        self,
        kind: FaultKind,
        *,
        count: int = 1,
        status: int = 500,
        reset_in: float = 60.0,
        hang_seconds: float = 30.0,
    ) -> None:
        """Script the next `count` deliveries: status (answer `status`, store nothing),
        rate_limit (429 with Retry-After), unauthorized (401), hang (store, then wait),
        drop (store, close unanswered), reset (TCP RST, nothing stored)."""
        with self._lock:
            self._faults.add(Fault(kind, status, reset_in, hang_seconds), count)

    def set_random_faults(
        self,
        rates: Mapping[str, float],
        *,
        seed: int = 0,
        reset_in: tuple[float, float] = (1.0, 3.0),
    ) -> None:
        with self._lock:
            self._faults.set_random(rates, seed, reset_in)

    # ------------------------------------------------------------------ handling

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            self._requests.append(("POST", path, dict(headers), body))
            try:
                return self._respond(path, headers, body)
            except Exception as exc:
                self._errors.append(traceback.format_exc())
                return Reply(500, f"fake webhook crashed: {exc!r}".encode())

    def _respond(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        now = self.clock()
        self._faults.check(path, now, "delivery")
        fault = self._faults.next()
        if fault is not None and fault.kind in REFUSING_FAULTS:
            return self._refuse(path, fault, now)
        reply = self._receive(path, headers, body)
        if fault is not None:  # hang or drop: received and stored, only the answer fails
            # A copy: the stored answer a repeat gets back must not hang or drop too.
            action: Action = "hang" if fault.kind == "hang" else "drop"
            return replace(reply, action=action, delay=fault.hang_seconds)
        return reply

    def _refuse(self, path: str, fault: Fault, now: float) -> Reply:
        if fault.kind == "reset":
            return Reply(0, action="reset")
        if fault.kind == "rate_limit":
            wait = max(1, round(fault.reset_in))  # Retry-After takes whole seconds
            self._faults.limited(path, now + wait)
            return _text(429, "rate limited", {"Retry-After": str(wait)})
        if fault.kind == "unauthorized":
            return _text(401, "invalid signature")
        return _text(fault.status, "receiver error")

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        problem = self._refusal(headers, body)
        if problem is not None:
            return problem
        key = headers["x-syndicate-delivery"]
        if self.dedupe and key in self._answers:
            return self._answers[key]
        payload = json.loads(body)
        delivery_id = str(self._next_id)
        self._next_id += 1
        text = str(payload.get("content" if self.flavor == "discord" else "text", ""))
        self._posts.append(
            Delivery(delivery_id, path, key, text, payload, dict(headers), self.clock())
        )
        reply = self._accepted(delivery_id)
        self._answers[key] = reply
        return reply

    def _refusal(self, headers: dict[str, str], body: bytes) -> Reply | None:
        """Why this delivery is refused, as the receiver would say it; None to accept."""
        if not headers.get("content-type", "").startswith("application/json"):
            return _text(415, "expected application/json")
        if self.secret and not hmac.compare_digest(
            headers.get("x-syndicate-signature", ""), signature(self.secret, body)
        ):
            return _text(401, "invalid signature")
        if not headers.get("x-syndicate-timestamp", "").isdigit():
            return _text(400, "missing X-Syndicate-Timestamp")
        if not headers.get("x-syndicate-delivery"):
            return _text(400, "missing X-Syndicate-Delivery")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _text(400, "invalid JSON")
        if not isinstance(payload, dict):
            return _text(400, "expected a JSON object")
        return self._flavor_refusal(payload)

    def _flavor_refusal(self, payload: dict[str, Any]) -> Reply | None:
        if self.flavor == "slack" and not str(payload.get("text") or "").strip():
            return _text(400, "no_text")
        if self.flavor == "discord":
            content = str(payload.get("content") or "")
            if not content.strip():
                return _json(400, {"message": "Cannot send an empty message", "code": 50006})
            if len(content) > DISCORD_LIMIT:
                return _json(400, {"message": "Invalid Form Body", "code": 50035})
        if self.flavor == "json" and not (payload.get("text") and payload.get("key")):
            return _json(422, {"error": "text and key are required"})
        return None

    def _accepted(self, delivery_id: str) -> Reply:
        if self.flavor == "slack":
            return _text(200, "ok")
        if self.flavor == "discord":
            return Reply(204)
        url = f"https://{self.public_host}/deliveries/{delivery_id}"
        return _json(200, {"id": delivery_id, "url": url})


def signature(secret: str, body: bytes) -> str:
    """The X-Syndicate-Signature a receiver expects for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, text.encode(), {"Content-Type": "text/plain", **(headers or {})})


def _json(status: int, payload: object) -> Reply:
    return Reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


class _Handler(FaultyHandler[FakeWebhook]):
    bodyless_statuses = frozenset({204})

    def respond(self, headers: dict[str, str], body: bytes) -> None:
        app = self.server.app
        if self.command != "POST":
            self.send_reply(_text(405, "POST only"))
            return
        self.answer(app.handle(urlsplit(self.path).path, headers, body), app.stopping)
