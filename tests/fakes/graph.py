"""What the Graph API fakes share: `FakeFacebook` (Pages) and `FakeThreads` speak one dialect.

Meta's Graph API (reference/platforms.md §8.2, §10.3) takes the access token as a parameter,
query and form values alike, answers every failure with the envelope `{"error": {"message",
"type", "code", "error_subcode", "is_transient", "fbtrace_id"}}` (the HTTP status is a poor
guide: rate limits come as 400 or 403) and reports usage in JSON headers whose
`estimated_time_to_regain_access` is in minutes. This base holds that dialect, the request
records, an hourly call quota per account, and the fault injection every platform fake offers
alike (`fail_next`, `set_random_faults`, `violations`, `faults_injected`, from `faults.py`);
subclasses add routes and state.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes._http import LoopbackService, RequestHandler, RequestRecord
from tests.fakes.faults import REFUSING_FAULTS, Fault, FaultKind, FaultPlan, Reply, ResetWatch
from tests.fakes.faults import answer as deliver

__all__ = ["FaultKind", "GraphFake", "GraphRequest", "Reply", "json_reply", "select"]

# Gateways in front of the Graph API answer these in HTML, without the envelope.
GATEWAY_STATUSES = frozenset({502, 504})


@dataclass(frozen=True)
class GraphRequest:
    """One request as routing sees it: `params` merges query and body values (first wins)."""

    method: str
    target: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def token(self) -> str:
        return self.params.get("access_token", "")

    def fields(self) -> list[str]:
        return split_fields(self.params.get("fields", ""))


@dataclass
class _Quota:
    """Calls per account in the current hour, as the usage headers report them."""

    limit: int
    window: float = 3600.0
    calls: dict[tuple[str, int], int] = field(default_factory=dict)

    def charge(self, account: str, now: float) -> int:
        period = int(now // self.window)
        self.calls = {k: v for k, v in self.calls.items() if k[1] == period}
        used = self.calls.get((account, period), 0) + 1
        self.calls[(account, period)] = used
        return used

    def percent(self, account: str, now: float) -> int:
        return self.calls.get((account, int(now // self.window)), 0) * 100 // self.limit

    def window_end(self, now: float) -> float:
        return (now // self.window + 1) * self.window


class GraphFake(LoopbackService):
    """The Graph dialect, faults and records; subclasses route requests to their state."""

    usage_type: str = "pages"
    rate_limit_code: int = 32
    rate_limit_message: str = "(#32) Page request limit reached"

    def __init__(self, *, clock: Callable[[], float], call_limit: int) -> None:
        self.clock = clock
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._quota = _Quota(call_limit)
        self._traces = itertools.count(1)
        self._init_faults()

    def _init_faults(self) -> None:
        self._requests: list[RequestRecord] = []
        self._errors: list[str] = []
        self._plan = FaultPlan()
        self._read_plan = FaultPlan()
        self._resets = ResetWatch()

    # ------------------------------------------------------- subclass hooks

    def route(self, req: GraphRequest) -> Reply:
        raise NotImplementedError

    def account_of(self, req: GraphRequest) -> str:
        """The account a request is charged to (the Page, the Threads user)."""
        raise NotImplementedError

    def creates_post(self, req: GraphRequest) -> bool:
        """Whether the request makes a post public: faults apply to these."""
        raise NotImplementedError

    def writes(self, req: GraphRequest) -> bool:
        """Whether the request must wait out a rate limit (a violation otherwise)."""
        return req.method == "POST"

    # --------------------------------------------------------- lifecycle

    def _request_handler(self) -> type[_GraphHandler]:
        return _GraphHandler

    def _on_start(self) -> None:
        self.stopping.clear()

    def _on_stop(self) -> None:
        self.stopping.set()

    # ------------------------------------------------------ introspection

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received: (method, path-with-query, lower-cased headers, body)."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of bugs inside the fake (answered as 500); tests assert it is empty."""
        with self._lock:
            return list(self._errors)

    @property
    def violations(self) -> list[str]:
        """Writes that arrived for an account before the rate-limit reset it was told."""
        with self._lock:
            return self._resets.violations

    @property
    def faults_injected(self) -> dict[str, int]:
        """Faults given so far to post-creating requests (scripted and random), by kind."""
        with self._lock:
            return self._plan.injected

    # ---------------------------------------------------------- faults

    def fail_next(
        self,
        kind: FaultKind,
        *,
        count: int = 1,
        status: int = 500,
        reset_in: float = 60.0,
        hang_seconds: float = 30.0,
    ) -> None:
        """Script the next `count` post-creating requests (FIFO after faults already queued).

        status: answer `status`, store nothing (5xx in the envelope with is_transient, but
          502/504 as a gateway's HTML page; 4xx as code 100).
        rate_limit: the platform's rate-limit error with usage headers saying the minutes
          until now + reset_in; the account's writes are refused until then.
        unauthorized: code 190, as for a token invalidated by a password change.
        hang: process and store, then wait `hang_seconds` before answering.
        drop: process and store, then close the socket without answering.
        reset: close the socket with a TCP RST without processing anything.
        """
        with self._lock:
            self._plan.script(
                kind, count=count, status=status, reset_in=reset_in, hang_seconds=hang_seconds
            )

    def fail_next_read(
        self,
        kind: FaultKind,
        *,
        count: int = 1,
        status: int = 502,
        hang_seconds: float = 30.0,
    ) -> None:
        """Script the next `count` GET requests (the lookups of a reconciliation) the way
        `fail_next` scripts posts: a lookup that times out or meets a gateway cannot tell."""
        with self._lock:
            self._read_plan.script(kind, count=count, status=status, hang_seconds=hang_seconds)

    def set_random_faults(
        self,
        rates: Mapping[str, float],
        *,
        seed: int = 0,
        reset_in: tuple[float, float] = (1.0, 3.0),
    ) -> None:
        """Give post-creating requests without a scripted fault one at random: `rates` are
        probabilities per request by kind ({} turns random faults off)."""
        with self._lock:
            self._plan.set_random(rates, seed=seed, reset_in=reset_in)

    def reset_faults(self) -> None:
        """Forget requests, errors, violations, faults and rate-limit blocks."""
        with self._lock:
            self._init_faults()

    # -------------------------------------------------------- dispatch

    def handle(self, req: GraphRequest) -> Reply:
        """Answer one request; called from the server's handler threads."""
        with self._lock:
            self._requests.append((req.method, req.target, dict(req.headers), req.body))
            try:
                return self._respond(req)
            except Exception as exc:
                # A bug in the fake must fail tests visibly, not pass as a platform outage.
                self._errors.append(traceback.format_exc())
                return self.error(500, 1, f"fake crashed: {exc!r}", transient=True)

    def _respond(self, req: GraphRequest) -> Reply:
        account = self.account_of(req)
        now = self.clock()
        if self.writes(req):
            early = self._resets.early(account, now, f"{req.method} {req.path}")
            if early is not None:
                return self._throttled(account, early - now)
        if self._quota.charge(account, now) > self._quota.limit:
            return self._throttled(account, self._quota.window_end(now) - now)
        fault = self._next_fault(req)
        if fault is not None and fault.kind in REFUSING_FAULTS:
            return self._refuse(fault, account)
        reply = self.route(req)
        reply.headers.update(self.usage_headers(account, 0))
        if fault is not None:  # hang or drop: the request was processed, only the answer fails
            reply.action = "hang" if fault.kind == "hang" else "drop"
            reply.delay = fault.hang_seconds
        return reply

    def _next_fault(self, req: GraphRequest) -> Fault | None:
        if req.method == "GET":
            return self._read_plan.next()
        return self._plan.next() if self.creates_post(req) else None

    def _refuse(self, fault: Fault, account: str) -> Reply:
        if fault.kind == "reset":
            return Reply(0, action="reset")
        if fault.kind == "rate_limit":
            return self._throttled(account, fault.reset_in)
        if fault.kind == "unauthorized":
            return self.token_error(460, "The session has been invalidated by a password change.")
        if fault.status in GATEWAY_STATUSES:
            page = b"<html><body><h1>Bad Gateway</h1></body></html>"
            return Reply(fault.status, page, {"Content-Type": "text/html"})
        if fault.status >= 500:
            message = "An unexpected error has occurred. Please retry your request later."
            return self.error(fault.status, 2, message, transient=True)
        return self.error(fault.status, 100, "(#100) Invalid parameter")

    def _throttled(self, account: str, seconds: float) -> Reply:
        """The rate-limit error; the account's writes wait for the whole minutes it names."""
        minutes = max(1, math.ceil(seconds / 60))
        self._resets.announce(account, self.clock() + minutes * 60)
        status = 403 if self.rate_limit_code == 4 else 400
        reply = self.error(status, self.rate_limit_code, self.rate_limit_message, transient=True)
        reply.headers.update(self.usage_headers(account, minutes))
        return reply

    # -------------------------------------------------------- answers

    def usage_headers(self, account: str, regain_minutes: int) -> dict[str, str]:
        percent = 100 if regain_minutes else self._quota.percent(account, self.clock())
        usage = {
            "type": self.usage_type,
            "call_count": percent,
            "total_cputime": percent // 2,
            "total_time": percent // 2,
            "estimated_time_to_regain_access": regain_minutes,
        }
        return {"X-Business-Use-Case-Usage": json.dumps({account: [usage]})}

    def error(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        transient: bool = False,
        user_title: str = "",
        user_msg: str = "",
    ) -> Reply:
        """The Graph error envelope (reference §8.2)."""
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        error["is_transient"] = transient
        if user_title:
            error["error_user_title"], error["error_user_msg"] = user_title, user_msg
        error["fbtrace_id"] = f"AfakeTrace{next(self._traces):06d}"
        return json_reply(status, {"error": error})

    def token_error(self, subcode: int | None, detail: str) -> Reply:
        reply = self.error(400, 190, f"Error validating access token: {detail}", subcode=subcode)
        reply.headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token"'
        return reply

    def unknown_path(self, req: GraphRequest) -> Reply:
        return self.error(400, 2500, f"Unknown path components: {req.path}")


def json_reply(status: int, payload: object) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": "application/json; charset=UTF-8"})


def select(obj: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    """The Graph API answers `id` plus the fields asked for, and only those it has."""
    return {"id": obj["id"]} | {f: obj[f] for f in fields if f in obj and obj[f] is not None}


def split_fields(value: str) -> list[str]:
    """Top-level names of a `fields` value: "id,attachments{url,unshimmed_url}" -> id,
    attachments (nested selections are answered whole)."""
    names, depth, current = [], 0, ""
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            names.append(current)
            current = ""
        elif depth == 0 and char != "}":
            current += char
    names.append(current)
    return [name.strip() for name in names if name.strip()]


def limit_param(req: GraphRequest, default: int = 25, most: int = 100) -> int:
    try:
        return min(max(int(req.params.get("limit", default)), 1), most)
    except ValueError:
        return default


def parse_params(query: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" and body:
        data = json.loads(body)
        if isinstance(data, dict):
            params.update({str(k): str(v) for k, v in data.items()})
    elif body:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update({k: v[0] for k, v in form.items()})
    return params


class _GraphHandler(RequestHandler[GraphFake]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        split = urlsplit(self.path)
        try:
            params = parse_params(split.query, headers, body)
        except ValueError:
            self.send_reply(self.server.app.error(400, 100, "(#100) Invalid JSON body"))
            return
        request = GraphRequest(self.command, self.path, split.path, params, headers, body)
        deliver(self, self.server.app.handle(request), self.server.app.stopping)
