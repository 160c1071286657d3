"""Generic webhook: one signed JSON POST per post, in our own shape or Slack's or Discord's.

The body is signed with HMAC-SHA256 over its raw bytes (`X-Syndicate-Signature:
sha256=<hex>`), and every request names its delivery (`X-Syndicate-Delivery: <key>`, stable
across retries) so a receiver can drop repeats. A webhook cannot be asked what it received:
after an unknown outcome, re-sending is safe only when the account says the receiver
de-duplicates (`dedupe = true`); otherwise the delivery waits for a person.

The URL is a secret option: Slack and Discord hooks carry their token in the path, so messages
name the host only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from syndicate.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.httpenv import HttpSession
from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary
from syndicate.platforms.base import MemoryTokenCache, TokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.cuts import join_sentences
from syndicate.platforms.rules import RULES, UNLIMITED

CONNECT_TIMEOUT = 5.0


class _Redactor(logging.Filter):
    """Hides hook URLs from urllib3's DEBUG lines, which show each request's path: a Slack
    or Discord hook's path is its token."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in sorted(self.secrets, key=len, reverse=True):
                message = message.replace(secret, "***")
            record.msg, record.args = message, ()
        return True


_REDACTOR = _Redactor()
logging.getLogger("urllib3.connectionpool").addFilter(_REDACTOR)
USER_AGENT = "syndicate-webhook (+https://github.com/syndicate)"
FORMATS = ("json", "slack", "discord")


@dataclass(frozen=True)
class WebhookPost(Post):
    """A Post with the entry's parts, for the JSON format's separate fields."""

    title: str = ""
    link: str = ""
    summary: str = ""
    categories: tuple[str, ...] = ()


class WebhookPublisher:
    PLATFORM: ClassVar[str] = "webhook"
    # Characters a message may hold: Discord refuses more than 2,000; Slack truncates past 40,000.
    FORMAT_LIMITS: ClassVar[Mapping[str, int]] = {
        "json": UNLIMITED,
        "slack": 40_000,
        "discord": 2_000,
    }
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec(
            "url", required=True, secret=True, url=True, help="the receiver's URL (a secret)"
        ),
        OptionSpec("secret", secret=True, default="", help="HMAC-SHA256 key; empty: unsigned"),
        OptionSpec("format", default="json", choices=FORMATS, help="the body's shape"),
        OptionSpec("dedupe", bool, default=False, help="the receiver drops repeated deliveries"),
        OptionSpec("max_length", int, default=0, minimum=0, help="0: the format's own limit"),
    )

    def __init__(
        self,
        account: Account,
        *,
        timeout: float,
        tokens: TokenCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self.url = account.option("url")
        parts = urlsplit(self.url)
        _REDACTOR.secrets.update(s for s in (self.url, parts.path) if len(s) > 1)
        self.where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # no path, no userinfo
        self.secret = account.option("secret")
        self.format = account.option("format", "json")
        self.dedupe = account.options.get("dedupe") is True
        self.limit = int(account.option("max_length", "0") or 0) or self.FORMAT_LIMITS[self.format]
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.tokens = tokens or MemoryTokenCache()  # nothing rotates
        self.clock = clock
        self.session = HttpSession()
        self.session.headers["User-Agent"] = USER_AGENT

    def render(self, summary: Summary) -> Post:
        post = render(summary, self.account.compose, RULES[self.PLATFORM], limit=self.limit)
        return WebhookPost(
            **_post_fields(post),
            title=summary.title,
            link=summary.link,
            summary=summary.abstract or join_sentences(summary.sentences),
            categories=summary.categories,
        )

    def publish(self, post: Post, key: str) -> PublishResult:
        body = json.dumps(payload(post, key, self.format), ensure_ascii=False).encode("utf-8")
        response = self._send(body, key)
        return _result(response, key)

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        if self.dedupe:
            return None  # the receiver drops a repeat of this key: re-sending is safe
        raise OutcomeUnknown(
            f"a webhook cannot be asked whether it received delivery {key}; check the receiver"
            " (or set dedupe = true if it drops repeated X-Syndicate-Delivery keys)"
        )

    def check(self) -> str:
        """Sends nothing: a webhook has no "who am I"."""
        signed = "signed with a secret" if self.secret else "unsigned (no secret set)"
        return f"{self.format} webhook to {self.where}, {signed}"

    def _send(self, body: bytes, key: str) -> requests.Response:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Syndicate-Delivery": key,
            "X-Syndicate-Timestamp": str(int(self.clock())),
        }
        if self.secret:
            headers["X-Syndicate-Signature"] = signature(self.secret, body)
        try:
            response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.ConnectTimeout as e:
            raise TransientError(f"{self.where}: connect timeout") from e
        except requests.ConnectionError as e:
            raise _connection_error(self.where, e) from e
        except requests.Timeout as e:
            raise OutcomeUnknown(f"{self.where}: no answer within {self.timeout[1]}s") from e
        except requests.RequestException as e:
            # Its text holds the URL, and so the hook's token: the type says enough.
            raise OutcomeUnknown(f"{self.where}: {type(e).__name__}") from e
        if response.status_code >= 300:
            now = datetime.fromtimestamp(self.clock(), UTC)
            raise classify(response, now, hide=(self.url, urlsplit(self.url).path, self.secret))
        return response


def payload(post: Post, key: str, format: str) -> dict[str, Any]:
    """The JSON body for `format`; a Slack or Discord message carries the whole thread."""
    whole = "\n\n".join(post.thread or (post.text,))
    if format == "slack":
        return {"text": whole}
    if format == "discord":
        return {"content": whole}
    if not isinstance(post, WebhookPost):  # rendered elsewhere: only the card knows more
        card = post.card
        post = WebhookPost(**_post_fields(post), link=card.url if card else "")
    return {
        "text": post.text,
        "thread": list(post.thread),
        "title": post.title,
        "link": post.link,
        "summary": post.summary,
        "categories": list(post.categories),
        "key": key,
    }


def _post_fields(post: Post) -> dict[str, Any]:
    return {name: getattr(post, name) for name in Post.__dataclass_fields__}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _result(response: requests.Response, key: str) -> PublishResult:
    """The receiver's `id` and `url` when it answers JSON with them; else the key."""
    try:
        answer = response.json() if response.content else None
    except ValueError:
        answer = None  # "ok" (Slack) or any other text: accepted all the same
    if not isinstance(answer, dict):
        return PublishResult(key, "")
    remote_id = answer.get("id")
    url = answer.get("url")
    return PublishResult(
        str(remote_id) if isinstance(remote_id, str | int) and remote_id != "" else key,
        url if isinstance(url, str) else "",
    )


def _connection_error(where: str, error: requests.ConnectionError) -> PublishError:
    text = repr(error)
    if "NewConnectionError" in text or "NameResolutionError" in text:
        return TransientError(f"{where}: cannot connect ({type(error).__name__})")
    return OutcomeUnknown(f"{where}: connection dropped ({type(error).__name__})")


def classify(
    response: requests.Response, now: datetime, *, hide: tuple[str, ...] = ()
) -> PublishError:
    """Map a non-2xx answer to what to do next; `hide` are strings never to repeat."""
    status = response.status_code
    message = f"HTTP {status}: {_excerpt(response, hide)}"
    if status in (408, 429):
        return RateLimited(message, _retry_at(response, now))
    if status in (401, 403):
        return AuthError(message)
    if status >= 500:
        return TransientError(message)
    return PermanentError(message)  # 404, 410 and any other 4xx: this hook will not take it


def _retry_at(response: requests.Response, now: datetime) -> datetime | None:
    """Retry-After in seconds or as an HTTP date; else Discord's JSON `retry_after`."""
    value = response.headers.get("Retry-After", "").strip()
    if value:
        try:
            return now + timedelta(seconds=float(value))
        except ValueError:
            pass
        try:
            return parsedate_to_datetime(value).astimezone(UTC)
        except (TypeError, ValueError):
            return None
    try:
        seconds = response.json().get("retry_after")
    except (ValueError, AttributeError):
        return None
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return now + timedelta(seconds=seconds)
    return None


def _excerpt(response: requests.Response, hide: tuple[str, ...]) -> str:
    """The start of the answer, with `hide` redacted first (a cut could split a secret)."""
    text = response.text[:4000]
    for secret in sorted((s for s in hide if len(s) > 1), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text[:200].replace("\n", " ") or f"empty body (HTTP {response.status_code})"
