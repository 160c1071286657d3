"""A stateful loopback fake of the Threads API (reference/platforms.md §10).

One user. `POST /{version}/{user}/threads` validates `media_type=TEXT`, the 500-unit length
(counted by the same `threads_length` the publisher renders with), the 5-link cap
(THREADS_API__LINK_LIMIT_EXCEEDED) and `reply_to_id`, and answers a container that is
FINISHED at once; `POST /{version}/{user}/threads_publish?creation_id=` makes it PUBLISHED
and answers the media id, once (a second publish is refused, as is a container past its 24
hours: EXPIRED). Reads: a container's `status`, a media's `permalink`, the user's `threads`
and `replies` newest first, `me`, and `GET /refresh_access_token` (th_refresh_token, allowed
once the token is 24 hours old; the old token keeps working until its own 60 days end).
Errors, usage headers and faults come from `GraphFake`; faults hit `threads_publish`, the
call that makes a post public.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from syndicate.platforms.rules import RULES, threads_length
from tests.fakes.graph import GraphFake, GraphRequest, Reply, json_reply, limit_param, select

DAY = 86400.0
TOKEN_LIFETIME = 60 * DAY
CONTAINER_TTL = DAY
MAX_LENGTH = 500
MAX_LINKS = 5
_FIRST_CONTAINER = 17_889_615_691_921_001
_FIRST_MEDIA = 18_028_000_000_000_001


class FakeThreads(GraphFake):
    """Fake graph.threads.net for one user whose long-lived token is `token_age` old."""

    _label = "FakeThreads"
    usage_type = "threads"
    rate_limit_code = 4
    rate_limit_message = "(#4) Application request limit reached"

    def __init__(
        self,
        *,
        user_id: str = "25000000000000001",
        username: str = "writer",
        token: str = "threads-token",
        token_age: float = 2 * DAY,
        version: str = "v1.0",
        clock: Callable[[], float] = time.time,
        call_limit: int = 200,
    ) -> None:
        super().__init__(clock=clock, call_limit=call_limit)
        self.user_id = user_id
        self.username = username
        self.version = version
        self._first_token = token
        self._tokens: dict[str, float] = {token: clock() - token_age}
        self._containers: dict[str, dict[str, Any]] = {}
        self._media: list[dict[str, Any]] = []
        self._next_container = _FIRST_CONTAINER
        self._next_media = _FIRST_MEDIA

    # ----------------------------------------------------------- introspection

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Published media, oldest first: id, text, container (the client's handle),
        reply_to, permalink, created (clock seconds), token."""
        with self._lock:
            return copy.deepcopy(self._media)

    @property
    def containers(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._containers)

    @property
    def tokens(self) -> dict[str, float]:
        """Every token issued: token -> issued at (clock seconds)."""
        with self._lock:
            return dict(self._tokens)

    def issue_token(self, *, age: float = 0.0) -> str:
        """A new long-lived token, as the authorization flow would hand out, `age` old."""
        with self._lock:
            token = f"{self._first_token}-issued-{len(self._tokens)}"
            self._tokens[token] = self.clock() - age
            return token

    def posts_with_link(self, url: str) -> int:
        with self._lock:
            return sum(1 for m in self._media if url in m["text"])

    def reset(self) -> None:
        """Forget media, containers, requests, faults and blocks; ids keep increasing."""
        with self._lock:
            self._containers, self._media = {}, []
        self.reset_faults()

    # ------------------------------------------------------------------ hooks

    def account_of(self, req: GraphRequest) -> str:
        return self.user_id

    def creates_post(self, req: GraphRequest) -> bool:
        return req.method == "POST" and req.path.endswith("/threads_publish")

    def route(self, req: GraphRequest) -> Reply:
        if req.path == "/refresh_access_token" and req.method == "GET":
            return self._refresh(req)
        refused = self._authorize(req)
        if refused is not None:
            return refused
        version, _, rest = req.path.lstrip("/").partition("/")
        node, _, edge = rest.partition("/")
        if version != self.version or not node:
            return self.unknown_path(req)
        if node in (self.user_id, "me"):
            return self._user_edge(req, edge)
        if req.method == "GET" and not edge:
            return self._node(req, node)
        return self.unknown_path(req)

    def _user_edge(self, req: GraphRequest, edge: str) -> Reply:
        routes: dict[tuple[str, str], Callable[[GraphRequest], Reply]] = {
            ("POST", "threads"): self._create_container,
            ("POST", "threads_publish"): self._publish,
            ("GET", "threads"): lambda r: self._listing(r, replies=False),
            ("GET", "replies"): lambda r: self._listing(r, replies=True),
            ("GET", ""): lambda r: json_reply(200, select(self._profile(), r.fields())),
        }
        handler = routes.get((req.method, edge))
        return handler(req) if handler else self.unknown_path(req)

    def _authorize(self, req: GraphRequest) -> Reply | None:
        if not req.token:
            return self.error(400, 104, "An access token is required to request this resource.")
        issued = self._tokens.get(req.token)
        if issued is None:
            return self.token_error(None, "Invalid OAuth access token - Cannot parse access token")
        if self.clock() - issued >= TOKEN_LIFETIME:
            return self.token_error(463, "Session has expired.")
        return None

    # ----------------------------------------------------------------- routes

    def _create_container(self, req: GraphRequest) -> Reply:
        text, reply_to = req.params.get("text", ""), req.params.get("reply_to_id", "")
        problem = self._container_problem(req.params.get("media_type", ""), text, reply_to)
        if problem is not None:
            return problem
        container = str(self._next_container)
        self._next_container += 1
        self._containers[container] = {
            "id": container,
            "text": text,
            "reply_to": reply_to or None,
            "created": self.clock(),
            "media": None,
        }
        return json_reply(200, {"id": container})

    def _container_problem(self, media_type: str, text: str, reply_to: str) -> Reply | None:
        if media_type != "TEXT":
            return self.error(400, 100, f"Param media_type {media_type!r} needs media (fake: TEXT)")
        if not text.strip():
            return self.error(400, 100, "Param text is required for TEXT posts")
        if threads_length(text) > MAX_LENGTH:
            return self.error(400, 100, f"Param text must be at most {MAX_LENGTH} characters long")
        if len(RULES["threads"].find_urls(text)) > MAX_LINKS:
            return self.error(400, 100, "THREADS_API__LINK_LIMIT_EXCEEDED")
        if reply_to and all(m["id"] != reply_to for m in self._media):
            return self._missing(reply_to)
        return None

    def _publish(self, req: GraphRequest) -> Reply:
        container = self._containers.get(req.params.get("creation_id", ""))
        if container is None:
            return self._missing(req.params.get("creation_id", ""))
        status = self._status(container)
        if status != "FINISHED":
            return self.error(400, 100, f"The media container is {status} and cannot be published")
        number = self._next_media
        self._next_media += 1
        shortcode = f"D{number % 10**10:010d}"
        media = {
            "id": str(number),
            "text": container["text"],
            "container": container["id"],
            "reply_to": container["reply_to"],
            "shortcode": shortcode,
            "permalink": f"https://www.threads.com/@{self.username}/post/{shortcode}",
            "created": self.clock(),
            "token": req.token,
        }
        self._media.append(media)
        container["media"] = media["id"]
        return json_reply(200, {"id": media["id"]})

    def _listing(self, req: GraphRequest, *, replies: bool) -> Reply:
        chosen = [m for m in reversed(self._media) if bool(m["reply_to"]) == replies]
        page = chosen[: limit_param(req)]
        data = [select(self._media_json(m), req.fields()) for m in page]
        return json_reply(200, {"data": data, "paging": {"cursors": {"before": "", "after": ""}}})

    def _node(self, req: GraphRequest, node: str) -> Reply:
        container = self._containers.get(node)
        if container is not None:
            return json_reply(
                200, select({"id": node, "status": self._status(container)}, req.fields())
            )
        for media in self._media:
            if media["id"] == node:
                return json_reply(200, select(self._media_json(media), req.fields()))
        return self._missing(node)

    def _refresh(self, req: GraphRequest) -> Reply:
        if req.params.get("grant_type") != "th_refresh_token":
            return self.error(400, 100, "Param grant_type must be th_refresh_token")
        refused = self._authorize(req)
        if refused is not None:
            return refused
        if self.clock() - self._tokens[req.token] < DAY:
            return self.error(
                400, 100, "The access token cannot be refreshed before it is 24 hours old"
            )
        token = f"{self._first_token}-refreshed-{len(self._tokens)}"
        self._tokens[token] = self.clock()
        answer = {"access_token": token, "token_type": "bearer", "expires_in": int(TOKEN_LIFETIME)}
        return json_reply(200, answer)

    # ---------------------------------------------------------------- helpers

    def _status(self, container: dict[str, Any]) -> str:
        if container["media"] is not None:
            return "PUBLISHED"
        expired = self.clock() - container["created"] >= CONTAINER_TTL
        return "EXPIRED" if expired else "FINISHED"

    def _missing(self, node: str) -> Reply:
        message = f"Unsupported request. Object with ID '{node}' does not exist."
        return self.error(400, 100, message, subcode=33)

    def _profile(self) -> dict[str, Any]:
        return {"id": self.user_id, "username": self.username, "name": self.username.title()}

    def _media_json(self, media: dict[str, Any]) -> dict[str, Any]:
        when = datetime.fromtimestamp(media["created"], UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        return {
            "id": media["id"],
            "media_product_type": "THREADS",
            "media_type": "TEXT_POST",
            "text": media["text"],
            "permalink": media["permalink"],
            "shortcode": media["shortcode"],
            "timestamp": when,
            "username": self.username,
            "is_reply": media["reply_to"] is not None,
            "replied_to": {"id": media["reply_to"]} if media["reply_to"] else None,
        }
