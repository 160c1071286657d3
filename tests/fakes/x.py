"""A stateful loopback fake of the X API v2 endpoints the publisher uses (reference §4, §11).

One user, reachable with OAuth 1.0a (HMAC-SHA1 signatures verified with oauthlib's server-side
functions, nonces remembered) or OAuth 2.0 user tokens (two-hour access tokens by the fake's
clock, single-use rotating refresh tokens). `POST /2/tweets` validates the weighted length with
twitter_text as X does, refuses the same text twice within the duplicate window with X's 403,
and answers every API call with x-rate-limit-* headers from per-endpoint windows. Faults follow
the shared fake API (`fail_next`, `set_random_faults`), and a post that arrives before the reset
of a 429 the fake gave is recorded in `violations`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import math
import random
import re
import secrets
import socket
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args
from urllib.parse import parse_qs, urlsplit

from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header, unescape
from twitter_text import extract_urls_with_indices, parse_tweet

from tests.fakes import _http
from tests.fakes._http import LoopbackService, RequestHandler, RequestRecord

FaultKind = Literal["status", "rate_limit", "unauthorized", "hang", "drop", "reset"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

USER_ID = "1460000000000000001"
WINDOW = 900.0  # X's rate-limit windows are 15 minutes
DAY = 86400.0
ACCESS_LIFETIME = 7200  # OAuth 2.0 user access tokens: two hours
_FIRST_TWEET_ID = 1_860_000_000_000_000_001  # snowflake-sized, as strings
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
_TOKEN_INVALID = "Value passed for the token was invalid."


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Reply(_http.Reply):
    action: Literal["send", "hang", "drop", "reset"] = "send"
    delay: float = 0.0


@dataclass(frozen=True)
class _Fault:
    kind: str
    status: int = 500
    reset_in: float = 60.0
    hang_seconds: float = 30.0


@dataclass
class _Random:
    rates: dict[str, float]
    rng: random.Random
    reset_in: tuple[float, float]


@dataclass
class _Tweet:
    id: str
    text: str
    author_id: str
    created_at: float
    auth: str  # oauth1 | oauth2
    in_reply_to: str | None
    conversation_id: str
    json: dict[str, Any] = field(default_factory=dict)


class FakeX(LoopbackService):
    """Fake X API for one user, @{username} (id USER_ID)."""

    _label = "FakeX"

    def __init__(
        self,
        *,
        username: str = "writer",
        consumer_key: str = "fake-consumer-key",
        consumer_secret: str = "fake-consumer-secret",
        access_token: str = f"{USER_ID}-fake-oauth1-access-token",
        access_token_secret: str = "fake-oauth1-token-secret",
        client_id: str = "fake-client-id",
        client_secret: str | None = None,
        clock: Callable[[], float] = time.time,
        post_limit: int = 100,
        daily_post_limit: int = 2400,
        read_limit: int = 900,
        duplicate_window: float = DAY,
        too_long_status: int = 400,  # reference §13: 400 or 403 is unverified
    ) -> None:
        self.username = username
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.access_token, self.access_token_secret = access_token, access_token_secret
        self.client_id, self.client_secret = client_id, client_secret
        self.clock = clock
        self.limits = {"post": (post_limit, WINDOW), "read": (read_limit, WINDOW)}
        self.daily_post_limit = daily_post_limit
        self.duplicate_window = duplicate_window
        self.too_long_status = too_long_status
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._next_id = _FIRST_TWEET_ID
        self._init_state()

    def _init_state(self) -> None:
        self._tweets: list[_Tweet] = []
        self._requests: list[RequestRecord] = []
        self._errors: list[str] = []
        self._violations: list[str] = []
        self._faults: deque[_Fault] = deque()
        self._token_faults: deque[int] = deque()
        self._random: _Random | None = None
        self._used: dict[tuple[str, int], int] = {}
        self._blocked_until: dict[str, float] = {}
        self._nonces: set[str] = set()
        self._access: dict[str, float] = {}  # OAuth 2.0 access token -> expires at
        self._refresh_live: set[str] = set()
        self._refresh_spent: set[str] = set()

    def _request_handler(self) -> type[_Handler]:
        return _Handler

    def _on_start(self) -> None:
        self.stopping.clear()

    def _on_stop(self) -> None:
        self.stopping.set()

    # ----------------------------------------------------------- introspection

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Stored posts, oldest first: id, text, author_id, created_at, auth, in_reply_to,
        conversation_id (X has no client-side key)."""
        with self._lock:
            return [
                {k: copy.deepcopy(v) for k, v in vars(t).items() if k != "json"}
                for t in self._tweets
            ]

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        with self._lock:
            return list(self._errors)

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    def posts_with_link(self, url: str) -> int:
        with self._lock:
            return sum(1 for t in self._tweets if url in t.text)

    def reset(self) -> None:
        """Forget posts, requests, faults, windows and OAuth 2.0 tokens; ids keep growing."""
        with self._lock:
            self._init_state()

    def issue_oauth2_tokens(self) -> tuple[str, str]:
        """A fresh (access token, refresh token) pair, as the authorization-code flow gives."""
        with self._lock:
            return self._issue_pair()

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
        """Script the next `count` POST /2/tweets that pass authentication (FIFO)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.extend([_Fault(kind, status, reset_in, hang_seconds)] * count)

    def set_random_faults(
        self,
        rates: Mapping[str, float],
        *,
        seed: int = 0,
        reset_in: tuple[float, float] = (1.0, 3.0),
    ) -> None:
        """Apply fault kinds at random to post-creating requests without a scripted fault."""
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown or sum(rates.values()) > 1:
            raise ValueError(f"bad rates {dict(rates)!r}: kinds {FAULT_KINDS}, sum at most 1")
        with self._lock:
            self._random = _Random(dict(rates), random.Random(seed), reset_in)

    def fail_token_requests(self, status: int, *, count: int = 1) -> None:
        """Answer the next `count` POST /2/oauth2/token with `status` and rotate nothing."""
        with self._lock:
            self._token_faults.extend([status] * count)

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request) -> Reply:
        with self._lock:
            self._requests.append((req.method, req.target, dict(req.headers), req.body))
            try:
                return self._route(req)
            except Exception as exc:
                # A bug in the fake must fail tests visibly, not pass as an X outage.
                self._errors.append(traceback.format_exc())
                return _problem(500, "Internal Error", f"fake X crashed: {exc!r}")

    def _route(self, req: Request) -> Reply:
        if req.method == "POST" and req.path == "/2/oauth2/token":
            return self._token(req)
        auth = self._authenticate(req)
        if auth is None:
            return _problem(401, "Unauthorized", "Unauthorized")
        if req.method == "POST" and req.path == "/2/tweets":
            return self._post_creating(req, auth)
        if req.method == "GET" and req.path == "/2/users/me":
            return self._limited("read", lambda: _json(200, {"data": self._user_json()}))
        match = re.fullmatch(r"/2/users/(\d+)/tweets", req.path)
        if req.method == "GET" and match:
            return self._limited("read", lambda: self._timeline(match[1], req.query))
        return _problem(404, "Not Found Error", f"no route for {req.method} {req.path}")

    def _post_creating(self, req: Request, auth: str) -> Reply:
        now = self.clock()
        blocked = self._blocked_until.get(USER_ID, 0.0)
        if now < blocked:
            self._violations.append(f"POST /2/tweets at {now:.3f}, {blocked - now:.3f}s early")
            return self._too_many("post", blocked)
        fault = self._next_fault()
        if fault is not None and fault.kind not in ("hang", "drop"):
            return self._refuse(fault)
        reply = self._limited("post", lambda: self._create(req, auth))
        if fault is not None:  # hang or drop: processed, only the answer goes wrong
            reply.action = "hang" if fault.kind == "hang" else "drop"
            reply.delay = fault.hang_seconds
        return reply

    def _next_fault(self) -> _Fault | None:
        if self._faults:
            return self._faults.popleft()
        if self._random is None:
            return None
        draw, edge = self._random.rng.random(), 0.0
        for kind in sorted(self._random.rates):
            edge += self._random.rates[kind]
            if draw < edge:
                return _Fault(kind, reset_in=self._random.rng.uniform(*self._random.reset_in))
        return None

    def _refuse(self, fault: _Fault) -> Reply:
        if fault.kind == "reset":
            return Reply(0, action="reset")
        if fault.kind == "rate_limit":
            return self._too_many("post", self.clock() + fault.reset_in)
        if fault.kind == "unauthorized":
            return _problem(401, "Unauthorized", "Unauthorized")
        return _problem(fault.status, "Service Unavailable", "fault injected by the test")

    # --------------------------------------------------------------- rate limits

    def _limited(self, bucket: str, answer: Callable[[], Reply]) -> Reply:
        limit, window = self.limits[bucket]
        index = int(self.clock() // window)
        used = self._used.get((bucket, index), 0) + 1
        reset = (index + 1) * window
        if used > limit:
            return self._too_many(bucket, reset)
        self._used[(bucket, index)] = used
        reply = answer()
        reply.headers.update(_limit_headers("x-rate-limit", limit, limit - used, reset))
        if bucket == "post":
            day = int(self.clock() // DAY)
            posted = sum(1 for t in self._tweets if int(t.created_at // DAY) == day)
            reply.headers.update(
                _limit_headers(
                    "x-user-limit-24hour",
                    self.daily_post_limit,
                    max(self.daily_post_limit - posted, 0),
                    (day + 1) * DAY,
                )
            )
        return reply

    def _too_many(self, bucket: str, reset: float) -> Reply:
        # The header carries whole seconds: refuse until the second it announces, no longer.
        reset = float(math.ceil(reset))
        if bucket == "post":  # remembered for `violations`, which watch post-creating requests
            self._blocked_until[USER_ID] = max(self._blocked_until.get(USER_ID, 0.0), reset)
        reply = _problem(429, "Too Many Requests", "Too Many Requests")
        reply.headers.update(_limit_headers("x-rate-limit", self.limits[bucket][0], 0, reset))
        return reply

    # ------------------------------------------------------------------ posting

    def _create(self, req: Request, auth: str) -> Reply:
        if req.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _invalid("Content-Type must be application/json")
        try:
            body = json.loads(req.body or b"null")
        except ValueError:
            return _invalid("the body is not JSON")
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return _invalid("text is required")
        if not parse_tweet(text).valid:
            return _problem(self.too_long_status, "Invalid Request", "Tweet text is too long.")
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        parent = next((t for t in self._tweets if t.id == reply_to), None)
        if reply_to is not None and parent is None:
            return _invalid("the Tweet replied to does not exist")
        if self._is_duplicate(text):
            return _problem(403, "Forbidden", DUPLICATE)
        tweet = self._store(text, auth, parent)
        return _json(201, {"data": {k: tweet.json[k] for k in ("id", "text")}})

    def _is_duplicate(self, text: str) -> bool:
        since = self.clock() - self.duplicate_window
        return any(t.text == text and t.created_at >= since for t in self._tweets)

    def _store(self, text: str, auth: str, parent: _Tweet | None) -> _Tweet:
        tweet_id = str(self._next_id)
        self._next_id += 1
        conversation = parent.conversation_id if parent else tweet_id
        tweet = _Tweet(
            tweet_id, text, USER_ID, self.clock(), auth, parent.id if parent else None, conversation
        )
        tweet.json = _tweet_json(tweet)
        self._tweets.append(tweet)
        return tweet

    def _timeline(self, user_id: str, query: dict[str, list[str]]) -> Reply:
        if user_id != USER_ID:
            return _json(200, {"errors": [_not_found(user_id)]})
        size = int((query.get("max_results") or ["10"])[0])
        if not 5 <= size <= 100:
            return _invalid("max_results must be between 5 and 100")
        fields = set(",".join(query.get("tweet.fields", [])).split(","))
        since = int((query.get("since_id") or ["0"])[0])
        page = [t for t in reversed(self._tweets) if int(t.id) > since][:size]
        if not page:
            return _json(200, {"meta": {"result_count": 0}})
        data = [{k: v for k, v in t.json.items() if k in fields | {"id", "text"}} for t in page]
        meta = {"result_count": len(page), "newest_id": page[0].id, "oldest_id": page[-1].id}
        return _json(200, {"data": data, "meta": meta})

    def _user_json(self) -> dict[str, str]:
        return {"id": USER_ID, "name": self.username.capitalize(), "username": self.username}

    # ------------------------------------------------------------------- auth

    def _authenticate(self, req: Request) -> str | None:
        header = req.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            expires = self._access.get(value.strip())
            return "oauth2" if expires is not None and self.clock() < expires else None
        if scheme.lower() == "oauth":
            return "oauth1" if self._oauth1_valid(req, header) else None
        return None

    def _oauth1_valid(self, req: Request, header: str) -> bool:
        try:
            params = {k: unescape(v) for k, v in parse_authorization_header(header)}
        except ValueError:
            return False
        expected = {
            "oauth_consumer_key": self.consumer_key,
            "oauth_token": self.access_token,
            "oauth_signature_method": "HMAC-SHA1",
        }
        nonce = params.get("oauth_nonce", "")
        if any(params.get(k) != v for k, v in expected.items()) or not nonce:
            return False
        if nonce in self._nonces:
            return False  # a replayed request
        if not hmac.compare_digest(self._signature(req, header), params.get("oauth_signature", "")):
            return False
        self._nonces.add(nonce)
        return True

    def _signature(self, req: Request, header: str) -> str:
        """RFC 5849 §3.4 over the URL this server was asked for (a JSON body is not signed)."""
        uri = f"http://{req.headers.get('host', '')}{req.target}"
        params = signature.collect_parameters(
            uri_query=urlsplit(uri).query,
            headers={"Authorization": header},
            exclude_oauth_signature=True,
        )
        # The stubs narrow both arguments more than oauthlib does (a list keeps repeated names).
        normalized = signature.normalize_parameters(cast(Any, params))
        base = signature.signature_base_string(
            cast(Any, req.method), signature.base_string_uri(uri), normalized
        )
        keys = Client(
            self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_secret=self.access_token_secret,
        )
        return str(signature.sign_hmac_sha1_with_client(base, keys))

    def _token(self, req: Request) -> Reply:
        if self._token_faults:
            status = self._token_faults.popleft()
            return _json(status, {"title": "fault injected", "status": status})
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if not self._client_ok(req, form):
            return _json(401, {"error": "unauthorized_client", "error_description": "bad client"})
        token = form.get("refresh_token", "")
        if form.get("grant_type") != "refresh_token" or token not in self._refresh_live:
            return _json(400, {"error": "invalid_request", "error_description": _TOKEN_INVALID})
        self._refresh_live.discard(token)
        self._refresh_spent.add(token)
        access, refresh = self._issue_pair()
        return _json(
            200,
            {
                "token_type": "bearer",
                "expires_in": ACCESS_LIFETIME,
                "access_token": access,
                "scope": "tweet.read tweet.write users.read offline.access",
                "refresh_token": refresh,
            },
        )

    def _client_ok(self, req: Request, form: dict[str, str]) -> bool:
        """Confidential clients authenticate with HTTP Basic; public ones name themselves."""
        if self.client_secret is None:
            return form.get("client_id") == self.client_id
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return req.headers.get("authorization") == "Basic " + base64.b64encode(pair).decode()

    def _issue_pair(self) -> tuple[str, str]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access[access] = self.clock() + ACCESS_LIFETIME
        self._refresh_live.add(refresh)
        return access, refresh


# ---------------------------------------------------------------------- rendering


def _tweet_json(tweet: _Tweet) -> dict[str, Any]:
    text, urls = _display(tweet.text)
    data: dict[str, Any] = {
        "id": tweet.id,
        "text": text,
        "edit_history_tweet_ids": [tweet.id],
        "author_id": tweet.author_id,
        "conversation_id": tweet.conversation_id,
        "created_at": datetime.fromtimestamp(tweet.created_at, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        ),
    }
    if urls:
        data["entities"] = {"urls": urls}
    if tweet.in_reply_to:
        data["referenced_tweets"] = [{"type": "replied_to", "id": tweet.in_reply_to}]
    return data


def _display(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The text as X shows it: &, < and > escaped, every URL wrapped as a t.co link, with
    url entities (code point offsets into the shown text)."""
    shown, urls, pos = "", [], 0
    for found in extract_urls_with_indices(text):
        start, end = found["indices"]
        shown += html.escape(text[pos:start], quote=False)
        url = found["url"]
        expanded = url if re.match(r"https?://", url, re.IGNORECASE) else f"http://{url}"
        short = "https://t.co/" + hashlib.sha1(expanded.encode()).hexdigest()[:10]
        urls.append(
            {
                "start": len(shown),
                "end": len(shown) + len(short),
                "url": short,
                "expanded_url": expanded,
                "display_url": re.sub(r"^https?://(www\.)?", "", expanded)[:30],
            }
        )
        shown += short
        pos = end
    return shown + html.escape(text[pos:], quote=False), urls


def _limit_headers(prefix: str, limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        f"{prefix}-limit": str(limit),
        f"{prefix}-remaining": str(max(remaining, 0)),
        f"{prefix}-reset": str(int(reset)),
    }


def _json(status: int, payload: object) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8"})


def _problem(status: int, title: str, detail: str) -> Reply:
    reply = _json(
        status, {"title": title, "detail": detail, "type": "about:blank", "status": status}
    )
    reply.headers["Content-Type"] = "application/problem+json"
    return reply


def _invalid(message: str) -> Reply:
    return _json(
        400,
        {
            "errors": [{"message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def _not_found(user_id: str) -> dict[str, str]:
    return {
        "value": user_id,
        "detail": f"Could not find user with id: [{user_id}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": "id",
        "resource_id": user_id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


# ------------------------------------------------------------------- HTTP plumbing


class _Handler(RequestHandler[FakeX]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        request = Request(self.command, self.path, split.path, query, headers, body)
        reply = self.server.app.handle(request)
        if reply.action == "reset":
            # SO_LINGER 0 makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif reply.action == "drop":
            self.close_connection = True  # the socket closes with no status line sent
        else:
            if reply.action == "hang":
                self.server.app.stopping.wait(reply.delay)
            self.send_reply(reply)
