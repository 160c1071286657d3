"""A stateful loopback fake of LinkedIn's Posts API, OIDC userinfo and token endpoint
(reference/platforms.md §7, §11).

Contract followed: Bearer tokens that expire by the fake's clock (401 65602) or are revoked
(401 65601); `LinkedIn-Version` required and active for about 12 months (426), `X-Restli-
Protocol-Version: 2.0.0` required; `POST /rest/posts` answers 201 with an empty body and the
post URN in `x-restli-id`; commentary up to 3,000 UTF-16 units after escaping (the
publisher's own counter); the same commentary again from one author is 422 DUPLICATE_POST
naming the first post; the `q=author` finder lists posts newest first (403 without read
scope); `POST /oauth/v2/accessToken` refreshes (LinkedIn returns the same refresh token;
`rotate_refresh=True` issues single-use ones instead). LinkedIn sends no rate-limit headers:
a 429 carries only the error body. The stored `visible` text emulates LinkedIn cutting a post
at its first unescaped reserved character, so escaping bugs show.

Wording of bodies marked "unverified" in the reference may differ from LinkedIn's; only the
status and the codes matter to the publisher.
"""

from __future__ import annotations

import copy
import json
import random
import re
import socket
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args
from urllib.parse import parse_qs, urlsplit

from syndicate.platforms.textlen import find_urls, linkedin_length
from tests.fakes import _http
from tests.fakes._http import LoopbackService, RequestHandler

FaultKind = Literal["status", "rate_limit", "unauthorized", "hang", "drop", "reset"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
# Faults that stop a request before LinkedIn would process it: nothing is stored.
_REFUSING_FAULTS = frozenset({"status", "rate_limit", "unauthorized", "reset"})
LIMIT = 3000
SCOPE = "email,openid,profile,w_member_social"
_FIRST_POST_ID = 7_141_138_937_766_391_808  # real share ids are 19 digits
Action = Literal["send", "hang", "drop", "reset"]
# The "little" text format's reserved characters (reference §7.2).
_RESERVED = frozenset("|{}@[]()<>#\\*_~")
_HASHTAG = re.compile(r"#\w")


@dataclass(frozen=True)
class Request:
    """One parsed request. Header names are lower-case."""

    method: str
    target: str  # path and query exactly as sent
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        pairs = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in pairs.items()}


@dataclass
class Reply(_http.Reply):
    """What to answer, and how: `action` lets a fault misbehave at the socket level."""

    action: Action = "send"
    delay: float = 0.0


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int
    reset_in: float
    hang_seconds: float


@dataclass
class _Grant:
    member: str
    expires_at: float
    revoked: bool = False


class FakeLinkedIn(LoopbackService):
    """One member (`urn:li:person:{member_id}`) who administers `organizations`."""

    _label = "FakeLinkedIn"

    def __init__(
        self,
        *,
        member_id: str = "782bbtaQ",
        name: str = "Ada Lovelace",
        organizations: Collection[str] = ("2414183",),
        access_token: str = "li-access-token",
        refresh_token: str = "li-refresh-token",
        client_id: str = "li-client",
        client_secret: str = "li-client-secret",
        access_ttl: float = 60 * 86400.0,
        refresh_ttl: float = 365 * 86400.0,
        rotate_refresh: bool = False,
        read_scope: bool = True,
        daily_limit: int | None = None,
        active_versions: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.member_id, self.name = member_id, name
        self.organizations = frozenset(organizations)
        self.client_id, self.client_secret = client_id, client_secret
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl
        self.rotate_refresh, self.read_scope = rotate_refresh, read_scope
        self.daily_limit = daily_limit
        self.active_versions = None if active_versions is None else frozenset(active_versions)
        self.clock = clock
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._next_id = _FIRST_POST_ID
        self._issued = 0
        self._first_tokens = (access_token, refresh_token)
        self._init_state()

    def _init_state(self) -> None:
        access, refresh = self._first_tokens
        now = self.clock()
        self._grants = {access: _Grant(self.member_id, now + self.access_ttl)}
        self._refresh_tokens = {refresh: now + self.refresh_ttl}
        self._posts: list[dict[str, Any]] = []
        self._requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self._errors: list[str] = []
        self._faults: deque[Fault] = deque()
        self._random: tuple[random.Random, dict[str, float], tuple[float, float]] | None = None
        self._throttled_until: dict[str, float] = {}
        self.violations: list[str] = []

    def _request_handler(self) -> type[_Handler]:
        return _Handler

    def _on_start(self) -> None:
        self.stopping.clear()

    def _on_stop(self) -> None:
        self.stopping.set()

    # ----------------------------------------------------------- introspection

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Stored posts, oldest first: urn, author, text (the commentary as sent), visible
        (what LinkedIn would show), article, visibility, created_at (clock seconds)."""
        with self._lock:
            return copy.deepcopy(self._posts)

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str], bytes]]:
        """Every request: (method, path-with-query, lower-cased headers, body)."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of bugs inside the fake (answered as 500)."""
        with self._lock:
            return list(self._errors)

    def posts_with_link(self, url: str) -> int:
        with self._lock:
            return sum(url in p["text"] or url == p["article"].get("source") for p in self._posts)

    def reset(self) -> None:
        """Forget posts, requests, faults, throttles and issued tokens; ids keep increasing."""
        with self._lock:
            self._init_state()

    def revoke(self, access_token: str) -> None:
        """The member revoked the app: the token answers 401 REVOKED_ACCESS_TOKEN."""
        with self._lock:
            self._grants[access_token].revoked = True

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
        """Script the next `count` POST /rest/posts: status (answer `status`, store nothing),
        rate_limit (429, throttled for `reset_in` seconds), unauthorized (401 revoked), hang
        (store, answer after `hang_seconds`), drop (store, close unanswered), reset (RST)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.extend([Fault(kind, status, reset_in, hang_seconds)] * count)

    def set_random_faults(
        self,
        rates: Mapping[str, float],
        *,
        seed: int = 0,
        reset_in: tuple[float, float] = (1.0, 3.0),
    ) -> None:
        """Apply fault kinds at random to POST /rest/posts, each with its probability."""
        unknown = set(rates) - FAULT_KINDS
        if unknown or sum(rates.values()) > 1 or min(rates.values(), default=0) < 0:
            raise ValueError(f"rates must be probabilities of {sorted(FAULT_KINDS)}: {rates}")
        with self._lock:
            self._random = (random.Random(seed), dict(sorted(rates.items())), reset_in)

    def _next_fault(self, req: Request) -> Fault | None:
        if req.method != "POST" or req.path != "/rest/posts":
            return None
        if self._faults:
            return self._faults.popleft()
        if self._random is None:
            return None
        rng, rates, (low, high) = self._random
        draw, total = rng.random(), 0.0
        for kind, rate in rates.items():
            total += rate
            if draw < total:
                return Fault(kind, 500, rng.uniform(low, high), 30.0)
        return None

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request) -> Reply:
        with self._lock:
            self._requests.append((req.method, req.target, dict(req.headers), req.body))
            try:
                return self._respond(req)
            except Exception as exc:
                self._errors.append(traceback.format_exc())
                return _json_reply(500, {"status": 500, "message": f"fake crashed: {exc!r}"})

    def _respond(self, req: Request) -> Reply:
        fault = self._next_fault(req)
        if fault is not None and fault.kind in _REFUSING_FAULTS:
            return self._refuse(fault, req)
        reply = self._route(req)
        if fault is not None:  # hang or drop: processed, only the answer goes wrong
            reply.action = "hang" if fault.kind == "hang" else "drop"
            reply.delay = fault.hang_seconds
        return reply

    def _refuse(self, fault: Fault, req: Request) -> Reply:
        if fault.kind == "reset":
            return Reply(0, action="reset")
        if fault.kind == "unauthorized":
            return _error(401, "REVOKED_ACCESS_TOKEN", "The token has been revoked", 65601)
        if fault.kind == "rate_limit":
            member = self._grant_member(req) or "anonymous"
            return self._throttle(member, self.clock() + fault.reset_in)
        return _error(fault.status, "SERVER_ERROR", "Internal Server Error")

    def _throttle(self, member: str, until: float) -> Reply:
        self._throttled_until[member] = max(until, self._throttled_until.get(member, 0.0))
        return _error(429, "TOO_MANY_REQUESTS", "Resource level throttle MEMBER DAY limit reached")

    def _route(self, req: Request) -> Reply:
        routes = {
            ("POST", "/rest/posts"): self._create_post,
            ("GET", "/rest/posts"): self._find_posts,
            ("GET", "/v2/userinfo"): self._userinfo,
            ("POST", "/oauth/v2/accessToken"): self._token,
        }
        handler = routes.get((req.method, req.path))
        if handler is None:
            return _error(404, "NOT_FOUND", f"No virtual resource found for {req.path}")
        return handler(req)

    # ------------------------------------------------------------------- checks

    def _grant(self, req: Request) -> _Grant | None:
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        return self._grants.get(token.strip()) if scheme.lower() == "bearer" else None

    def _grant_member(self, req: Request) -> str | None:
        """The member a valid (known, unexpired, unrevoked) token belongs to."""
        grant = self._grant(req)
        return grant.member if grant and self._auth_problem(req) is None else None

    def _auth_problem(self, req: Request) -> Reply | None:
        grant = self._grant(req)
        if grant is None:
            return _error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        if grant.revoked:
            return _error(401, "REVOKED_ACCESS_TOKEN", "The token has been revoked", 65601)
        if self.clock() >= grant.expires_at:  # serviceErrorCode unverified (reference §13)
            return _error(401, "EXPIRED_ACCESS_TOKEN", "The token used has expired", 65602)
        return None

    def _rest_problem(self, req: Request) -> Reply | None:
        """Auth, then the version headers every /rest/ call needs."""
        if (problem := self._auth_problem(req)) is not None:
            return problem
        version = req.headers.get("linkedin-version")
        if not version:
            return _error(426, "VERSION_MISSING", "A version must be present (LinkedIn-Version)")
        if version not in self._active_versions():
            return _error(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
        if req.headers.get("x-restli-protocol-version") != "2.0.0":  # wording unverified
            return _error(400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 is required")
        return None

    def _active_versions(self) -> frozenset[str]:
        if self.active_versions is not None:
            return self.active_versions
        month = datetime.fromtimestamp(self.clock(), UTC).replace(day=1)
        months = [month]
        for _ in range(11):  # each version lives about 12 months
            months.append((months[-1] - timedelta(days=1)).replace(day=1))
        return frozenset(m.strftime("%Y%m") for m in months)

    def _may_post_as(self, member: str, author: str) -> bool:
        if author == f"urn:li:person:{member}":
            return True
        prefix = "urn:li:organization:"
        return author.startswith(prefix) and author[len(prefix) :] in self.organizations

    # -------------------------------------------------------------------- posts

    def _create_post(self, req: Request) -> Reply:
        if (problem := self._rest_problem(req)) is not None:
            return problem
        member = self._grant_member(req) or ""
        try:
            body = json.loads(req.body)
            assert isinstance(body, dict)
        except (ValueError, AssertionError):
            return _error(400, "ILLEGAL_ARGUMENT", "Request body is not a JSON object")
        author, text = str(body.get("author", "")), body.get("commentary")
        if not self._may_post_as(member, author):
            return _error(403, "ACCESS_DENIED", f"Not enough permissions to post as {author}", 100)
        if (throttled := self._over_quota(member)) is not None:
            return throttled
        if not isinstance(text, str):
            return _error(422, "", "ERROR :: /commentary :: field is required but not found")
        if linkedin_length(text) > LIMIT:  # wording unverified
            return _error(422, "", f"ERROR :: /commentary :: length exceeds {LIMIT} characters")
        for post in self._posts:
            if post["author"] == author and post["text"] == text:
                return _duplicate(post["urn"])
        return self._store(body, author, text, member)

    def _over_quota(self, member: str) -> Reply | None:
        now = self.clock()
        until = self._throttled_until.get(member, 0.0)
        if now < until:
            self.violations.append(
                f"POST /rest/posts for {member} {until - now:.1f}s before the rate limit reset"
            )
            return self._throttle(member, until)
        if self.daily_limit is None:
            return None
        day = datetime.fromtimestamp(now, UTC).date()
        today = sum(
            p["member"] == member and datetime.fromtimestamp(p["created_at"], UTC).date() == day
            for p in self._posts
        )
        if today < self.daily_limit:
            return None
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        return self._throttle(member, midnight.timestamp())

    def _store(self, body: dict[str, Any], author: str, text: str, member: str) -> Reply:
        urn = f"urn:li:share:{self._next_id}"
        self._next_id += 1
        content = body.get("content")
        article = content.get("article") if isinstance(content, dict) else None
        self._posts.append(
            {
                "urn": urn,
                "author": author,
                "member": member,
                "text": text,
                "visible": visible_text(text),
                "article": dict(article) if isinstance(article, dict) else {},
                "visibility": body.get("visibility"),
                "created_at": self.clock(),
            }
        )
        return Reply(201, b"", {"x-restli-id": urn})

    def _find_posts(self, req: Request) -> Reply:
        if (problem := self._rest_problem(req)) is not None:
            return problem
        member = self._grant_member(req) or ""
        author = req.query.get("author", [""])[0]
        if req.query.get("q") != ["author"]:
            return _error(400, "ILLEGAL_ARGUMENT", "q=author is the finder this resource has")
        if not self.read_scope or not self._may_post_as(member, author):
            return _error(403, "ACCESS_DENIED", "Not enough permissions to access: posts FINDER")
        count = min(max(int(req.query.get("count", ["10"])[0]), 1), 100)
        start = max(int(req.query.get("start", ["0"])[0]), 0)
        mine = [p for p in reversed(self._posts) if p["author"] == author]
        page = [_element(p) for p in mine[start : start + count]]
        paging = {"start": start, "count": count, "links": [], "total": len(mine)}
        return _json_reply(200, {"elements": page, "paging": paging})

    # -------------------------------------------------------------- identity

    def _userinfo(self, req: Request) -> Reply:
        if (problem := self._auth_problem(req)) is not None:
            return problem
        given, _, family = self.name.partition(" ")
        return _json_reply(
            200,
            {
                "sub": self.member_id,
                "email_verified": True,
                "name": self.name,
                "locale": {"country": "US", "language": "en"},
                "given_name": given,
                "family_name": family,
                "email": "member@example.com",
            },
        )

    def _token(self, req: Request) -> Reply:
        form = req.form()
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return _json_reply(401, _oauth_error("invalid_client", "Client authentication failed"))
        if form.get("grant_type") != "refresh_token":
            return _json_reply(400, _oauth_error("unsupported_grant_type", "Only refresh_token"))
        refresh = form.get("refresh_token", "")
        expires = self._refresh_tokens.get(refresh)
        if expires is None or self.clock() >= expires:
            return _json_reply(
                400,
                _oauth_error(
                    "invalid_request",
                    "The provided authorization grant or refresh token is invalid, expired or "
                    "revoked",
                ),
            )
        return _json_reply(200, self._issue(refresh, expires))

    def _issue(self, refresh: str, refresh_expires: float) -> dict[str, Any]:
        self._issued += 1
        now = self.clock()
        access = f"{self._first_tokens[0]}-{self._issued}"
        self._grants[access] = _Grant(self.member_id, now + self.access_ttl)
        if self.rotate_refresh:
            del self._refresh_tokens[refresh]  # single use
            refresh, refresh_expires = f"{self._first_tokens[1]}-{self._issued}", now + 1e7
            self._refresh_tokens[refresh] = refresh_expires
        return {
            "access_token": access,
            "expires_in": int(self.access_ttl),
            "refresh_token": refresh,
            "refresh_token_expires_in": int(refresh_expires - now),
            "scope": SCOPE,
        }


def _element(post: dict[str, Any]) -> dict[str, Any]:
    millis = int(post["created_at"] * 1000)
    element: dict[str, Any] = {
        "id": post["urn"],
        "author": post["author"],
        "commentary": post["text"],
        "visibility": post["visibility"],
        "lifecycleState": "PUBLISHED",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "isReshareDisabledByAuthor": False,
        "createdAt": millis,
        "publishedAt": millis,
        "lastModifiedAt": millis,
    }
    if post["article"]:
        element["content"] = {"article": post["article"]}
    return element


def _duplicate(urn: str) -> Reply:
    """The body LinkedIn sends for a re-POST (from issues, reference §7.3)."""
    return _json_reply(
        422,
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": f"ERROR :: /commentary :: Content is a duplicate of {urn}",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Duplicate post is detected",
                        "input": {},
                        "code": "DUPLICATE_POST",
                    }
                ]
            },
            "status": 422,
        },
    )


def _oauth_error(code: str, description: str) -> dict[str, str]:
    return {"error": code, "error_description": description}


def _json_reply(status: int, payload: object) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": "application/json"})


def _error(status: int, code: str, message: str, service_code: int | None = None) -> Reply:
    """LinkedIn's error body: {"status", "serviceErrorCode", "code", "message"}."""
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    return _json_reply(status, body)


def visible_text(commentary: str) -> str:
    """What LinkedIn shows of a commentary: escapes resolved, cut at the first reserved
    character left unescaped outside a URL or a #hashtag (reference §7.2)."""
    urls = dict(find_urls(commentary))
    shown: list[str] = []
    i = 0
    while i < len(commentary):
        char = commentary[i]
        if i in urls:
            shown.append(commentary[i : urls[i]])
            i = urls[i]
        elif char == "\\" and commentary[i + 1 : i + 2] in _RESERVED:
            shown.append(commentary[i + 1])
            i += 2
        elif char in _RESERVED and not _HASHTAG.match(commentary, i):
            break
        else:
            shown.append(char)
            i += 1
    return "".join(shown)


class _Handler(RequestHandler[FakeLinkedIn]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        request = Request(self.command, self.path, split.path, query, headers, body)
        reply = self.server.app.handle(request)
        if reply.action == "reset":
            # SO_LINGER 0 makes close() send RST instead of FIN.
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.close()
            self.close_connection = True
        elif reply.action == "drop":
            self.close_connection = True  # the socket closes with no status line sent
        else:
            if reply.action == "hang":
                self.server.app.stopping.wait(reply.delay)
            self.send_reply(reply)
