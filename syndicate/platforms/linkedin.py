"""LinkedIn: POST {base_url}/rest/posts (the versioned Posts API) as a member or a page.

OAuth 2.0 bearer tokens through requests-oauthlib's OAuth2Session. An access token lives 60
days; approved partners also get a refresh token, and then an expired or refused token is
refreshed once, under the account's lock (`TokenCache.update`), and the request retried.
LinkedIn has no idempotency key: a re-POST of the same commentary answers 422 DUPLICATE_POST
naming the existing post, and `find_existing` lists the author's recent posts
(reference/platforms.md §7).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error, TokenExpiredError
from requests_oauthlib import OAuth2Session

from syndicate.errors import (
    AlreadyPosted,
    AuthError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.model import Account, LinkCard, OptionSpec, Post, PublishResult, Summary
from syndicate.platforms.base import MemoryTokenCache, TokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.rules import LINKEDIN_LIMIT, RULES
from syndicate.platforms.textlen import find_urls

DEFAULT_BASE_URL = "https://api.linkedin.com"
DEFAULT_OAUTH_ENDPOINT = "https://www.linkedin.com/oauth/v2/accessToken"
PUBLIC_URL = "https://www.linkedin.com/feed/update/{urn}/"
CONNECT_TIMEOUT = 5.0
VERSION_PATTERN = r"20\d\d(?:0[1-9]|1[0-2])"
AUTHOR_PATTERN = r"urn:li:(?:person|organization):[A-Za-z0-9_-]+"
_REST_HEADERS = {"X-Restli-Protocol-Version": "2.0.0"}
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# The post a 422 DUPLICATE_POST names ("…Content is a duplicate of urn:li:share:714…").
_POST_URN = re.compile(r"urn:li:(?:share|ugcPost|activity):\d+")

log = logging.getLogger(__name__)


class _WithholdTokens(logging.Filter):
    """requests-oauthlib logs the token, the headers (Authorization) and the refresh request
    and response bodies at DEBUG ("Adding token %s to request."). Its records keep their
    format string and lose their arguments, so no debug configuration can leak a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = f"{record.msg} [arguments withheld: they may carry tokens]"
            record.args = ()
        return True


logging.getLogger("requests_oauthlib.oauth2_session").addFilter(_WithholdTokens())


class LinkedInPublisher:
    PLATFORM: ClassVar[str] = "linkedin"
    LIMIT: ClassVar[int] = LINKEDIN_LIMIT  # UTF-16 units of the escaped commentary
    RECENT_POSTS: ClassVar[int] = 20  # how far back find_existing looks
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("base_url", default=DEFAULT_BASE_URL, url=True, help="the API host"),
        OptionSpec(
            "token_url", default=DEFAULT_OAUTH_ENDPOINT, url=True, help="OAuth token endpoint"
        ),
        OptionSpec(
            "api_version",
            required=True,
            pattern=VERSION_PATTERN,
            help="a LinkedIn-Version month as YYYYMM, e.g. 202510 (each lives about a year)",
        ),
        OptionSpec(
            "author",
            required=True,
            pattern=AUTHOR_PATTERN,
            help="urn:li:person:<id> or urn:li:organization:<id>",
        ),
        OptionSpec("access_token", required=True, secret=True, help="token with w_member_social"),
        OptionSpec("refresh_token", secret=True, default="", help="approved partners only"),
        OptionSpec("client_id", default="", help="the app's client id (to refresh)"),
        OptionSpec("client_secret", secret=True, default="", help="the app's secret (to refresh)"),
        OptionSpec(
            "visibility",
            default="PUBLIC",
            choices=("PUBLIC", "CONNECTIONS", "LOGGED_IN"),
            help="who sees each post",
        ),
    )

    def __init__(
        self, account: Account, *, timeout: float, tokens: TokenCache | None = None
    ) -> None:
        self.account = account
        self.author = account.option("author")
        self.version = account.option("api_version")
        self.base_url = (account.option("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.token_url = account.option("token_url") or DEFAULT_OAUTH_ENDPOINT
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.tokens: TokenCache = tokens if tokens is not None else MemoryTokenCache()
        access, refresh = account.option("access_token"), account.option("refresh_token")
        self._configured = {"access_token": access, "refresh_token": refresh}
        self._configured["origin"] = _origin(access, refresh)
        self._session: OAuth2Session | None = None

    @staticmethod
    def validate_options(options: Mapping[str, object]) -> str | None:
        if options.get("refresh_token") and not (
            options.get("client_id") and options.get("client_secret")
        ):
            return "refresh_token needs client_id and client_secret to be used"
        author, visibility = str(options.get("author", "")), options.get("visibility")
        if author.startswith("urn:li:organization:") and visibility == "CONNECTIONS":
            return "visibility CONNECTIONS is for members; a page posts PUBLIC or LOGGED_IN"
        for key in ("base_url", "token_url"):
            parts = urlsplit(str(options.get(key) or ""))
            if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
                return f"{key} must be https: the bearer token would travel in clear text"
        return None

    def render(self, summary: Summary) -> Post:
        # compose escapes the little-text reserved characters; the commentary is sent as is.
        return render(summary, self.account.compose, RULES[self.PLATFORM])

    def publish(self, post: Post, key: str) -> PublishResult:
        """One post: LinkedIn has no replies to chain, so a thread sends its first part."""
        body: dict[str, Any] = {
            "author": self.author,
            "commentary": post.text,
            "visibility": self.account.option("visibility", "PUBLIC"),
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.card is not None:
            body["content"] = {"article": _article(post.card)}
        response = self._call("POST", "/rest/posts", json=body)
        urn = response.headers.get("x-restli-id", "")
        if not urn.startswith("urn:li:"):
            # 2xx: the post most likely exists; only a lookup can tell.
            raise OutcomeUnknown(f"HTTP {response.status_code} without an x-restli-id post URN")
        return PublishResult(urn, PUBLIC_URL.format(urn=urn))

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        """The author's recent post carrying this post's links (or, without links, its text)."""
        params = {"q": "author", "author": self.author, "count": self.RECENT_POSTS}
        response = self._call(
            "GET", "/rest/posts", params=params, headers={"X-RestLi-Method": "FINDER"}, keep={403}
        )
        if response.status_code == 403:
            # Reading posts needs r_member_social or r_organization_social: without it the
            # platform cannot tell us, and only a person can look.
            raise OutcomeUnknown(
                f"cannot list {self.author}'s posts to check: {_error_text(response)}"
            )
        elements = _json(response).get("elements")
        if not isinstance(elements, list):
            raise OutcomeUnknown(f"post listing without elements: {_excerpt(response)}")
        for element in elements:
            if isinstance(element, dict) and _matches(element, post):
                urn = str(element.get("id", ""))
                return PublishResult(urn, PUBLIC_URL.format(urn=urn))
        return None

    def check(self) -> str:
        me = _json(self._call("GET", "/v2/userinfo"))
        member = f"urn:li:person:{me.get('sub', '')}"
        if self.author.startswith("urn:li:person:") and member != self.author:
            raise AuthError(f"the token belongs to {member}, not to the author {self.author}")
        return f"{me.get('name') or member} ({self.author}) on LinkedIn"

    # ------------------------------------------------------------------ tokens

    def _current_tokens(self) -> dict[str, str]:
        cached = self.tokens.load()
        if cached.get("origin") == self._configured["origin"] and cached.get("access_token"):
            return cached
        return dict(self._configured)

    def _can_refresh(self, tokens: Mapping[str, str]) -> bool:
        client = self.account.option("client_id") and self.account.option("client_secret")
        return bool(client and tokens.get("refresh_token"))

    def _refreshed(self, stale: str) -> dict[str, str]:
        """A fresh pair, refreshed once for every worker: the first to take the account's lock
        refreshes; the others find the stored token changed and use it."""
        origin = self._configured["origin"]

        def refresh(current: dict[str, str]) -> dict[str, str] | None:
            ours = current.get("origin") == origin
            if ours and current.get("access_token", stale) != stale:
                return None
            return self._fetch_token((current if ours else self._configured)["refresh_token"])

        return self.tokens.update(refresh)

    def _fetch_token(self, refresh_token: str) -> dict[str, str]:
        session = OAuth2Session(self.account.option("client_id"))
        # Runs under the cache's lock: redact with what is at hand, never load the cache.
        secrets = [refresh_token, *self._configured_secrets()]

        def check(response: requests.Response) -> requests.Response:
            return _check_token_response(response, secrets)

        session.register_compliance_hook("refresh_token_response", check)
        try:
            token = session.refresh_token(
                self.token_url,
                refresh_token=refresh_token,
                client_id=self.account.option("client_id"),
                client_secret=self.account.option("client_secret"),
                timeout=self.timeout,
            )
        except InsecureTransportError as e:
            raise PermanentError(f"{self.token_url}: OAuth 2.0 needs https") from e
        except OAuth2Error as e:
            raise TransientError(f"{self.token_url}: unusable token answer ({e.error})") from e
        except requests.RequestException as e:
            raise TransientError(f"{self.token_url}: {type(e).__name__}") from e
        finally:
            session.close()
        log.info("%s: LinkedIn access token refreshed", self.account.name)
        fresh = {"access_token": str(token["access_token"]), "origin": self._configured["origin"]}
        # LinkedIn returns the same refresh token (with a shrinking TTL); keep whichever comes.
        fresh["refresh_token"] = str(token.get("refresh_token") or refresh_token)
        if token.get("expires_at"):
            fresh["expires_at"] = str(int(float(token["expires_at"])))
        return fresh

    # --------------------------------------------------------------- transport

    def _call(
        self, method: str, path: str, *, keep: Iterable[int] = (), **kwargs: Any
    ) -> requests.Response:
        """One API call; on an expired or refused token, refresh once and try again (a 401
        was not processed, so repeating a POST cannot double it). Statuses in `keep` are
        returned to the caller unclassified."""
        tokens = self._current_tokens()
        response = self._attempt(tokens, method, path, **kwargs)
        if response is not None and response.status_code != 401:
            return self._checked(response, keep)
        if not self._can_refresh(tokens):
            if response is None:
                raise AuthError("the access token has expired and there is no refresh_token")
            raise classify(response, secrets=self._secrets())
        tokens = self._refreshed(tokens["access_token"])
        response = self._attempt(tokens, method, path, **kwargs)
        if response is None:
            raise AuthError("the access token is expired even after a refresh")
        return self._checked(response, keep)

    def _attempt(
        self, tokens: Mapping[str, str], method: str, path: str, **kwargs: Any
    ) -> requests.Response | None:
        """The response, or None when the token is known to have expired (nothing sent)."""
        url = f"{self.base_url}{path}"
        headers = dict(kwargs.pop("headers", {}))
        if path.startswith("/rest/"):
            headers |= {**_REST_HEADERS, "LinkedIn-Version": self.version}
        session = self._session_for(tokens)
        try:
            return session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except TokenExpiredError:
            return None
        except InsecureTransportError as e:
            raise PermanentError(f"{url}: OAuth 2.0 needs https") from e
        except requests.ConnectTimeout as e:
            raise TransientError(f"{url}: connect timeout") from e
        except requests.ConnectionError as e:
            raise _connection_error(url, e) from e
        except requests.Timeout as e:
            raise OutcomeUnknown(f"{url}: no answer within {self.timeout[1]}s") from e
        except requests.RequestException as e:
            raise OutcomeUnknown(f"{url}: {type(e).__name__}") from e

    def _session_for(self, tokens: Mapping[str, str]) -> OAuth2Session:
        """One session per access token: oauthlib keeps a token's expiry across assignments."""
        access = tokens["access_token"]
        if self._session is None or self._session.access_token != access:
            if self._session is not None:
                self._session.close()
            token: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
            if tokens.get("expires_at"):
                token["expires_at"] = float(tokens["expires_at"])
            self._session = OAuth2Session(self.account.option("client_id") or None, token=token)
        return self._session

    def _checked(self, response: requests.Response, keep: Iterable[int]) -> requests.Response:
        if response.status_code >= 300 and response.status_code not in set(keep):
            raise classify(response, secrets=self._secrets())
        return response

    def _secrets(self) -> list[str]:
        cached = self.tokens.load()
        values = [cached.get("access_token", ""), cached.get("refresh_token", "")]
        return [*values, *self._configured_secrets()]

    def _configured_secrets(self) -> list[str]:
        values = [self._configured["access_token"], self._configured["refresh_token"]]
        return [*values, self.account.option("client_secret")]


def _origin(access: str, refresh: str) -> str:
    """Which configured pair the cached tokens descend from. A new pair in the config (the
    user re-authorised after an AuthError) must win over what the old pair was refreshed into;
    a truncated hash tells them apart without storing the secret twice."""
    return hashlib.sha256(f"{access}\0{refresh}".encode()).hexdigest()[:16]


def _article(card: LinkCard) -> dict[str, str]:
    """LinkedIn does not scrape article links: the client sends what the preview shows.
    (A thumbnail needs an Images API upload URN, which we do not make.)"""
    article = {"source": card.url, "title": card.title or card.url}
    if card.description:
        article["description"] = card.description
    return article


def _matches(element: Mapping[str, Any], post: Post) -> bool:
    commentary = str(element.get("commentary") or "")
    article = _field(_field(element, "content"), "article")
    links = [post.text[start:end] for start, end in find_urls(post.text)]
    links += [post.card.url] if post.card is not None else []
    if not links:
        return commentary == post.text
    haystack = f"{commentary} {article.get('source', '')}"
    return all(link in haystack for link in links)


def _check_token_response(response: requests.Response, secrets: list[str]) -> requests.Response:
    """Classify a failed refresh before oauthlib parses it (it knows only OAuth errors)."""
    if response.status_code == 200:
        return response
    message = f"token refresh: HTTP {response.status_code}: {_redact(_excerpt(response), secrets)}"
    if response.status_code == 429:
        raise RateLimited(message, None)
    if response.status_code >= 500:
        raise TransientError(message)
    # invalid_grant / invalid_request (refresh token expired or revoked), invalid_client.
    raise AuthError(message)


def _connection_error(url: str, error: requests.ConnectionError) -> PublishError:
    text = repr(error)
    if "NewConnectionError" in text or "NameResolutionError" in text:
        return TransientError(f"{url}: cannot connect ({type(error).__name__})")
    # The connection broke after the request may have been sent.
    return OutcomeUnknown(f"{url}: connection dropped ({type(error).__name__})")


def classify(response: requests.Response, *, secrets: Iterable[str] = ()) -> PublishError:
    """Map a non-2xx answer to what to do next (reference/platforms.md §7.3)."""
    status = response.status_code
    message = f"HTTP {status}: {_redact(_error_text(response), secrets)}"
    if status == 422 and "DUPLICATE_POST" in _input_error_codes(response):
        found = _POST_URN.search(str(_json_or_empty(response).get("message", "")))
        remote = PublishResult(found[0], PUBLIC_URL.format(urn=found[0])) if found else None
        return AlreadyPosted(message, remote)
    if status in (401, 403):  # invalid, revoked or expired (refresh already tried); no access
        return AuthError(message)
    if status == 429:
        # Daily limits reset at 00:00 UTC but LinkedIn sends no reset header; the retry
        # policy backs off rather than guess.
        return RateLimited(message, None)
    if status >= 500:
        # A 500 after processing cannot double the post: the retry re-sends the same
        # commentary, which LinkedIn answers with 422 DUPLICATE_POST naming the post.
        return TransientError(message)
    return PermanentError(message)  # 400, 404, 422 validation, 426 NONEXISTENT_VERSION


def _input_error_codes(response: requests.Response) -> set[str]:
    body = _json_or_empty(response)
    errors = _field(body, "errorDetails").get("inputErrors")
    listed = errors if isinstance(errors, list) else []
    codes = {str(e.get("code")) for e in listed if isinstance(e, dict)}
    return codes | {str(body.get("code", ""))}


def _error_text(response: requests.Response) -> str:
    """LinkedIn's `code` and `message` ({"status", "serviceErrorCode", "code", "message"})."""
    body = _json_or_empty(response)
    if isinstance(body.get("message"), str):
        code = body.get("code") or body.get("serviceErrorCode")
        return (f"{code}: " if code else "") + str(body["message"])[:300]
    return _excerpt(response)


def _field(parent: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """`parent[name]` when it is an object, else an empty one: bodies are not trusted."""
    value = parent.get(name)
    return value if isinstance(value, dict) else {}


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as e:
        raise TransientError(f"unexpected response: {_excerpt(response)}") from e
    if not isinstance(body, dict):
        raise TransientError(f"unexpected response: {_excerpt(response)}")
    return body


def _excerpt(response: requests.Response) -> str:
    return response.text[:200].replace("\n", " ") or f"empty body (HTTP {response.status_code})"


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:  # a tiny value would blank out ordinary words
            text = text.replace(secret, "***")
    return text
