"""A stateful loopback fake of the Tumblr API v2 for NPF posts (reference/platforms.md §9).

One user with one blog. It checks what Tumblr checks: a User-Agent, the OAuth 1.0a HMAC-SHA1
signature (recomputed with oauthlib's own signature functions over the URL the client called,
so a wrong key, secret, URL or replayed nonce is a 401) or, for reading posts, the `api_key`;
NPF content blocks and the 4,096-code-point text block limit (400, subcode 8001); the
`{"meta", "response", "errors"}` envelope; 250 published posts per server day (403, subcode
8023) and an hourly call budget per consumer key (429 "Limit Exceeded" with
X-Ratelimit-Perhour-* headers, names unverified). Link-block URLs come back rewritten through
Tumblr's redirector, as the reference warns they may.

Faults follow the common API in tests/fakes/webhook.py and apply to post creation only.
"""

from __future__ import annotations

import copy
import hmac
import json
import math
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

from oauthlib import oauth1
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header, unescape

from tests.fakes._http import LoopbackService, RequestRecord
from tests.fakes.webhook import (
    REFUSING_FAULTS,
    Fault,
    FaultKind,
    FaultScript,
    FaultyHandler,
    Reply,
)

TEXT_BLOCK_LIMIT = 4096
MAX_BLOCKS = 1000
MAX_BODY = 1_000_000
STATES = frozenset({"published", "draft", "queue", "private"})
TEXT_SUBTYPES = frozenset(
    {"heading1", "heading2", "quirky", "quote", "indented", "chat", "ordered-list"}
    | {"unordered-list"}
)
FORMATS = frozenset({"bold", "italic", "strikethrough", "small", "link", "mention", "color"})
_FIRST_POST_ID = 760_000_000_000_000_001  # real ids outgrow JavaScript numbers: id_string
_HOUR = 3600.0
_DAY = 86400.0


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query exactly as sent
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class FakeTumblr(LoopbackService):
    """Fake api.tumblr.com for one user (`user_name`) with one blog (`blog_name`)."""

    _label = "FakeTumblr"

    def __init__(
        self,
        *,
        consumer_key: str = "consumer-key",
        consumer_secret: str = "consumer-secret",
        token: str = "oauth-token",
        token_secret: str = "oauth-token-secret",
        blog_name: str = "syndicate-test",
        blog_uuid: str = "t:Q2xpZW50QmxvZw",
        user_name: str = "writer",
        hourly_calls: int = 1000,
        daily_posts: int = 250,
        server_day_offset: float = -5 * _HOUR,  # the server's calendar day (unverified: EST)
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.token, self.token_secret = token, token_secret
        self.blog_name, self.blog_uuid, self.user_name = blog_name, blog_uuid, user_name
        self.hourly_calls, self.daily_posts = hourly_calls, daily_posts
        self.server_day_offset = server_day_offset
        self.clock = clock
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._next_id = _FIRST_POST_ID
        self._init_state()

    def _init_state(self) -> None:
        self._posts: list[dict[str, Any]] = []
        self._requests: list[RequestRecord] = []
        self._errors: list[str] = []
        self._nonces: set[tuple[str, str]] = set()
        self._calls: dict[tuple[str, int], int] = {}
        self._faults = FaultScript()

    def _request_handler(self) -> type[_Handler]:
        return _Handler

    def _on_start(self) -> None:
        self.stopping.clear()

    def _on_stop(self) -> None:
        self.stopping.set()

    # ----------------------------------------------------------- introspection

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Stored posts, oldest first: id, text (the text blocks, one per line), key (the
        slug, the client-side key), slug, source_url, tags, state, content, token, created_at
        and body (the JSON as sent)."""
        with self._lock:
            return copy.deepcopy(self._posts)

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
        """Posts that arrived for a token before the reset its last 429 named."""
        with self._lock:
            return list(self._faults.violations)

    def posts_with_link(self, url: str) -> int:
        with self._lock:
            return sum(1 for p in self._posts if url in p["body"])

    def reset(self) -> None:
        """Forget posts, requests, nonces, counters and faults; ids keep increasing."""
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
        """Script the next `count` post creations (see tests/fakes/webhook.py)."""
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

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request) -> Reply:
        with self._lock:
            self._requests.append((req.method, req.target, dict(req.headers), req.body))
            try:
                return self._respond(req)
            except Exception as exc:
                # A bug in the fake must fail tests visibly, not pass as a Tumblr outage.
                self._errors.append(traceback.format_exc())
                return _error(500, 8006, f"fake Tumblr crashed: {exc!r}")

    def _respond(self, req: Request) -> Reply:
        if not req.headers.get("user-agent"):
            return _error(400, 0, "a User-Agent header is required")  # wording unverified
        blog, rest = _blog_route(req.path)
        if req.method == "POST" and blog is not None and rest == "/posts":
            return self._create(req, blog)
        if req.method != "GET":
            return _error(404, 0, "Not Found")
        if req.path == "/v2/user/info":
            return self._signed(req, self._user_info)
        if blog is not None and rest == "/posts":
            return self._readable(req, blog, lambda: self._list(req))
        if blog is not None and rest.startswith("/posts/"):
            return self._readable(req, blog, lambda: self._one(rest.removeprefix("/posts/")))
        return _error(404, 0, "Not Found")

    def _signed(self, req: Request, answer: Callable[[], Reply]) -> Reply:
        if self._oauth_problem(req) is not None:
            return _error(401, 1016, "Unable to authorize")
        return self._counted(answer)

    def _readable(self, req: Request, blog: str, answer: Callable[[], Reply]) -> Reply:
        if not self._is_blog(blog):
            return _error(404, 0, "Not Found")
        if "authorization" in req.headers:
            return self._signed(req, answer)
        if req.query.get("api_key") != [self.consumer_key]:
            return _error(401, 1016, "Unable to authorize")
        return self._counted(answer)

    def _counted(self, answer: Callable[[], Reply]) -> Reply:
        """Charge one call to the consumer key's hour; 429 once it is spent."""
        now = self.clock()
        hour = int(now // _HOUR)
        used = self._calls.get((self.consumer_key, hour), 0) + 1
        self._calls = {(self.consumer_key, hour): used}
        reset_in = math.ceil((hour + 1) * _HOUR - now)
        remaining = self.hourly_calls - used
        if remaining < 0:
            self._faults.limited(self.token, now + reset_in)
            reply = _error(429, 0, "You have exceeded your hourly call limit", "Limit Exceeded")
        else:
            reply = answer()
        reply.headers.update(_rate_headers(self.hourly_calls, max(remaining, 0), reset_in))
        return reply

    # -------------------------------------------------------------------- create

    def _create(self, req: Request, blog: str) -> Reply:
        now = self.clock()
        self._faults.check(self.token, now, "post")
        fault = self._faults.next()
        if fault is not None and fault.kind in REFUSING_FAULTS:
            return self._refuse(fault, now)
        if self._oauth_problem(req) is not None:
            reply = _error(401, 1016, "Unable to authorize")
        elif not self._is_blog(blog):
            reply = _error(404, 0, "Not Found")
        else:
            reply = self._counted(lambda: self._store(req, now))
        if fault is not None:  # hang or drop: processed, only the answer fails
            reply.action = "hang" if fault.kind == "hang" else "drop"
            reply.delay = fault.hang_seconds
        return reply

    def _refuse(self, fault: Fault, now: float) -> Reply:
        if fault.kind == "reset":
            return Reply(0, action="reset")
        if fault.kind == "rate_limit":
            wait = max(1, math.ceil(fault.reset_in))
            self._faults.limited(self.token, now + wait)
            reply = _error(429, 0, "You have exceeded your hourly call limit", "Limit Exceeded")
            reply.headers.update(_rate_headers(self.hourly_calls, 0, wait))
            return reply
        if fault.kind == "unauthorized":
            return _error(401, 1016, "Unable to authorize")
        return _error(fault.status, 8006 if fault.status == 500 else 0, "Something went wrong")

    def _store(self, req: Request, now: float) -> Reply:
        try:
            body = json.loads(req.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error(400, 8001, "the body is not JSON")
        problem = npf_problem(body, len(req.body))
        if problem is not None:
            return _error(400, 8001, problem)
        state = body.get("state", "published")
        day = int((now + self.server_day_offset) // _DAY)
        if state == "published" and self._posted_on(day) >= self.daily_posts:
            return _error(403, 8023, "You have exceeded your daily post limit")
        post_id = self._next_id
        self._next_id += 1
        self._posts.append(self._record(post_id, body, req, now, day))
        return _envelope(201, {"id": str(post_id), "state": state})  # fields beyond id unverified

    def _posted_on(self, day: int) -> int:
        return sum(1 for p in self._posts if p["day"] == day and p["state"] == "published")

    def _record(
        self, post_id: int, body: dict[str, Any], req: Request, now: float, day: int
    ) -> dict[str, Any]:
        content = [_redirected(block) for block in body["content"]]
        tags = [t.strip() for t in str(body.get("tags") or "").split(",") if t.strip()]
        return {
            "id": str(post_id),
            "text": "\n".join(b["text"] for b in content if b["type"] == "text"),
            "key": body.get("slug") or "",
            "slug": body.get("slug") or "",
            "source_url": body.get("source_url") or "",
            "tags": tags,
            "state": body.get("state", "published"),
            "content": content,
            "token": self.token,
            "created_at": now,
            "day": day,
            "body": req.body.decode("utf-8"),
        }

    # --------------------------------------------------------------------- reads

    def _list(self, req: Request) -> Reply:
        limit = min(max(_int(req.query, "limit", 20), 1), 20)
        offset = max(_int(req.query, "offset", 0), 0)
        after, before = _int(req.query, "after", 0), _int(req.query, "before", 0)
        npf = req.query.get("npf") == ["true"]
        posts = [
            p
            for p in reversed(self._posts)
            if p["state"] == "published"
            and p["created_at"] > after
            and (not before or p["created_at"] < before)
        ]
        page = [self._post_json(p, npf=npf) for p in posts[offset : offset + limit]]
        return _envelope(200, {"blog": self._blog_json(), "posts": page, "total_posts": len(posts)})

    def _one(self, post_id: str) -> Reply:
        for post in self._posts:
            if post["id"] == post_id:
                return _envelope(200, self._post_json(post, npf=True))
        return _error(404, 0, "Not Found")

    def _user_info(self) -> Reply:
        user = {
            "name": self.user_name,
            "likes": 0,
            "following": 0,
            "default_post_format": "html",
            "blogs": [self._blog_json()],
        }
        return _envelope(200, {"user": user})

    def _post_json(self, post: dict[str, Any], *, npf: bool) -> dict[str, Any]:
        url = f"https://{self.blog_name}.tumblr.com/post/{post['id']}/{post['slug']}".rstrip("/")
        shown: dict[str, Any] = {
            "object_type": "post",
            "id": int(post["id"]),
            "id_string": post["id"],
            "blog_name": self.blog_name,
            "post_url": url,
            "slug": post["slug"],
            "timestamp": int(post["created_at"]),
            "state": post["state"],
            "tags": post["tags"],
            "short_url": f"https://tmblr.co/Z{post['id'][-8:]}",
            "summary": post["text"][:200],
        }
        if post["source_url"]:
            shown["source_url"] = post["source_url"]
        if npf:
            return shown | {"type": "blocks", "content": post["content"], "layout": [], "trail": []}
        paragraphs = "".join(f"<p>{line}</p>" for line in post["text"].splitlines())
        return shown | {"type": "text", "body": paragraphs}

    def _blog_json(self) -> dict[str, Any]:
        return {
            "name": self.blog_name,
            "title": self.blog_name.replace("-", " ").title(),
            "url": f"https://{self.blog_name}.tumblr.com/",
            "uuid": self.blog_uuid,
            "primary": True,
            "posts": sum(1 for p in self._posts if p["state"] == "published"),
            "description": "",
        }

    def _is_blog(self, identifier: str) -> bool:
        names = {self.blog_name, f"{self.blog_name}.tumblr.com", self.blog_uuid}
        return identifier in names

    # ---------------------------------------------------------------------- OAuth

    def _oauth_problem(self, req: Request) -> str | None:
        """Why the OAuth 1.0a signature does not hold; None when it does."""
        header = req.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return "no OAuth Authorization header"
        oauth = {k: unescape(v) for k, v in parse_authorization_header(header)}
        expected = {
            "oauth_consumer_key": self.consumer_key,
            "oauth_token": self.token,
            "oauth_signature_method": "HMAC-SHA1",
        }
        if any(oauth.get(k) != v for k, v in expected.items()):
            return "unknown key, token or signature method"
        nonce = (oauth.get("oauth_nonce", ""), oauth.get("oauth_timestamp", ""))
        if not all(nonce) or nonce in self._nonces:
            return "missing or replayed nonce"
        if not hmac.compare_digest(oauth.get("oauth_signature", ""), self._signature(req, header)):
            return "bad signature"
        self._nonces.add(nonce)
        return None

    def _signature(self, req: Request, header: str) -> str:
        """The signature the client should have sent, from the URL it called (RFC 5849 3.4)."""
        split = urlsplit(req.target)
        form = req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        body = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True) if form else None
        params = oauth_signature.collect_parameters(
            uri_query=split.query, body=body, headers={"Authorization": header}
        )
        uri = oauth_signature.base_string_uri(f"http://{req.headers['host']}{split.path}")
        # The stub says a dict; RFC 5849 (and oauthlib) take the (name, value) pairs.
        normalized = oauth_signature.normalize_parameters(params)  # type: ignore[arg-type]
        method: Literal["GET", "POST"] = "POST" if req.method == "POST" else "GET"  # routed
        base = oauth_signature.signature_base_string(method, uri, normalized)
        client = oauth1.Client(
            self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_key=self.token,
            resource_owner_secret=self.token_secret,
        )
        return str(oauth_signature.sign_hmac_sha1_with_client(base, client))


# ---------------------------------------------------------------------- NPF validation


def npf_problem(body: object, size: int) -> str | None:
    """What Tumblr would refuse in an NPF create body (400, subcode 8001); None if valid."""
    if size > MAX_BODY:
        return "the post is larger than 1 MB"
    if not isinstance(body, dict):
        return "expected a JSON object"
    content = body.get("content")
    if not isinstance(content, list) or not content:
        return "Posts must have content"
    if len(content) > MAX_BLOCKS:
        return f"at most {MAX_BLOCKS} content blocks"
    problems = (_block_problem(block) for block in content)
    return next((p for p in problems if p), None) or _fields_problem(body)


def _fields_problem(body: Mapping[str, Any]) -> str | None:
    if body.get("state", "published") not in STATES:
        return f"unknown state {body.get('state')!r}"
    for name in ("tags", "slug", "source_url"):
        if name in body and not isinstance(body[name], str):
            return f"{name} must be a string"
    source = body.get("source_url", "")
    if source and not source.startswith(("http://", "https://")):
        return "source_url must be an http(s) URL"
    return None


def _block_problem(block: object) -> str | None:
    if not isinstance(block, dict):
        return "a content block must be an object"
    if block.get("type") == "text":
        return _text_problem(block)
    if block.get("type") == "link":
        url = block.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return "a link block needs an http(s) url"
        extra = [k for k in ("title", "description") if not isinstance(block.get(k, ""), str)]
        return f"link block {extra[0]} must be a string" if extra else None
    return f"block type {block.get('type')!r} is not supported by this fake"


def _text_problem(block: Mapping[str, Any]) -> str | None:
    text = block.get("text")
    if not isinstance(text, str):
        return "a text block needs text"
    if len(text) > TEXT_BLOCK_LIMIT:  # Unicode code points, as Python counts
        return f"a text block holds at most {TEXT_BLOCK_LIMIT} characters"
    if "subtype" in block and block["subtype"] not in TEXT_SUBTYPES:
        return f"unknown text subtype {block['subtype']!r}"
    formatting = block.get("formatting", [])
    if not isinstance(formatting, list):
        return "formatting must be a list"
    return next((p for p in (_format_problem(f, len(text)) for f in formatting) if p), None)


def _format_problem(span: object, length: int) -> str | None:
    if not isinstance(span, dict) or span.get("type") not in FORMATS:
        return "unknown formatting"
    start, end = span.get("start"), span.get("end")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length):
        return f"formatting range {start}-{end} is outside the text"
    if span["type"] == "link" and not str(span.get("url", "")).startswith(("http://", "https://")):
        return "a link format needs an http(s) url"
    return None


# ---------------------------------------------------------------------------- helpers


def _blog_route(path: str) -> tuple[str | None, str]:
    """("blog identifier", "/rest") for /v2/blog/{blog}/rest, else (None, "")."""
    if not path.startswith("/v2/blog/"):
        return None, ""
    blog, _, rest = path.removeprefix("/v2/blog/").partition("/")
    return blog, f"/{rest}"


def _redirected(block: dict[str, Any]) -> dict[str, Any]:
    """Link blocks come back through Tumblr's redirector (reference §9.3)."""
    if block.get("type") != "link":
        return dict(block)
    return block | {"url": f"https://t.umblr.com/redirect?z={quote(block['url'], safe='')}"}


def _envelope(status: int, response: object) -> Reply:
    payload = {"meta": {"status": status, "msg": HTTPStatus(status).phrase}, "response": response}
    return Reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def _error(status: int, code: int, detail: str, msg: str = "") -> Reply:
    msg = msg or HTTPStatus(status).phrase
    payload = {
        "meta": {"status": status, "msg": msg},
        "response": [],
        "errors": [{"title": msg, "code": code, "detail": detail}],
    }
    return Reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def _rate_headers(limit: int, remaining: int, reset_in: int) -> dict[str, str]:
    return {
        "X-Ratelimit-Perhour-Limit": str(limit),
        "X-Ratelimit-Perhour-Remaining": str(remaining),
        "X-Ratelimit-Perhour-Reset": str(reset_in),
    }


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query[name][0])
    except (KeyError, IndexError, ValueError):
        return default


class _Handler(FaultyHandler[FakeTumblr]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        request = Request(self.command, self.path, split.path, query, headers, body)
        app = self.server.app
        self.answer(app.handle(request), app.stopping)
