"""Facebook Pages: POST /{version}/{page_id}/feed with the message and the entry's link.

Plain requests through the shared Graph transport (`graph.py`): the page access token is a
parameter, failures are classified by the envelope's `code` (reference/platforms.md §8). A
Page post has no idempotency key; what protects a retry is Facebook's own duplicate check
(#506 "Duplicate status message") and, after an ambiguous failure, a look through the Page's
recent published posts for the entry's link.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, ClassVar

from syndicate.errors import AlreadyPosted, OutcomeUnknown, PublishError
from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary
from syndicate.platforms.base import TokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.graph import GraphClient, classify
from syndicate.platforms.rules import RULES

__all__ = ["FacebookPublisher", "classify"]

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v25.0"
# Enough to reach back past anything else a Page posts between a send and its reconciliation.
LISTING_LIMIT = 25
LISTING_FIELDS = "id,message,created_time,permalink_url,attachments{unshimmed_url,url}"

log = logging.getLogger(__name__)


class FacebookPublisher:
    PLATFORM: ClassVar[str] = "facebook"
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("base_url", default=DEFAULT_BASE_URL, url=True, help="the Graph API host"),
        OptionSpec(
            "api_version",
            default=DEFAULT_VERSION,
            pattern=r"v\d+\.\d+",
            help="a Graph API version like 'v25.0'",
        ),
        OptionSpec("page_id", required=True, pattern=r"\d+", help="the Page's numeric id"),
        OptionSpec(
            "page_access_token",
            required=True,
            secret=True,
            help="a Page token with pages_manage_posts and pages_read_engagement",
        ),
        OptionSpec(
            "app_secret",
            default="",
            secret=True,
            help="only when the app requires appsecret_proof on every call",
        ),
    )
    # Unverified (reference §8.1); summaries never come near it.
    MAX_LENGTH: ClassVar[int] = RULES["facebook"].limit

    def __init__(
        self, account: Account, *, timeout: float, tokens: TokenCache | None = None
    ) -> None:
        self.account = account
        self.page_id = account.option("page_id")
        self._token = account.option("page_access_token")
        self.client = GraphClient(
            account.option("base_url", DEFAULT_BASE_URL),
            account.option("api_version", DEFAULT_VERSION),
            timeout=timeout,
            app_secret=account.option("app_secret"),
        )

    def render(self, summary: Summary) -> Post:
        return render(summary, self.account.compose, RULES[self.PLATFORM])

    def publish(self, post: Post, key: str) -> PublishResult:
        """One Page post of `post.text` (a Page has no reply chains, so a thread's later parts
        are not sent); its last URL goes in `link` too, for the preview card."""
        params = {"message": post.text}
        if links := _links(post.text):
            params["link"] = links[-1]
        try:
            answer = self.client.call("POST", f"{self.page_id}/feed", self._token, params)
        except AlreadyPosted as e:
            raise AlreadyPosted(str(e), self._duplicate_of(key, post)) from e
        post_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(post_id, str) or "_" not in post_id:
            # 2xx: the post most likely exists; only a lookup can tell.
            raise OutcomeUnknown(f"POST /{self.page_id}/feed answered without a post id")
        return PublishResult(post_id, public_url(post_id))

    def _duplicate_of(self, key: str, post: Post) -> PublishResult | None:
        """The post #506 refers to, when the listing finds it; the duplicate is certain
        either way, so a failed lookup only costs the remote id."""
        try:
            return self.find_existing(key, post)
        except PublishError as e:
            log.warning("facebook %s: duplicate not found in the listing: %s", self.page_id, e)
            return None

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        """The Page's recent published post carrying this post's links (or its exact text)."""
        answer = self.client.call(
            "GET",
            f"{self.page_id}/published_posts",
            self._token,
            {"fields": LISTING_FIELDS, "limit": str(LISTING_LIMIT)},
        )
        items = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise OutcomeUnknown(f"GET /{self.page_id}/published_posts: no data list")
        links = _links(post.text)
        for item in items:
            if isinstance(item, dict) and _same_post(item, post.text, links):
                post_id = str(item["id"])
                return PublishResult(post_id, str(item.get("permalink_url") or public_url(post_id)))
        return None

    def check(self) -> str:
        page = self.client.call("GET", self.page_id, self._token, {"fields": "name"})
        name = page.get("name") if isinstance(page, dict) else None
        return f"{name or self.page_id} on Facebook"


def public_url(post_id: str) -> str:
    """`{page-id}_{post-id}` -> the post's address (reference §8.1)."""
    page, _, post = post_id.partition("_")
    return f"https://www.facebook.com/{page}/posts/{post}"


def _links(text: str) -> list[str]:
    return [text[start:end] for start, end in RULES["facebook"].find_urls(text)]


def _same_post(item: dict[str, Any], text: str, links: list[str]) -> bool:
    message = str(item.get("message") or "")
    if message.strip() == text.strip():
        return True
    # Whole URLs, not substrings: /post must not match /post-2.
    shown = {*_links(message), *_attachment_urls(item)}
    return bool(links) and set(links) <= shown


def _attachment_urls(item: dict[str, Any]) -> Iterator[str]:
    attachments = item.get("attachments")
    data = attachments.get("data") if isinstance(attachments, dict) else None
    for attachment in data if isinstance(data, list) else []:
        if isinstance(attachment, dict):
            # `url` is Facebook's l.php redirect; `unshimmed_url` is the link as posted.
            yield str(attachment.get("unshimmed_url") or attachment.get("url") or "")
