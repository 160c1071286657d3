"""X (Twitter): POST /2/tweets through tweepy's Client, with OAuth 1.0a or OAuth 2.0 user tokens.

tweepy sends through `XSession` (the configured base URL, timeouts on every request) and never
waits on rate limits itself. X takes no idempotency key; its duplicate-content check and a
listing of the account's recent posts stand in for one (reference/platforms.md §4.4).
"""

from __future__ import annotations

import html
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
import tweepy

from syndicate.errors import (
    AlreadyPosted,
    AuthError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.model import Account, OptionSpec, Post, PublishResult, Secret, Summary
from syndicate.platforms.base import MemoryTokenCache, TokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES, X_LIMIT, X_URL_LENGTH
from syndicate.platforms.textlen import x_find_urls
from syndicate.platforms.x_auth import (
    REDACTOR,
    TOKEN_PATH,
    Bearer,
    OAuth2Tokens,
    XSession,
    validate_credentials,
)

DEFAULT_BASE_URL = "https://api.x.com"
CONNECT_TIMEOUT = 5.0
# Each limit group X may send; when a 429 exhausts several, the latest reset is the real one.
_LIMIT_GROUPS = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")
_TWEET_FIELDS = ["conversation_id", "created_at", "entities"]
_SPACES = re.compile(r"\s+")

# tweepy's calls, given a Client and whether to sign with OAuth 1.0a (user_auth).
Call = Callable[[Any, bool], Any]


class XPublisher:
    PLATFORM: ClassVar[str] = "x"
    MAX_WEIGHTED_LENGTH: ClassVar[int] = X_LIMIT  # twitter-text v3; URLs and CJK weigh more
    URL_LENGTH: ClassVar[int] = X_URL_LENGTH  # every URL, once t.co wraps it
    RECENT_POSTS: ClassVar[int] = 100  # posts searched for a lost one (X's largest page)
    PUBLIC_URL: ClassVar[str] = "https://x.com/i/web/status/{id}"  # needs no username
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("base_url", default=DEFAULT_BASE_URL, url=True, help="the X API root"),
        OptionSpec("consumer_key", secret=True, help="OAuth 1.0a: the app's API key"),
        OptionSpec("consumer_secret", secret=True, help="OAuth 1.0a: the app's API key secret"),
        OptionSpec("access_token", secret=True, help="OAuth 1.0a or OAuth 2.0 user access token"),
        OptionSpec("access_token_secret", secret=True, help="OAuth 1.0a access token secret"),
        OptionSpec("client_id", help="OAuth 2.0: the app's client id"),
        OptionSpec("client_secret", secret=True, help="OAuth 2.0: confidential clients only"),
        OptionSpec("refresh_token", secret=True, help="OAuth 2.0 (scope offline.access)"),
    )
    validate_options = staticmethod(validate_credentials)

    def __init__(
        self,
        account: Account,
        *,
        timeout: float,
        tokens: TokenCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self.base_url = account.option("base_url", DEFAULT_BASE_URL).rstrip("/")
        timeouts = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = XSession(self.base_url, timeouts)
        self.oauth2: OAuth2Tokens | None = None
        if account.option("refresh_token"):
            self.oauth2 = OAuth2Tokens(
                account,
                tokens or MemoryTokenCache(),
                token_url=self.base_url + TOKEN_PATH,
                timeout=timeouts,
                clock=clock,
            )
        REDACTOR.add(v.reveal() for v in account.options.values() if isinstance(v, Secret))
        self._user_id = "" if self.oauth2 else _oauth1_user_id(account.option("access_token"))

    def render(self, summary: Summary) -> Post:
        return render(summary, self.account.compose, RULES[self.PLATFORM])

    def publish(self, post: Post, key: str) -> PublishResult:
        """One post, or a thread as a reply chain; returns the first part.

        X takes no idempotency key (`key` goes unused): its duplicate-content check stands in.
        A part X already has is looked up and the chain goes on from it, so a retry after a
        partial thread finishes it without doubles. Raises AlreadyPosted when every part was
        already there.
        """
        parts = post.thread or (post.text,)
        chain: list[PublishResult] = []
        found = 0
        for text in parts:
            reply_to = chain[-1].remote_id if chain else ""
            try:
                chain.append(self._create(text, reply_to))
            except AlreadyPosted as e:
                chain.append(self._duplicate_of(text, e))
                found += 1
        if found == len(parts):
            raise AlreadyPosted("X already has this post (duplicate content)", chain[0])
        return chain[0]

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        """The post among the account's recent ones, matched by the link of its last part (by
        its text when it has no link); a thread is found by its last part and answered with
        its first (the conversation id). None only when the listing answered without it."""
        last = (post.thread or (post.text,))[-1]
        links = _links(last)
        for tweet in self._recent():
            found = links <= _expanded_urls(tweet) if links else _same_text(tweet, last)
            if found:
                return _posted(str(tweet.get("conversation_id") or tweet["id"]))
        return None

    def check(self) -> str:
        me = self._me()
        return f"@{me.get('username', '?')} on X"

    # ------------------------------------------------------------------ requests

    def _create(self, text: str, reply_to: str) -> PublishResult:
        response = self._call(
            lambda client, user_auth: client.create_tweet(
                text=text, in_reply_to_tweet_id=reply_to or None, user_auth=user_auth
            )
        )
        try:
            return _posted(str(_json(response)["data"]["id"]))
        except (KeyError, TypeError) as e:
            # 2xx means the post most likely exists; only a lookup can tell.
            raise OutcomeUnknown(f"unexpected response shape: {_excerpt(response)}") from e

    def _duplicate_of(self, text: str, duplicate: AlreadyPosted) -> PublishResult:
        """Which recent post X meant by 'duplicate content', when it is one of ours."""
        try:
            tweets = self._recent()
        except PublishError as e:
            raise OutcomeUnknown(f"{duplicate}; looking it up failed: {e}") from e
        for tweet in tweets:
            if _same_text(tweet, text):
                return _posted(str(tweet["id"]))
        raise PermanentError(
            f"{duplicate} (none of the account's {self.RECENT_POSTS} latest posts has this text)"
        ) from duplicate

    def _recent(self) -> list[Mapping[str, Any]]:
        user_id = self._me_id()
        response = self._call(
            lambda client, user_auth: client.get_users_tweets(
                user_id,
                max_results=self.RECENT_POSTS,
                tweet_fields=_TWEET_FIELDS,
                user_auth=user_auth,
            )
        )
        body = _json(response)
        body = body if isinstance(body, dict) else {}
        if "data" not in body and (body.get("meta") or {}).get("result_count") == 0:
            return []  # X leaves `data` out of an empty page
        data = body.get("data")
        if not isinstance(data, list):
            # An answer without the listing (an `errors` array, say) cannot tell "not there".
            raise OutcomeUnknown(f"the post listing is unreadable: {_excerpt(response)}")
        return [t for t in data if isinstance(t, dict) and "id" in t]

    def _me_id(self) -> str:
        if not self._user_id:
            self._user_id = str(self._me().get("id", ""))
        if not self._user_id:
            raise OutcomeUnknown("X did not say which user these credentials belong to")
        return self._user_id

    def _me(self) -> Mapping[str, Any]:
        response = self._call(lambda client, user_auth: client.get_me(user_auth=user_auth))
        body = _json(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise TransientError(f"unexpected /2/users/me answer: {_excerpt(response)}")
        return data

    def _call(self, call: Call) -> requests.Response:
        """One tweepy call, its failures classified. With OAuth 2.0 an expired token is
        refreshed first, and a 401 gets one refresh and one retry (a second 401 needs the
        user, reference §2)."""
        if self.oauth2 is None:
            return self._send(call, None)
        bearer = self.oauth2.fresh()
        try:
            return self._send(call, bearer)
        except AuthError as e:
            if not isinstance(e.__cause__, tweepy.Unauthorized):
                raise
        # Outside the except block, so a second failure is not chained to the first 401.
        return self._send(call, self.oauth2.refresh(bearer))

    def _send(self, call: Call, bearer: Bearer | None) -> requests.Response:
        client = self._client(bearer)
        try:
            response: requests.Response = call(client, bearer is None)
        except tweepy.HTTPException as e:
            raise classify(e.response) from e
        except requests.RequestException as e:
            raise transport_error(e) from e
        return response

    def _client(self, bearer: Bearer | None) -> Any:
        if bearer is not None:
            client = tweepy.Client(bearer_token=bearer.access_token, return_type=requests.Response)
        else:
            client = tweepy.Client(
                consumer_key=self.account.option("consumer_key"),
                consumer_secret=self.account.option("consumer_secret"),
                access_token=self.account.option("access_token"),
                access_token_secret=self.account.option("access_token_secret"),
                return_type=requests.Response,
            )
        client.session = self.session
        return client


# ---------------------------------------------------------------- classification


def classify(response: requests.Response) -> PublishError:
    """Map a non-2xx answer to what to do next (reference/platforms.md §2, §4.3)."""
    status = response.status_code
    message = f"HTTP {status}: {_error_text(response)}"
    if status == 403 and "duplicate" in message.lower():
        return AlreadyPosted(message, None)  # X names no id; the publisher looks it up
    if status == 429:
        return RateLimited(message, _reset_at(response.headers))
    if status in (401, 403):
        # 401: revoked (OAuth 1.0a) or still refused after a refresh (OAuth 2.0); 403: the
        # app lacks write access or the account is locked. A person must act either way.
        return AuthError(message)
    if status >= 500:
        # Without an idempotency key a 500 after processing could have posted; the retry
        # then meets the duplicate check, which finds the post.
        return TransientError(message)
    return PermanentError(message)


def transport_error(error: requests.RequestException) -> PublishError:
    where = getattr(error.request, "url", None) or "X API"
    if isinstance(error, requests.ConnectTimeout):
        return TransientError(f"{where}: connect timeout")
    if isinstance(error, requests.ConnectionError):
        text = repr(error)
        if "NewConnectionError" in text or "NameResolutionError" in text:
            return TransientError(f"{where}: cannot connect ({type(error).__name__})")
        # The connection broke after the request may have been sent.
        return OutcomeUnknown(f"{where}: connection dropped ({type(error).__name__})")
    if isinstance(error, requests.Timeout):
        return OutcomeUnknown(f"{where}: no answer in time")
    return OutcomeUnknown(f"{where}: {type(error).__name__}")


def _reset_at(headers: Mapping[str, str]) -> datetime | None:
    exhausted = [
        _epoch(headers.get(f"{group}-reset", ""))
        for group in _LIMIT_GROUPS
        if headers.get(f"{group}-remaining", "").strip() == "0"
    ]
    resets = [r for r in exhausted if r is not None]
    return max(resets) if resets else _epoch(headers.get("x-rate-limit-reset", ""))


def _epoch(value: str) -> datetime | None:
    value = value.strip()
    return datetime.fromtimestamp(int(value), UTC) if value.isdigit() else None


def _error_text(response: requests.Response) -> str:
    """The problem JSON's detail, or the v1.1-style errors' messages, or an excerpt."""
    try:
        body = response.json()
    except ValueError:
        return _excerpt(response)
    if not isinstance(body, dict):
        return _excerpt(response)
    parts = [str(body[k]) for k in ("detail", "title") if isinstance(body.get(k), str)][:1]
    for error in body.get("errors") or []:
        if isinstance(error, dict) and error.get("message"):
            parts.append(str(error["message"]))
    return "; ".join(parts)[:300] or _excerpt(response)


def _excerpt(response: requests.Response) -> str:
    return response.text[:200].replace("\n", " ") or f"empty body (HTTP {response.status_code})"


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as e:
        raise OutcomeUnknown(f"unexpected response: {_excerpt(response)}") from e


# ---------------------------------------------------------------- matching


def _posted(tweet_id: str) -> PublishResult:
    return PublishResult(tweet_id, XPublisher.PUBLIC_URL.format(id=tweet_id))


def _oauth1_user_id(access_token: str) -> str:
    """An OAuth 1.0a access token starts with its user's id ("12345-abc…"; tweepy does the
    same), which saves a /2/users/me call per lookup. Empty when it does not."""
    prefix = access_token.partition("-")[0]
    return prefix if prefix.isdigit() else ""


def _links(text: str) -> frozenset[str]:
    return frozenset(_url_key(text[start:end]) for start, end in x_find_urls(text))


def _expanded_urls(tweet: Mapping[str, Any]) -> frozenset[str]:
    urls = (tweet.get("entities") or {}).get("urls") or []
    return frozenset(
        _url_key(str(u.get("expanded_url") or u.get("url") or ""))
        for u in urls
        if isinstance(u, dict)
    )


def _url_key(url: str) -> str:
    """X expands a scheme-less link to http:// and may add a trailing slash."""
    return re.sub(r"^https?://", "", url, flags=re.IGNORECASE).rstrip("/")


def _same_text(tweet: Mapping[str, Any], text: str) -> bool:
    """Whether the tweet's text is `text`: X escapes &, < and > and shows links as t.co, so
    entities are decoded and every link on both sides is compared by `_url_key`."""
    shown = html.unescape(str(tweet.get("text") or ""))
    for url in (tweet.get("entities") or {}).get("urls") or []:
        if isinstance(url, dict) and url.get("url") and url.get("expanded_url"):
            shown = shown.replace(str(url["url"]), _url_key(str(url["expanded_url"])))
    pieces, pos = [], 0
    for start, end in x_find_urls(text):
        pieces += [text[pos:start], _url_key(text[start:end])]
        pos = end
    return _normal(shown) == _normal("".join(pieces) + text[pos:])


def _normal(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
