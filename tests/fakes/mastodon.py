"""A stateful loopback fake of the Mastodon REST API (reference/platforms.md §5, §11).

It follows the documented contract closely enough that the real publisher, run in a separate
Celery worker process, cannot tell it from an instance: Bearer auth, form or JSON bodies, the
instance's length rule (counted by the same `mastodon_length` the publisher uses), `Idempotency-Key`
replay for a TTL, rate-limit headers on every API response, and the faults of every platform fake
(tests/fakes/faults.py: scripted or random, including the ambiguous commit-then-hang and
accept-then-drop the delivery state machine must survive). A status posted before the reset of a
429 the fake gave that token is refused again and recorded in `violations`.

Everything is served by a stdlib `ThreadingHTTPServer` on 127.0.0.1 and an ephemeral port; all
state sits behind one lock so concurrent worker processes see a consistent server.
"""

from __future__ import annotations

import copy
import html
import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import faults
from tests.fakes._http import LoopbackService, RequestHandler, RequestRecord
from tests.fakes.faults import REFUSING_FAULTS, Fault, FaultKind, Reply

URL_LENGTH = 23  # configuration.statuses.characters_reserved_per_url on every Mastodon
VISIBILITIES = frozenset({"public", "unlisted", "private", "direct"})
ACCOUNT_ID = "1"
# Snowflake-sized ids: real ids are 18-digit strings, so code that sorts or compares them as short
# integers or as strings of varying length fails here as it would in production.
_FIRST_STATUS_ID = 113_000_000_000_000_001


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request as the fake's routing sees it. Header names are lower-case."""

    method: str
    target: str  # path and query exactly as sent
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client_host: str


class _BadRequest(Exception):
    """The body could not be parsed; answered as 400 like Rails' parameter parser."""


class FakeMastodon(LoopbackService):
    """Fake Mastodon instance with one account, `@{username}@{public_host}` (account id "1")."""

    _label = "FakeMastodon"

    def __init__(
        self,
        *,
        token: str = "test-token",
        max_characters: int = 500,
        username: str = "writer",
        public_host: str = "social.example",
        idempotency_ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
        rate_limit: int = 300,
        rate_limit_period: float = 300.0,
        post_latency: float = 0.0,
    ) -> None:
        self.token = token
        # Seconds each status POST takes to answer, as a real instance's does (bench.deliver).
        self.post_latency = post_latency
        self.max_characters = max_characters
        self.username = username
        self.public_host = public_host
        self.idempotency_ttl = idempotency_ttl
        self.clock = clock
        self.rate_limit = rate_limit
        self.rate_limit_period = rate_limit_period
        # Set while stopping so a scripted hang ends at once instead of outliving the test.
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._next_id = _FIRST_STATUS_ID
        self._account_created = self.clock()
        self._init_state()

    def _init_state(self) -> None:
        self._statuses: list[dict[str, Any]] = []
        self._requests: list[RequestRecord] = []
        self._idempotency: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._faults = faults.FaultPlan()
        self._resets = faults.ResetWatch()
        self._quota: dict[tuple[str, int], int] = {}
        self._errors: list[str] = []

    # ----------------------------------------------------------------- lifecycle

    def _request_handler(self) -> type[_RequestHandler]:
        return _RequestHandler

    def _on_start(self) -> None:
        self.stopping.clear()

    def _on_stop(self) -> None:
        self.stopping.set()

    # ----------------------------------------------------------- introspection

    @property
    def statuses(self) -> list[dict[str, Any]]:
        """Stored statuses, oldest first: id, text, spoiler_text, visibility, language,
        idempotency_key, token, created_at (clock seconds) and json (the rendered Status)."""
        with self._lock:
            return copy.deepcopy(self._statuses)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received: (method, path-with-query, lower-cased headers, body)."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of bugs inside the fake (answered as 500); tests can assert it is empty."""
        with self._lock:
            return list(self._errors)

    @property
    def posts(self) -> list[dict[str, Any]]:
        """`statuses`, under the name every platform fake shares."""
        return self.statuses

    @property
    def violations(self) -> list[str]:
        """Statuses posted with a token before the reset of a 429 the fake gave it."""
        with self._lock:
            return self._resets.violations

    @property
    def faults_injected(self) -> dict[str, int]:
        """Faults given so far (scripted and random), by kind."""
        with self._lock:
            return self._faults.injected

    def posts_for_key(self, key: str) -> int:
        with self._lock:
            return sum(1 for s in self._statuses if s["idempotency_key"] == key)

    def posts_with_link(self, url: str) -> int:
        """Stored statuses whose text carries `url`."""
        with self._lock:
            return sum(1 for s in self._statuses if url in s["text"])

    def reset(self) -> None:
        """Forget statuses, requests, keys, faults and quotas. Ids keep increasing, so an id
        seen before a reset can never name a different status after it."""
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
        """Script the next `count` POST /api/v1/statuses (FIFO after faults already queued).

        status: answer `status` with an error body, store nothing (a 500 here also stands in for
          the 500-on-keyed-replay of mastodon/mastodon#40399).
        rate_limit: 429 with X-RateLimit-Remaining 0 and X-RateLimit-Reset = now + reset_in.
        unauthorized: 401, as for a revoked token.
        hang: process and store normally, then wait `hang_seconds` before answering.
        drop: process and store normally, then close the socket without answering.
        reset: close the socket with a TCP RST without processing anything.
        """
        with self._lock:
            self._faults.script(
                kind, count=count, status=status, reset_in=reset_in, hang_seconds=hang_seconds
            )

    def set_random_faults(
        self,
        rates: Mapping[str, float],
        *,
        seed: int = 0,
        reset_in: tuple[float, float] = (1.0, 3.0),
    ) -> None:
        """Give POST /api/v1/statuses requests without a scripted fault one at random: `rates`
        are probabilities per request by kind ({} turns random faults off); a rate_limit fault
        resets `reset_in` seconds ahead (drawn uniformly)."""
        with self._lock:
            self._faults.set_random(rates, seed=seed, reset_in=reset_in)

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request) -> Reply:
        """Answer one request; called from the server's handler threads."""
        with self._lock:
            self._requests.append((req.method, req.target, dict(req.headers), req.body))
            try:
                return self._respond(req)
            except Exception as exc:
                # A bug in the fake must fail tests visibly, not pass as a Mastodon outage.
                self._errors.append(traceback.format_exc())
                return _json_reply(500, {"error": f"fake Mastodon crashed: {exc!r}"})

    def _respond(self, req: Request) -> Reply:
        remaining, reset_at = self._count_request(req)
        token = self._bearer(req)
        posting = req.method == "POST" and req.path == "/api/v1/statuses"
        if posting and token is not None and (early := self._too_early(token)) is not None:
            return early
        fault = self._faults.next() if posting else None
        if fault is not None and fault.kind in REFUSING_FAULTS:
            return self._refuse(fault, token, remaining, reset_at)
        if remaining < 0:
            self._announce_reset(token, reset_at)
            reply = _error(429, "Too many requests")
        else:
            reply = self._route(req)
        if req.path.startswith("/api/"):
            reply.headers.update(_rate_headers(self.rate_limit, max(remaining, 0), reset_at))
        if fault is not None:  # hang or drop: the request was processed, only the answer fails
            reply.action = "hang" if fault.kind == "hang" else "drop"
            reply.delay = fault.hang_seconds
        return reply

    def _too_early(self, token: str) -> Reply | None:
        """429 again for a status posted before the reset this token was given."""
        until = self._resets.early(
            token, self.clock(), f"POST /api/v1/statuses by @{self.username}"
        )
        if until is None:
            return None
        reply = _error(429, "Too many requests")
        reply.headers.update(_rate_headers(self.rate_limit, 0, until))
        return reply

    def _announce_reset(self, token: str | None, until: float) -> None:
        if token is not None:  # an anonymous caller has no account to hold back
            self._resets.announce(token, until)

    def _refuse(self, fault: Fault, token: str | None, remaining: int, reset_at: float) -> Reply:
        if fault.kind == "reset":
            return Reply(0, action="reset")
        if fault.kind == "rate_limit":
            until = self.clock() + fault.reset_in
            self._announce_reset(token, until)
            reply = _error(429, "Too many requests")
            reply.headers.update(_rate_headers(self.rate_limit, 0, until))
            return reply
        if fault.kind == "unauthorized":
            reply = _error(401, "The access token is invalid")
        else:
            reply = _error(fault.status, _phrase(fault.status))
        reply.headers.update(_rate_headers(self.rate_limit, max(remaining, 0), reset_at))
        return reply

    def _count_request(self, req: Request) -> tuple[int, float]:
        """Charge one request to the caller's 5-minute window (per token, else per client IP)."""
        bucket = self._bearer(req) or f"ip:{req.client_host}"
        period = int(self.clock() // self.rate_limit_period)
        # Windows are aligned to the epoch like Mastodon's RateLimiter; older ones are dropped.
        self._quota = {k: v for k, v in self._quota.items() if k[1] == period}
        used = self._quota.get((bucket, period), 0) + 1
        self._quota[(bucket, period)] = used
        return self.rate_limit - used, (period + 1) * self.rate_limit_period

    def _route(self, req: Request) -> Reply:
        method = "GET" if req.method == "HEAD" else req.method  # Rails answers HEAD as GET
        for route_method, pattern, handler in self._routes():
            match = pattern.fullmatch(req.path)
            if match and route_method == method:
                return handler(req, match)
        return _error(404, "Record not found")

    def _routes(self) -> list[tuple[str, re.Pattern[str], _Handler]]:
        return [
            ("GET", _INSTANCE_PATH, self._instance),
            ("POST", _STATUSES_PATH, self._create_status),
            ("GET", _STATUS_PATH, self._get_status),
            ("GET", _VERIFY_PATH, self._verify_credentials),
            ("GET", _ACCOUNT_STATUSES_PATH, self._account_statuses),
        ]

    # -------------------------------------------------------------------- routes

    def _instance(self, req: Request, match: re.Match[str]) -> Reply:
        return _json_reply(200, self._instance_json())

    def _verify_credentials(self, req: Request, match: re.Match[str]) -> Reply:
        if self._bearer(req) is None:
            return _error(401, "The access token is invalid")
        account = self._account_json()
        account["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": None,
            "note": "",
            "fields": [],
        }
        return _json_reply(200, account)

    def _get_status(self, req: Request, match: re.Match[str]) -> Reply:
        visible = self._visible_statuses(owner=self._bearer(req) is not None, listing=False)
        for status in visible:
            if status["id"] == match["id"]:
                return _json_reply(200, status["json"])
        return _error(404, "Record not found")

    def _account_statuses(self, req: Request, match: re.Match[str]) -> Reply:
        if match["id"] != ACCOUNT_ID:
            return _error(404, "Record not found")
        visible = self._visible_statuses(owner=self._bearer(req) is not None, listing=True)
        page = _paginate(visible, req.query)
        return _json_reply(200, [s["json"] for s in page])

    def _create_status(self, req: Request, match: re.Match[str]) -> Reply:
        token = self._bearer(req)
        if token is None:
            return _error(401, "The access token is invalid")
        try:
            params = _parse_params(req)
        except _BadRequest as exc:
            return _error(400, str(exc))
        key = req.headers.get("idempotency-key")
        # Mastodon's PostStatusService checks the key before validating: a replay is never a 422.
        original = self._replay(token, key)
        if original is not None:
            return _json_reply(200, original)
        problem = self._validate(params)
        if problem is not None:
            return _error(422, problem)
        return _json_reply(200, self._store(params, token, key))

    # ----------------------------------------------------------------- statuses

    def _replay(self, token: str, key: str | None) -> dict[str, Any] | None:
        if not key:
            return None
        seen = self._idempotency.get((token, key))
        if seen is None or self.clock() - seen[0] >= self.idempotency_ttl:
            return None
        return seen[1]

    def _validate(self, params: dict[str, Any]) -> str | None:
        text = _text_param(params, "status")
        if not text.strip():
            return "Validation failed: Text can't be blank"
        visibility = _text_param(params, "visibility") or "public"
        if visibility not in VISIBILITIES:
            # Wording unverified (reference §13 style): only the 422 matters to the publisher.
            return "Validation failed: Visibility is not included in the list"
        reply_to = _text_param(params, "in_reply_to_id")
        if reply_to and all(s["id"] != reply_to for s in self._statuses):
            return "Validation failed: the status replied to does not exist"
        # Imported here: the counter is shared with the publisher and may land after this module.
        from syndicate.platforms.textlen import mastodon_length

        # The reference counts spoiler_text + text as one string (status_length_validator.rb).
        counted = _text_param(params, "spoiler_text") + text
        if mastodon_length(counted, url_length=URL_LENGTH) > self.max_characters:
            return f"Validation failed: Text character limit of {self.max_characters} exceeded"
        return None

    def _store(self, params: dict[str, Any], token: str, key: str | None) -> dict[str, Any]:
        status_id = str(self._next_id)
        self._next_id += 1
        now = self.clock()
        record: dict[str, Any] = {
            "id": status_id,
            "text": _text_param(params, "status"),
            "spoiler_text": _text_param(params, "spoiler_text"),
            "visibility": _text_param(params, "visibility") or "public",
            "language": _text_param(params, "language") or None,
            "sensitive": _truthy(params.get("sensitive")),
            "idempotency_key": key or None,
            "in_reply_to_id": _text_param(params, "in_reply_to_id") or None,
            "token": token,
            "created_at": now,
        }
        self._statuses.append(record)
        record["json"] = self._status_json(record)
        if key:
            self._idempotency[(token, key)] = (now, record["json"])
        return copy.deepcopy(record["json"])

    def _visible_statuses(self, *, owner: bool, listing: bool) -> list[dict[str, Any]]:
        """Statuses the caller may see, newest first. Anonymous callers see public and unlisted
        only; direct messages never appear in an account's timeline (unverified for owners)."""
        allowed = set(VISIBILITIES) if owner else {"public", "unlisted"}
        if listing:
            allowed.discard("direct")
        return [s for s in reversed(self._statuses) if s["visibility"] in allowed]

    # ------------------------------------------------------------------ rendering

    def _bearer(self, req: Request) -> str | None:
        scheme, _, value = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip() == self.token:
            return self.token
        return None

    def _status_json(self, record: dict[str, Any]) -> dict[str, Any]:
        status_id = record["id"]
        return {
            "id": status_id,
            "created_at": _iso_ms(record["created_at"]),
            "in_reply_to_id": record["in_reply_to_id"],
            "in_reply_to_account_id": "1" if record["in_reply_to_id"] else None,
            # Mastodon forces `sensitive` when a content warning is set.
            "sensitive": record["sensitive"] or bool(record["spoiler_text"]),
            "spoiler_text": record["spoiler_text"],
            "visibility": record["visibility"],
            "language": record["language"],
            "uri": f"https://{self.public_host}/users/{self.username}/statuses/{status_id}",
            "url": f"https://{self.public_host}/@{self.username}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "content": status_html(record["text"]),
            "reblog": None,
            "application": {"name": "syndicate", "website": None},
            "account": self._account_json(),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            # Link previews are fetched asynchronously by real servers; the first answer has none.
            "card": None,
            "poll": None,
        }

    def _account_json(self) -> dict[str, Any]:
        profile = f"https://{self.public_host}/@{self.username}"
        last = self._statuses[-1]["created_at"] if self._statuses else None
        return {
            "id": ACCOUNT_ID,
            "username": self.username,
            "acct": self.username,
            "display_name": self.username.capitalize(),
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": _iso_ms(self._account_created),
            "note": "",
            "url": profile,
            "uri": f"https://{self.public_host}/users/{self.username}",
            "avatar": f"https://{self.public_host}/avatars/original/missing.png",
            "avatar_static": f"https://{self.public_host}/avatars/original/missing.png",
            "header": f"https://{self.public_host}/headers/original/missing.png",
            "header_static": f"https://{self.public_host}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(self._statuses),
            "last_status_at": None if last is None else _iso_ms(last)[:10],
            "emojis": [],
            "fields": [],
        }

    def _instance_json(self) -> dict[str, Any]:
        return {
            "domain": self.public_host,
            "title": "Fake Mastodon",
            "version": "4.3.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "Loopback fake for tests",
            "usage": {"users": {"active_month": 1}},
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": f"wss://{self.public_host}"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": URL_LENGTH,
                },
                "media_attachments": {"image_size_limit": 16777216, "video_size_limit": 103809024},
                "polls": {"max_options": 4, "max_characters_per_option": 50},
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": f"admin@{self.public_host}", "account": None},
            "rules": [],
        }


_Handler = Callable[[Request, re.Match[str]], Reply]

_INSTANCE_PATH = re.compile(r"/api/v2/instance")
_STATUSES_PATH = re.compile(r"/api/v1/statuses")
_STATUS_PATH = re.compile(r"/api/v1/statuses/(?P<id>\d+)")
_VERIFY_PATH = re.compile(r"/api/v1/accounts/verify_credentials")
_ACCOUNT_STATUSES_PATH = re.compile(r"/api/v1/accounts/(?P<id>[^/]+)/statuses")


# ---------------------------------------------------------------------- helpers


def _json_reply(status: int, payload: object) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8"})


def _error(status: int, message: str) -> Reply:
    return _json_reply(status, {"error": message})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _rate_headers(limit: int, remaining: int, reset_at: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": _iso_us(reset_at),
    }


def _iso_us(ts: float) -> str:
    """ISO 8601 with microseconds, as in Mastodon's RateLimitHeaders."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso_ms(ts: float) -> str:
    """ISO 8601 with milliseconds, as Mastodon renders `created_at`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_params(req: Request) -> dict[str, Any]:
    """Rails merges query and body parameters; the body is JSON or form-urlencoded."""
    params: dict[str, Any] = {k: v[0] for k, v in req.query.items()}
    content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(req.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _BadRequest(f"Error while parsing request: {exc}") from exc
        if not isinstance(data, dict):
            raise _BadRequest("Error while parsing request: expected a JSON object")
        params.update(data)
    elif req.body:
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update({k: v[0] for k, v in form.items()})
    return params


def _text_param(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value)


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "t", "on", "yes"}


def _paginate(newest_first: list[dict[str, Any]], query: dict[str, list[str]]) -> list[Any]:
    """Mastodon's id-based paging: limit (default 20, max 40), max_id, since_id, min_id."""
    limit = min(max(_int_param(query, "limit", 20), 1), 40)
    items = newest_first
    if (max_id := _int_param(query, "max_id", 0)) > 0:
        items = [s for s in items if int(s["id"]) < max_id]
    if (since_id := _int_param(query, "since_id", 0)) > 0:
        items = [s for s in items if int(s["id"]) > since_id]
    if (min_id := _int_param(query, "min_id", 0)) > 0:
        # min_id pages forwards: the `limit` statuses just after min_id, still newest first.
        return [s for s in items if int(s["id"]) > min_id][-limit:]
    return items[:limit]


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query[name][0])
    except (KeyError, IndexError, ValueError):
        return default


_URL_RE = re.compile(r"https?://[^\s<>\"]+")
_TRAILING_PUNCTUATION = ".,;:!?'\""


def status_html(text: str) -> str:
    """Render plain status text the way Mastodon's TextFormatter does: Rails `simple_format`
    (blank lines separate <p>, single newlines become <br />), HTML-escaped, URLs linkified
    with the full URL in `href` and the visible text split into spans."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = re.split(r"\n{2,}", text.strip("\n"))
    return "".join("<p>" + _linkify(p).replace("\n", "<br />") + "</p>" for p in paragraphs)


def _linkify(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group())
        out.append(html.escape(text[pos : match.start()]))
        out.append(_link(url))
        pos = match.start() + len(url)
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _trim_url(url: str) -> str:
    """Drop trailing sentence punctuation and unbalanced closing parentheses."""
    while url and (
        url[-1] in _TRAILING_PUNCTUATION or (url[-1] == ")" and url.count(")") > url.count("("))
    ):
        url = url[:-1]
    return url


def _link(url: str) -> str:
    prefix_match = re.match(r"https?://(?:www\.)?", url)
    prefix = prefix_match.group() if prefix_match else ""
    shown = url[len(prefix) :]
    visible, hidden = shown[:30], shown[30:]
    ellipsis_class = "ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{html.escape(prefix)}</span>'
        f'<span class="{ellipsis_class}">{html.escape(visible)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


# ------------------------------------------------------------------- HTTP plumbing


class _RequestHandler(RequestHandler[FakeMastodon]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            target=self.path,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            client_host=self.client_address[0],
        )
        app = self.server.app
        reply = app.handle(request)
        if app.post_latency and request.method == "POST" and request.path == "/api/v1/statuses":
            app.stopping.wait(app.post_latency)
        faults.answer(self, reply, app.stopping)
