"""A stateful loopback fake of the Facebook Pages Graph API (reference/platforms.md §8).

One Page: `POST /{version}/{page_id}/feed` (form or query, `access_token` required, optional
`appsecret_proof`) stores a post and answers `{"id": "<page>_<n>"}`; a message identical to
the Page's latest post is refused with #506 "Duplicate status message" (the user-facing text
says "identical to the last one you posted", so only the latest counts: a retry after another
post is not caught, and the publisher must not rely on #506 alone). Reads: the Page
(`?fields=name`), a post (`?fields=permalink_url`), and `published_posts` newest first with
field selection. Errors, usage headers and faults come from `GraphFake`.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from syndicate.platforms.textlen import facebook_length
from tests.fakes.graph import GraphFake, GraphRequest, Reply, json_reply, limit_param, select

MAX_MESSAGE = 63206  # unverified (reference §8.1)
_FIRST_POST = 122_100_000_000_000_001
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)


class FakeFacebook(GraphFake):
    """Fake Graph API host with one Page the token manages."""

    _label = "FakeFacebook"
    usage_type = "pages"
    rate_limit_code = 32
    rate_limit_message = "(#32) Page request limit reached"

    def __init__(
        self,
        *,
        page_id: str = "108000000000001",
        page_name: str = "Notes from the Road",
        token: str = "page-token",
        app_secret: str = "",
        version: str = "v25.0",
        clock: Callable[[], float] = time.time,
        call_limit: int = 200,
    ) -> None:
        super().__init__(clock=clock, call_limit=call_limit)
        self.page_id = page_id
        self.page_name = page_name
        self.token = token
        self.app_secret = app_secret
        self.version = version
        self.token_expired = False
        self._next_id = _FIRST_POST
        self._posts: list[dict[str, Any]] = []

    # ----------------------------------------------------------- introspection

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Stored posts, oldest first: id, text (the message), link, created (clock seconds),
        permalink_url. A Page post has no client-side key."""
        with self._lock:
            return copy.deepcopy(self._posts)

    def posts_with_link(self, url: str) -> int:
        with self._lock:
            return sum(1 for p in self._posts if url in p["text"] or p["link"] == url)

    def reset(self) -> None:
        """Forget posts, requests, faults and blocks; ids keep increasing."""
        with self._lock:
            self._posts = []
            self.token_expired = False
        self.reset_faults()

    # ------------------------------------------------------------------ hooks

    def account_of(self, req: GraphRequest) -> str:
        return self.page_id

    def creates_post(self, req: GraphRequest) -> bool:
        return req.method == "POST" and req.path == f"/{self.version}/{self.page_id}/feed"

    def route(self, req: GraphRequest) -> Reply:
        refused = self._authorize(req)
        if refused is not None:
            return refused
        prefix, _, rest = req.path.lstrip("/").partition("/")
        if prefix != self.version:
            return self.unknown_path(req)
        page, _, edge = rest.partition("/")
        if req.method == "POST" and page == self.page_id and edge == "feed":
            return self._create(req)
        if req.method == "GET" and page == self.page_id and edge in ("published_posts", "feed"):
            return self._listing(req)
        if req.method == "GET" and page == self.page_id and not edge:
            return json_reply(
                200, select({"id": self.page_id, "name": self.page_name}, req.fields())
            )
        if req.method == "GET" and not edge:
            return self._post(req, page)
        return self.unknown_path(req)

    def _authorize(self, req: GraphRequest) -> Reply | None:
        if not req.token:
            return self.error(400, 104, "An access token is required to request this resource.")
        if req.token != self.token:
            return self.token_error(None, "Invalid OAuth access token - Cannot parse access token")
        if self.token_expired:
            return self.token_error(463, "Session has expired.")
        proof = req.params.get("appsecret_proof", "")
        if self.app_secret and proof != _proof(self.app_secret, self.token):
            return self.error(400, 100, "Invalid appsecret_proof provided in the API argument")
        return None

    # ----------------------------------------------------------------- routes

    def _create(self, req: GraphRequest) -> Reply:
        message, link = req.params.get("message", ""), req.params.get("link", "")
        if not message.strip() and not link:
            return self.error(400, 100, "(#100) Missing message or attachment")
        if link and not _URL.fullmatch(link):
            return self.error(400, 100, "(#100) The parameter link is not a valid URL")
        if facebook_length(message) > MAX_MESSAGE:
            return self.error(400, 100, "(#100) The message is too long")
        if self._posts and self._posts[-1]["text"] == message:
            return self.error(
                400,
                506,
                "(#506) Duplicate status message",
                user_title="Duplicate Status Update",
                user_msg="This status update is identical to the last one you posted.",
            )
        return json_reply(200, {"id": self._store(message, link)})

    def _store(self, message: str, link: str) -> str:
        number = self._next_id
        self._next_id += 1
        post_id = f"{self.page_id}_{number}"
        self._posts.append(
            {
                "id": post_id,
                "text": message,
                "link": link,
                "created": self.clock(),
                "permalink_url": f"https://www.facebook.com/{self.page_id}/posts/{number}",
            }
        )
        return post_id

    def _listing(self, req: GraphRequest) -> Reply:
        newest = [self._post_json(p) for p in reversed(self._posts)]
        page = newest[: limit_param(req)]
        data = [select(p, req.fields() or ["message", "created_time"]) for p in page]
        return json_reply(200, {"data": data, "paging": {"cursors": {"before": "", "after": ""}}})

    def _post(self, req: GraphRequest, post_id: str) -> Reply:
        for post in self._posts:
            if post["id"] == post_id:
                return json_reply(200, select(self._post_json(post), req.fields()))
        return self.error(
            400,
            100,
            f"Unsupported get request. Object with ID '{post_id}' does not exist.",
            subcode=33,
        )

    def _post_json(self, post: dict[str, Any]) -> dict[str, Any]:
        created = datetime.fromtimestamp(post["created"], UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        item: dict[str, Any] = {
            "id": post["id"],
            "message": post["text"] or None,
            "created_time": created,
            "permalink_url": post["permalink_url"],
        }
        if post["link"]:
            shim = f"https://l.facebook.com/l.php?u={quote(post['link'], safe='')}"
            attachment = {"type": "share", "unshimmed_url": post["link"], "url": shim}
            item["attachments"] = {"data": [attachment]}
        return item


def _proof(app_secret: str, token: str) -> str:
    """What "Require App Secret" checks: hex HMAC-SHA256 of the token, keyed by the secret."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
