"""Threads: a TEXT container, then `threads_publish` (reference/platforms.md §10).

Nothing is public until the container is published, and the container id is the only handle
on an attempt, so each part's container id (and, once published, its media id) is kept in the
account's TokenCache under the part's delivery key, as the reference advises ("persist the
container id after step 1"). A retry then asks the platform about that container instead of
guessing: FINISHED is published again (a rate limit at `threads_publish`, the usual failure,
costs no second container), PUBLISHED is done, EXPIRED or ERROR starts afresh. Re-creating
instead would leave only a fuzzy text match to tell a lost answer from a lost request. The
entries are dropped once the whole post is out, and any left behind after STATE_TTL.

Thread mode chains replies with `reply_to_id`; a part already published is never sent again.
The long-lived token (60 days) is refreshed about weekly before posting, and the new token is
stored through the TokenCache, since a token never refreshed simply dies.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from syndicate.errors import (
    ConfigError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    TransientError,
)
from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary
from syndicate.platforms.base import MemoryTokenCache, TokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.graph import GraphClient, classify
from syndicate.platforms.rules import RULES

__all__ = ["ThreadsPublisher", "classify"]

DEFAULT_BASE_URL = "https://graph.threads.net"
DEFAULT_VERSION = "v1.0"
REFRESH_EVERY = timedelta(days=7)
# A refresh fails while the token is under 24 hours old (and in outages): try again a day on.
REFRESH_RETRY = timedelta(days=1)
# Containers expire after 24 hours; a part waiting longer than this is long past retrying.
STATE_TTL = timedelta(days=7)
LISTING_LIMIT = 25
_PART = "part:"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Part:
    key: str  # the part's own delivery key
    text: str
    number: int  # 0: the thread's head; later parts are replies

    @property
    def listing(self) -> str:
        # A user's replies are not in their threads listing.
        return "threads" if self.number == 0 else "replies"


class ThreadsPublisher:
    PLATFORM: ClassVar[str] = "threads"
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("base_url", default=DEFAULT_BASE_URL, url=True, help="the Threads API host"),
        OptionSpec(
            "api_version", default=DEFAULT_VERSION, pattern=r"v\d+\.\d+", help="like 'v1.0'"
        ),
        OptionSpec("user_id", required=True, pattern=r"\d+", help="the numeric Threads user id"),
        OptionSpec(
            "access_token",
            required=True,
            secret=True,
            help="a long-lived token with threads_basic and threads_content_publish",
        ),
    )
    MAX_LENGTH: ClassVar[int] = RULES["threads"].limit
    MAX_LINKS: ClassVar[int] = 5  # since 2025-12-22; more fails at container creation

    def __init__(
        self,
        account: Account,
        *,
        timeout: float,
        tokens: TokenCache | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account = account
        self.user_id = account.option("user_id")
        self.tokens: TokenCache = tokens or MemoryTokenCache()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._configured = account.option("access_token")
        # Which configured token the cache's rotated one descends from: a new one in the
        # config replaces it.
        self._lineage = hashlib.sha256(self._configured.encode()).hexdigest()[:16]
        self.client = GraphClient(
            account.option("base_url", DEFAULT_BASE_URL),
            account.option("api_version", DEFAULT_VERSION),
            timeout=timeout,
        )

    def render(self, summary: Summary) -> Post:
        return render(summary, self.account.compose, RULES[self.PLATFORM])

    # ------------------------------------------------------------------ publish

    def publish(self, post: Post, key: str) -> PublishResult:
        """The post, or a reply chain of its thread parts; returns the first part's result."""
        parts = _parts(post, key)
        for part in parts:
            self._check_links(part.text)
        token = self._access_token(refresh=True)
        media: list[str] = []
        for part in parts:
            media.append(self._publish_part(token, part, reply_to=media[-1] if media else ""))
        result = self._result(token, media[0])
        self._forget(part.key for part in parts)
        return result

    def _check_links(self, text: str) -> None:
        links = len(RULES[self.PLATFORM].find_urls(text))
        if links > self.MAX_LINKS:
            raise PermanentError(f"{links} links in one post; Threads takes {self.MAX_LINKS}")

    def _publish_part(self, token: str, part: _Part, reply_to: str) -> str:
        """The part's media id, publishing only what is not out yet."""
        state = self._state(part.key)
        if state.get("media"):
            return state["media"]
        container = state.get("container", "")
        if container:
            status = self._status(token, container)
            if status == "PUBLISHED":
                return self._recover_media(token, part)
            if status == "IN_PROGRESS":
                raise TransientError(f"container {container} is still being processed")
            if status != "FINISHED":  # EXPIRED or ERROR: it can never be published
                container = ""
        if not container:
            container = self._create_container(token, part.text, reply_to)
            self._remember(part.key, container=container)
        answer = self.client.call(
            "POST", f"{self.user_id}/threads_publish", token, {"creation_id": container}
        )
        media = _id(answer, "threads_publish", ambiguous=True)
        self._remember(part.key, media=media)
        return media

    def _create_container(self, token: str, text: str, reply_to: str) -> str:
        params = {"media_type": "TEXT", "text": text}
        if reply_to:
            params["reply_to_id"] = reply_to
        # An unpublished container is never seen, so a lost answer here is only a retry.
        answer = self.client.call("POST", f"{self.user_id}/threads", token, params, ambiguous=False)
        return _id(answer, "threads", ambiguous=False)

    def _status(self, token: str, container: str) -> str:
        answer = self.client.call("GET", container, token, {"fields": "status,error_message"})
        status = answer.get("status") if isinstance(answer, dict) else None
        if not isinstance(status, str):
            raise OutcomeUnknown(f"container {container}: no status in the answer")
        return status

    def _recover_media(self, token: str, part: _Part) -> str:
        """A published container whose answer was lost: find the post it became."""
        media = self._find_media(token, part)
        if media is None:
            raise OutcomeUnknown(
                f"part {part.number + 1} is published but not among the recent {part.listing}"
            )
        return media

    def _result(self, token: str, media: str) -> PublishResult:
        answer = self.client.call("GET", media, token, {"fields": "permalink"})
        permalink = answer.get("permalink") if isinstance(answer, dict) else None
        return PublishResult(media, str(permalink or ""))

    # --------------------------------------------------------------- reconcile

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        """The head's result when every part is out. A thread cut short answers None:
        `publish` then resumes after the parts already out, never repeating one."""
        token = self._access_token(refresh=True)
        parts = _parts(post, key)
        media = [self._published(token, part) for part in parts[:1]]
        for part in parts[1:]:
            if media[-1] is None:
                break
            media.append(self._published(token, part))
        if media[0] is None or None in media:
            return None
        result = self._result(token, media[0])
        self._forget(part.key for part in parts)
        return result

    def _published(self, token: str, part: _Part) -> str | None:
        state = self._state(part.key)
        if state.get("media"):
            return state["media"]
        if container := state.get("container"):
            if self._status(token, container) != "PUBLISHED":
                return None  # FINISHED, EXPIRED, ERROR or IN_PROGRESS: never seen by anyone
            return self._recover_media(token, part)
        return self._find_media(token, part)

    def _find_media(self, token: str, part: _Part) -> str | None:
        """The recent post with this part's text (or all of its links), remembered so that a
        resumed publish does not send it again."""
        answer = self.client.call(
            "GET",
            f"{self.user_id}/{part.listing}",
            token,
            {"fields": "id,permalink,text,timestamp", "limit": str(LISTING_LIMIT)},
        )
        items = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise OutcomeUnknown(f"GET /{self.user_id}/{part.listing}: no data list")
        links = [part.text[s:e] for s, e in RULES[self.PLATFORM].find_urls(part.text)]
        for item in items:
            if isinstance(item, dict) and _same_text(str(item.get("text") or ""), part, links):
                media = str(item["id"])
                self._remember(part.key, media=media)
                return media
        return None

    def check(self) -> str:
        me = self.client.call(
            "GET", "me", self._access_token(refresh=False), {"fields": "id,username"}
        )
        if not isinstance(me, dict):
            raise OutcomeUnknown("GET /me: not a JSON object")
        if str(me.get("id")) != self.user_id:
            raise ConfigError(f"the token is for Threads user {me.get('id')}, not {self.user_id}")
        return f"@{me.get('username')} on Threads"

    # ------------------------------------------------------------------ tokens

    def _access_token(self, *, refresh: bool) -> str:
        values = self.tokens.load()
        if refresh and self._refresh_due(values):
            values = self.tokens.update(self._refresh)
        return values["access_token"] if self._current(values) else self._configured

    def _current(self, values: dict[str, str]) -> bool:
        return values.get("lineage") == self._lineage and bool(values.get("access_token"))

    def _refresh_due(self, values: dict[str, str]) -> bool:
        if not self._current(values):
            return True  # the configured token's age is unknown: refresh to learn it works
        return self.clock() >= _instant(values.get("next_refresh", ""))

    def _refresh(self, values: dict[str, str]) -> dict[str, str] | None:
        """Run under the account's lock: another worker may have refreshed meanwhile."""
        if not self._refresh_due(values):
            return None
        if not self._current(values):
            values = {**values, "access_token": self._configured, "lineage": self._lineage}
        now = self.clock()
        try:
            answer = self.client.call(
                "GET",
                "refresh_access_token",
                values["access_token"],
                {"grant_type": "th_refresh_token"},
                versioned=False,
            )
            token = str(answer["access_token"])
        except (PublishError, KeyError, TypeError) as e:
            # Posting can still work with the current token; a dead one shows up as AuthError.
            log.warning(
                "threads account %s: token refresh failed (%s: %s); next try in a day",
                self.account.name, type(e).__name__, e,
            )  # fmt: skip
            return {**values, "next_refresh": (now + REFRESH_RETRY).isoformat()}
        return {**values, "access_token": token, "next_refresh": (now + REFRESH_EVERY).isoformat()}

    # ---------------------------------------------------------- per-part state

    def _state(self, part_key: str) -> dict[str, str]:
        raw = self.tokens.load().get(_PART + part_key)
        return _decode(raw)

    def _remember(self, part_key: str, **fields: str) -> None:
        now = self.clock()

        def change(values: dict[str, str]) -> dict[str, str]:
            state = _decode(values.get(_PART + part_key)) | fields | {"at": now.isoformat()}
            kept = {k: v for k, v in values.items() if not _stale(k, v, now)}
            return {**kept, _PART + part_key: json.dumps(state)}

        self.tokens.update(change)

    def _forget(self, part_keys: Iterable[str]) -> None:
        names = {_PART + key for key in part_keys}
        self.tokens.update(lambda values: {k: v for k, v in values.items() if k not in names})


def _parts(post: Post, key: str) -> list[_Part]:
    texts = post.thread or (post.text,)
    return [_Part(key if n == 0 else f"{key}-{n + 1}", text, n) for n, text in enumerate(texts)]


def _same_text(shown: str, part: _Part, links: list[str]) -> bool:
    if shown.strip() == part.text.strip():
        return True
    # Whole URLs, not substrings: /post must not match /post-2.
    found = {shown[start:end] for start, end in RULES["threads"].find_urls(shown)}
    return bool(links) and set(links) <= found


def _id(answer: Any, endpoint: str, *, ambiguous: bool) -> str:
    value = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        return str(value)
    message = f"POST /{endpoint} answered without an id"
    raise OutcomeUnknown(message) if ambiguous else TransientError(message)


def _decode(raw: str | None) -> dict[str, str]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _stale(name: str, raw: str, now: datetime) -> bool:
    return name.startswith(_PART) and now - _instant(_decode(raw).get("at", "")) > STATE_TTL


def _instant(value: str) -> datetime:
    """A stored ISO timestamp; a missing or broken one is long past."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
