"""Bluesky XRPC over plain requests: the session, error classification, redaction.

The session follows reference/platforms.md §6.1: `createSession` once with the app password,
then `refreshSession` with the rotating refresh token whenever the PDS answers 400
`ExpiredToken`. The session lives in the account's TokenCache, so a worker restart reuses it
instead of logging in again (the entryway allows about 100 logins a day).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal
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
from syndicate.platforms.base import TokenCache

log = logging.getLogger(__name__)

CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
# Errors that only a person can fix (a new app password, a lifted takedown).
NEEDS_A_PERSON = frozenset(
    {
        "AuthenticationRequired",
        "InvalidToken",
        "ExpiredToken",
        "AccountTakedown",
        "AuthFactorTokenRequired",
        "AccountDeactivated",
        "RepoTakendown",
        "RepoDeactivated",
        "RepoSuspended",
    }
)
_JWT = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_SECRET_FIELD = re.compile(r'("(?:accessJwt|refreshJwt|password)"\s*:\s*)"[^"]*"')
_SESSION_FIELDS = ("access_jwt", "refresh_jwt", "did", "handle", "pds", "login")

Renewal = Literal["refresh", "login"]


@dataclass(frozen=True)
class Session:
    """One login: the tokens, whose repo they write to, and which PDS serves it."""

    access_jwt: str = field(repr=False)
    refresh_jwt: str = field(repr=False)
    did: str
    handle: str
    pds: str  # the account's PDS (from didDoc); the configured service when none is named
    login: str  # "identifier|service" it was made for: a changed config logs in afresh

    def values(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_values(cls, values: Mapping[str, str], login: str) -> Session | None:
        if values.get("login") != login or not all(values.get(k) for k in _SESSION_FIELDS):
            return None
        return cls(**{k: values[k] for k in _SESSION_FIELDS})


class Xrpc:
    """Authenticated XRPC calls for one account, renewing the session once when asked to."""

    def __init__(
        self,
        service: str,
        identifier: str,
        password: str,
        *,
        timeout: tuple[float, float],
        tokens: TokenCache,
    ) -> None:
        self.service = service.rstrip("/")
        self.identifier = identifier
        self._password = password
        self.timeout = timeout
        self.tokens = tokens
        self.http = HttpSession()
        self._login_id = f"{identifier}|{self.service}"
        self._session: Session | None = None

    def session(self) -> Session:
        """The current session: this process's, else the stored one, else a new login."""
        if self._session is None:
            stored = Session.from_values(self.tokens.load(), self._login_id)
            self._session = stored or self._renew(None, "login")
        return self._session

    def call(
        self,
        method: str,
        nsid: str,
        *,
        content_type: str = "",
        allow: Collection[int] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """One call with the session's access token; an expired or refused token is renewed
        (refresh, else log in) and the call sent once more. A status of 300 or more that is
        not in `allow` raises what `classify` makes of it."""
        session = self.session()
        response = self.send(method, session.pds, nsid, session.access_jwt, content_type, **kwargs)
        renewal = _renewal(response)
        if renewal is not None:
            session = self._renew(session, renewal)
            response = self.send(
                method, session.pds, nsid, session.access_jwt, content_type, **kwargs
            )
        if response.status_code >= 300 and response.status_code not in allow:
            raise classify(response)
        return response

    def send(
        self, method: str, base: str, nsid: str, token: str, content_type: str = "", **kwargs: Any
    ) -> requests.Response:
        """The raw exchange; transport failures become TransientError or OutcomeUnknown."""
        url = f"{base}/xrpc/{nsid}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            return self.http.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.ConnectTimeout as e:
            raise TransientError(f"{url}: connect timeout") from e
        except requests.ConnectionError as e:
            raise _connection_error(url, e) from e
        except requests.Timeout as e:
            raise OutcomeUnknown(f"{url}: no answer within {self.timeout[1]}s") from e
        except requests.RequestException as e:
            raise OutcomeUnknown(f"{url}: {type(e).__name__}") from e

    def _renew(self, stale: Session | None, how: Renewal) -> Session:
        """Refresh or log in under the cache's lock. When another worker renewed the session
        since `stale` was read, its session is taken instead of spending a token again."""

        def renew(current: dict[str, str]) -> dict[str, str] | None:
            stored = Session.from_values(current, self._login_id)
            if stored is not None and (stale is None or stored.access_jwt != stale.access_jwt):
                return None
            if stored is not None and how == "refresh":
                refreshed = self._refresh(stored)
                if refreshed is not None:
                    return refreshed.values()
            return self._login().values()

        session = Session.from_values(self.tokens.update(renew), self._login_id)
        if session is None:  # only a TokenCache that drops what it is given gets here
            raise TransientError("bluesky: the token cache did not keep the new session")
        self._session = session
        return session

    def _refresh(self, session: Session) -> Session | None:
        """The rotated session, or None when the refresh token is spent or expired."""
        response = self.send("POST", session.pds, REFRESH_SESSION, session.refresh_jwt)
        if response.status_code < 300:
            log.info("bluesky: session of %s refreshed", session.handle)
            return self._session_from(response, session.pds)
        if response.status_code in (400, 401) and error_name(response) in (
            "ExpiredToken",
            "InvalidToken",
        ):
            return None
        raise classify(response)

    def _login(self) -> Session:
        body = {"identifier": self.identifier, "password": self._password}
        response = self.send("POST", self.service, CREATE_SESSION, "", json=body)
        if response.status_code >= 300:
            error = classify(response)
            if isinstance(error, RateLimited | TransientError):
                raise error
            # Any other refusal of a login is about the credentials: a person must look.
            raise AuthError(f"bluesky login as {self.identifier} refused: {error}")
        session = self._session_from(response, self.service)
        log.info("bluesky: logged in as %s (%s)", session.handle, session.did)
        return session

    def _session_from(self, response: requests.Response, pds: str) -> Session:
        body = json_object(response)
        values = [body.get(k) for k in ("accessJwt", "refreshJwt", "did", "handle")]
        if not all(isinstance(v, str) and v for v in values):
            raise TransientError(f"bluesky: unexpected session answer: {excerpt(response)}")
        access, refresh, did, handle = (str(v) for v in values)
        pds = pds_endpoint(body.get("didDoc")) or pds
        return Session(access, refresh, did, handle, pds, self._login_id)


def pds_endpoint(did_doc: object) -> str:
    """The `#atproto_pds` service endpoint of a DID document, or "" when it names none."""
    services = did_doc.get("service") if isinstance(did_doc, dict) else None
    for service in services if isinstance(services, list) else []:
        if not isinstance(service, dict) or not str(service.get("id", "")).endswith("#atproto_pds"):
            continue
        endpoint = service.get("serviceEndpoint")
        if isinstance(endpoint, str) and urlsplit(endpoint).scheme in ("http", "https"):
            return endpoint.rstrip("/")
    return ""


def _renewal(response: requests.Response) -> Renewal | None:
    if response.status_code not in (400, 401):
        return None
    error = error_name(response)
    if error == "ExpiredToken":
        return "refresh"
    if error == "InvalidToken" or (
        response.status_code == 401 and error == "AuthenticationRequired"
    ):
        return "login"
    return None


def _connection_error(url: str, error: requests.ConnectionError) -> PublishError:
    text = repr(error)
    if "NewConnectionError" in text or "NameResolutionError" in text:
        return TransientError(f"{url}: cannot connect ({type(error).__name__})")
    # The connection broke after the request may have been sent.
    return OutcomeUnknown(f"{url}: connection dropped ({type(error).__name__})")


def classify(response: requests.Response) -> PublishError:
    """Map a non-2xx XRPC answer to what to do next (reference/platforms.md §2, §6.4)."""
    status, error = response.status_code, error_name(response)
    named = f" {error}" if error else ""
    message = f"{_method(response)}HTTP {status}{named}: {_error_message(response)}"
    if status == 429:
        return RateLimited(message, _reset_at(response))
    if status in (401, 403) or error in NEEDS_A_PERSON:
        return AuthError(message)
    # 501: the server has no such method (a base_url that is not a PDS): retrying cannot help.
    if (status >= 500 and status != 501) or status == 408:
        return TransientError(message)
    return PermanentError(message)


def _method(response: requests.Response) -> str:
    nsid = urlsplit(response.url or "").path.rpartition("/xrpc/")[2]
    return f"{nsid}: " if nsid else ""


def _reset_at(response: requests.Response) -> datetime | None:
    """`ratelimit-reset` (epoch seconds); else `Retry-After` seconds from the answer's Date."""
    reset = response.headers.get("ratelimit-reset", "").strip()
    if reset.isdigit():
        return datetime.fromtimestamp(int(reset), tz=UTC)
    retry_after = response.headers.get("retry-after", "").strip()
    if not retry_after.isdigit():
        return None
    try:
        sent = parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError):
        return None
    return sent.astimezone(UTC) + timedelta(seconds=int(retry_after))


def json_object(response: requests.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is anything else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_name(response: requests.Response) -> str:
    error = json_object(response).get("error")
    return error if isinstance(error, str) else ""


def _error_message(response: requests.Response) -> str:
    message = json_object(response).get("message")
    if isinstance(message, str) and message:
        return redact(message)[:300]
    return excerpt(response)


def excerpt(response: requests.Response) -> str:
    """The start of the body, with tokens and passwords blanked out."""
    text = redact(response.text[:400]).replace("\n", " ")[:200]
    return text or f"empty body (HTTP {response.status_code})"


def redact(text: str) -> str:
    return _JWT.sub("***", _SECRET_FIELD.sub(r'\1"***"', text))
