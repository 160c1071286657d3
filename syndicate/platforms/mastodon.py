"""Mastodon: POST /api/v1/statuses with an Idempotency-Key derived from the delivery.

Plain requests instead of Mastodon.py: we need our own timeouts, no sleeping on rate limits,
and to see every status code to classify it (reference/platforms.md §5).
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

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
from syndicate.platforms.base import TokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES
from syndicate.platforms.textlen import find_urls

DEFAULT_LIMIT = 500
CONNECT_TIMEOUT = 5.0


class MastodonPublisher:
    PLATFORM: ClassVar[str] = "mastodon"
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec(
            "base_url", required=True, url=True, help="the instance, e.g. https://mastodon.social"
        ),
        OptionSpec("access_token", required=True, secret=True, help="token with write:statuses"),
        OptionSpec(
            "visibility",
            default="public",
            choices=("public", "unlisted", "private", "direct"),
            help="who sees each status",
        ),
        OptionSpec(
            "language",
            default="",
            # Mastodon quietly ignores a code it does not know, so catch the obvious slips here.
            pattern=r"(?:[a-z]{2,3})?",
            help="an ISO 639 code of 2-3 lowercase letters like 'en', or empty",
        ),
        OptionSpec("max_characters", int, default=0, minimum=0, help="0: ask the instance"),
    )

    def __init__(
        self, account: Account, *, timeout: float, tokens: TokenCache | None = None
    ) -> None:
        self.account = account
        self.base_url = account.option("base_url").rstrip("/")
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = HttpSession()
        self.session.headers["Authorization"] = f"Bearer {account.option('access_token')}"
        configured = int(account.option("max_characters", "0") or 0)
        self._limit: int | None = configured or None

    @property
    def limit(self) -> int:
        """The instance's max_characters (GET /api/v2/instance), kept once it answers.

        Until then each call asks again and uses 500: one failed lookup at start-up must not
        pin a 5000-character instance to 500 for the life of the worker.
        """
        if self._limit is None:
            self._limit = self._instance_limit()
        return self._limit or DEFAULT_LIMIT

    def _instance_limit(self) -> int | None:
        """The instance's answer, or None (with a warning) when it gives none."""
        url = f"{self.base_url}/api/v2/instance"
        try:
            response = self.session.get(url, timeout=self.timeout)
            limit = response.json()["configuration"]["statuses"]["max_characters"]
        except requests.RequestException as e:
            reason = f"{type(e).__name__}: {e}"
        except (ValueError, KeyError, TypeError):
            reason = f"HTTP {response.status_code} without configuration.statuses.max_characters"
        else:
            if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
                return limit
            reason = f"max_characters is {limit!r}"
        logging.getLogger(__name__).warning(
            "%s: %s; using %d for now (set max_characters in the config to skip the lookup)",
            url,
            reason,
            DEFAULT_LIMIT,
        )
        return None

    def render(self, summary: Summary) -> Post:
        return render(summary, self.account.compose, RULES[self.PLATFORM], limit=self.limit)

    def publish(self, post: Post, key: str) -> PublishResult:
        """One status, or a thread: each part replies to the one before, each with its own
        idempotency key, so a retry after a partial thread resumes without doubles."""
        first: PublishResult | None = None
        previous: PublishResult | None = None
        for number, text in enumerate(post.thread or (post.text,)):
            part_key = key if number == 0 else f"{key}-{number + 1}"
            previous = self._post_status(text, part_key, previous.remote_id if previous else "")
            first = first or previous
        assert first is not None  # a post has at least one part
        return first

    def _post_status(self, text: str, key: str, reply_to: str) -> PublishResult:
        body: dict[str, Any] = {"status": text, "visibility": self.account.option("visibility")}
        if language := self.account.option("language"):
            body["language"] = language
        if reply_to:
            body["in_reply_to_id"] = reply_to
        response = self._request(
            "POST", "/api/v1/statuses", json=body, headers={"Idempotency-Key": key}
        )
        return self._result(response)

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        """Look through the account's recent statuses for one carrying the post's link."""
        me = self._json(self._request("GET", "/api/v1/accounts/verify_credentials"))
        statuses = self._json(
            self._request(
                "GET",
                f"/api/v1/accounts/{me.get('id')}/statuses",
                params={"limit": 40, "exclude_replies": "true", "exclude_reblogs": "true"},
            )
        )
        links = [post.text[start:end] for start, end in find_urls(post.text)]
        for status in statuses if isinstance(statuses, list) else []:
            # Links sit HTML-escaped in href attributes: unescape before matching.
            content = html.unescape(str(status.get("content", "")))
            haystack = f"{content} {(status.get('card') or {}).get('url', '')}"
            if links and all(link in haystack for link in links):
                return PublishResult(str(status["id"]), str(status.get("url") or ""))
        return None

    def check(self) -> str:
        me = self._json(self._request("GET", "/api/v1/accounts/verify_credentials"))
        return f"@{me.get('acct') or me.get('username')} on {self.base_url}"

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.ConnectTimeout as e:
            raise TransientError(f"{url}: connect timeout") from e
        except requests.ConnectionError as e:
            raise _connection_error(url, e) from e
        except requests.Timeout as e:
            raise OutcomeUnknown(f"{url}: no answer within {self.timeout[1]}s") from e
        except requests.RequestException as e:
            raise OutcomeUnknown(f"{url}: {type(e).__name__}: {e}") from e
        if response.status_code >= 300:
            raise classify(response)
        return response

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as e:
            raise TransientError(f"unexpected response: {_excerpt(response)}") from e

    def _result(self, response: requests.Response) -> PublishResult:
        try:
            status = response.json()
            return PublishResult(str(status["id"]), str(status.get("url") or status["uri"]))
        except (ValueError, KeyError, TypeError) as e:
            # 2xx means the status most likely exists; only a lookup can tell.
            raise OutcomeUnknown(f"unexpected response shape: {_excerpt(response)}") from e


def _connection_error(url: str, error: requests.ConnectionError) -> PublishError:
    text = repr(error)
    if "NewConnectionError" in text or "NameResolutionError" in text:
        return TransientError(f"{url}: cannot connect ({type(error).__name__})")
    # The connection broke after the request may have been sent.
    return OutcomeUnknown(f"{url}: connection dropped ({type(error).__name__})")


def classify(response: requests.Response) -> PublishError:
    """Map a non-2xx answer to what to do next (reference/platforms.md §5.3)."""
    status = response.status_code
    message = f"HTTP {status}: {_error_text(response)}"
    if status in (401, 403):
        return AuthError(message)
    if status == 429:
        return RateLimited(message, _reset_at(response.headers.get("X-RateLimit-Reset", "")))
    if status >= 500:
        # 503 is "not processed"; 500/502/504 may have posted, but every retry carries the
        # same Idempotency-Key, which the instance honours for an hour.
        return TransientError(message)
    return PermanentError(message)


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return str(body["error"])[:300]
    except ValueError:
        pass
    return _excerpt(response)


def _excerpt(response: requests.Response) -> str:
    return response.text[:200].replace("\n", " ") or f"empty body (HTTP {response.status_code})"


def _reset_at(value: str) -> datetime | None:
    """Mastodon sends ISO 8601 with microseconds; GoToSocial sends epoch seconds."""
    value = value.strip()
    if not value:
        return None
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), tz=UTC)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
