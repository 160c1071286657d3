"""X credentials: which set is configured, the session tweepy talks through, OAuth 2.0 refresh.

OAuth 1.0a user tokens never expire. OAuth 2.0 user tokens live two hours and their refresh
tokens are single-use (reference/platforms.md §4.5): every rotation goes through the account's
TokenCache, under its lock, so two workers never spend the same refresh token.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

import requests
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from syndicate.errors import AuthError, PublishError, RateLimited, TransientError
from syndicate.model import Account, Secret
from syndicate.platforms.base import TokenCache

OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
OAUTH2_KEYS = ("client_id", "access_token", "refresh_token")  # client_secret: confidential only
TOKEN_PATH = "/2/oauth2/token"  # noqa: S105 (a path, not a password)
TWEEPY_HOST = "https://api.twitter.com"  # hard-coded in tweepy.BaseClient.request
REFRESH_MARGIN = 60.0  # seconds before expires_at at which a token counts as expired
# The libraries log request headers and token bodies at DEBUG (tweepy.client, oauthlib,
# requests-oauthlib); their records pass through `REDACTOR` before any handler sees them.
_CHATTY_LOGGERS = (
    "tweepy.client",
    "requests_oauthlib.oauth1_auth",
    "requests_oauthlib.oauth2_session",
    "oauthlib.oauth1.rfc5849",
)
_MIN_SECRET = 6  # shorter values would redact ordinary words


def validate_credentials(options: Mapping[str, object]) -> str | None:
    """Exactly one complete credential set, or what is missing or mixed (settings start-up)."""
    given = {k for k, v in options.items() if _filled(v)}
    oauth1 = given & {"consumer_key", "consumer_secret", "access_token_secret"}
    oauth2 = given & {"client_id", "client_secret", "refresh_token"}
    if not oauth1 and not oauth2:
        return (
            f"no complete credential set: OAuth 1.0a needs {', '.join(OAUTH1_KEYS)}; "
            f"OAuth 2.0 needs {', '.join(OAUTH2_KEYS)} (and client_secret for a confidential "
            "client)"
        )
    if oauth1 and oauth2:
        return (
            f"give OAuth 1.0a keys or OAuth 2.0 keys, not both "
            f"(found {', '.join(sorted(oauth1))} and {', '.join(sorted(oauth2))})"
        )
    kind, wanted = ("OAuth 2.0", OAUTH2_KEYS) if oauth2 else ("OAuth 1.0a", OAUTH1_KEYS)
    missing = [k for k in wanted if k not in given]
    return f"{kind} credentials incomplete: missing {', '.join(missing)}" if missing else None


def _filled(value: object) -> bool:
    text = value.reveal() if isinstance(value, Secret) else value
    return text is not None and str(text).strip() != ""


class XSession(requests.Session):
    """The session tweepy sends through: the configured base URL instead of tweepy's fixed
    host, and a timeout on every request (tweepy sets none).

    The URL is rewritten here, before requests prepares the request, so OAuth 1.0a signs the
    URL actually requested; a transport adapter would rewrite after signing (reference §3.9).
    """

    def __init__(self, base_url: str, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(TWEEPY_HOST):
            url = self.base_url + url[len(TWEEPY_HOST) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


class _Redactor(logging.Filter):
    """Replaces every registered credential in a log record with '***'."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        forms = set()
        for value in values:
            if len(value) >= _MIN_SECRET:
                # Headers and form bodies carry them percent-encoded.
                forms |= {value, quote(value, safe=""), quote_plus(value)}
        with self._lock:
            self._secrets |= forms
        for name in _CHATTY_LOGGERS:
            logging.getLogger(name).addFilter(self)  # a no-op when already there

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        message = record.getMessage()
        redacted = message
        for secret in secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


REDACTOR = _Redactor()


@dataclass(frozen=True)
class Bearer:
    """One OAuth 2.0 user token pair; `expires_at` (epoch seconds) is None when unknown."""

    access_token: str
    refresh_token: str
    expires_at: float | None = None

    def __repr__(self) -> str:
        return f"Bearer(expires_at={self.expires_at!r})"


class OAuth2Tokens:
    """The account's current OAuth 2.0 pair: the configured one until the first refresh,
    then whatever the TokenCache holds (shared by every worker of the account)."""

    def __init__(
        self,
        account: Account,
        cache: TokenCache,
        *,
        token_url: str,
        timeout: tuple[float, float],
        clock: Callable[[], float],
    ) -> None:
        self.client_id = account.option("client_id")
        self.client_secret = account.option("client_secret")
        self.configured = Bearer(account.option("access_token"), account.option("refresh_token"))
        # A cached pair belongs to the refresh token configured when it was made; after the
        # user re-authorises and edits the config, the new configured pair wins.
        self.seed = hashlib.sha256(self.configured.refresh_token.encode()).hexdigest()[:16]
        self.cache = cache
        self.token_url = token_url
        self.timeout = timeout
        self.clock = clock

    def current(self) -> Bearer:
        return self._from(self.cache.load())

    def fresh(self) -> Bearer:
        """The current pair, refreshed first when it has expired by our clock."""
        bearer = self.current()
        if bearer.expires_at is not None and self.clock() >= bearer.expires_at - REFRESH_MARGIN:
            return self.refresh(bearer)
        return bearer

    def refresh(self, stale: Bearer) -> Bearer:
        """A new pair in place of `stale`, unless another worker already replaced it."""

        def rotate(stored: dict[str, str]) -> Mapping[str, str] | None:
            if self._from(stored).refresh_token != stale.refresh_token:
                return None  # someone refreshed while we waited for the lock: use theirs
            new = self._token_request(stale.refresh_token)
            return {
                "seed": self.seed,
                "access_token": new.access_token,
                "refresh_token": new.refresh_token,
                "expires_at": "" if new.expires_at is None else repr(new.expires_at),
            }

        return self._from(self.cache.update(rotate))

    def _from(self, stored: Mapping[str, str]) -> Bearer:
        if stored.get("seed") != self.seed or not stored.get("refresh_token"):
            return self.configured
        expires = stored.get("expires_at") or ""
        return Bearer(
            stored.get("access_token", ""),
            stored["refresh_token"],
            float(expires) if expires else None,
        )

    def _token_request(self, refresh_token: str) -> Bearer:
        session = OAuth2Session(self.client_id)
        # requests-oauthlib logs the answer's body before its own hooks run; a requests
        # response hook runs earlier, so the new tokens are redacted from that record too.
        session.hooks["response"].append(_redact_tokens)
        session.register_compliance_hook("refresh_token_response", _refused)
        confidential = bool(self.client_secret)
        auth = HTTPBasicAuth(self.client_id, self.client_secret) if confidential else None
        # A public client has no secret to authenticate with: it names itself in the body.
        extra: dict[str, Any] = {} if confidential else {"client_id": self.client_id}
        started = self.clock()
        try:
            token = session.refresh_token(
                self.token_url, refresh_token, auth=auth, timeout=self.timeout, **extra
            )
        except InsecureTransportError as e:
            raise AuthError(f"{self.token_url}: token refresh needs https") from e
        except OAuth2Error as e:
            reason = f"{e.error}: {e.description}" if e.description else e.error
            raise AuthError(f"token refresh refused ({reason}); re-authorise the account") from e
        except requests.RequestException as e:
            # The new pair may be lost if X answered after we gave up; the next attempt
            # then finds the old refresh token spent and asks for re-authorisation.
            raise TransientError(f"token refresh failed: {type(e).__name__}") from e
        finally:
            session.close()
        return _bearer_from(token, started)


def _bearer_from(token: Mapping[str, Any], started: float) -> Bearer:
    access, refresh = token.get("access_token"), token.get("refresh_token")
    if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
        raise AuthError("token refresh answered without an access and a refresh token")
    lifetime = token.get("expires_in")
    expires = started + lifetime if isinstance(lifetime, int | float) else None
    return Bearer(access, refresh, expires)


def _redact_tokens(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict):
        REDACTOR.add(str(body[k]) for k in ("access_token", "refresh_token") if k in body)


def _refused(response: requests.Response) -> requests.Response:
    """Classify a refresh that failed for reasons other than the token (oauthlib would call
    a 503 page 'missing access token'). 400 and 401 bodies are left to oauthlib's parser."""
    status = response.status_code
    error: PublishError | None = None
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset", "")
        when = datetime.fromtimestamp(int(reset), UTC) if reset.isdigit() else None
        error = RateLimited("token refresh rate-limited (HTTP 429)", when)
    elif status >= 500:
        error = TransientError(f"token refresh failed: HTTP {status}")
    elif status not in (200, 400, 401):
        error = AuthError(f"token refresh failed: HTTP {status}")
    if error is not None:
        raise error
    return response
