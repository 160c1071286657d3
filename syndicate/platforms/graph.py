"""What Facebook Pages and Threads share: Meta's Graph API transport and error envelope.

Both publishers speak the same dialect (reference/platforms.md §8.2, §10.3): the access token
travels as the `access_token` parameter, parameters are form or query values, and every
failure is `{"error": {"message", "type", "code", "error_subcode", "is_transient",
"fbtrace_id"}}` whose `code` (not the HTTP status) says what to do next. This module is not a
platform of its own; the two platform modules import it and never each other.

The token sits in query strings of GET requests, as the API documents, so three places could
leak it and are closed here: our messages (built without URLs), chained `requests` exceptions
(replaced by a redacted stand-in) and urllib3's debug log of request lines (filtered).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import regex
import requests

from syndicate.errors import (
    AlreadyPosted,
    AuthError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.httpenv import HttpSession

CONNECT_TIMEOUT = 5.0
TRANSIENT_CODES = frozenset({1, 2})
# App, user, page, call-rate and application limits; 80001 is the Pages business-use-case
# throttle (reference §8.2).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80001})
DUPLICATE_CODE = 506
# Expired or invalid token (190), permission missing (10, 200-299), blocked for policy (368):
# no retry helps, a person must act.
AUTH_CODES = frozenset({10, 102, 190, 368, *range(200, 300)})
# Gateways answer these without an envelope after the request may have been processed.
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})
USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage")

_SECRET_PARAMS = regex.compile(
    r"((?:access_token|client_secret|appsecret_proof|fb_exchange_token)=)[^&\s\"']+"
)


class Redacted(Exception):
    """Stands in for a `requests` exception whose text carries a URL with the token."""


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without secret query parameters or any of `secrets`."""
    text = _SECRET_PARAMS.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class _RedactRequestLines(logging.Filter):
    """urllib3 logs every request line at DEBUG, query string and all."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_REQUEST_LINE_FILTER = _RedactRequestLines()


def _guard_urllib3_log() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if _REQUEST_LINE_FILTER not in logger.filters:
        logger.addFilter(_REQUEST_LINE_FILTER)


class GraphClient:
    """Calls `{base_url}/{version}/{path}` with the token as a parameter; classifies failures."""

    def __init__(
        self, base_url: str, version: str, *, timeout: float, app_secret: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version.strip("/")
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.app_secret = app_secret
        self.session = HttpSession()
        _guard_urllib3_log()

    def call(
        self,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None = None,
        *,
        versioned: bool = True,
        ambiguous: bool = True,
    ) -> Any:
        """The JSON answer of one call. `ambiguous=False` says an unanswered request cannot
        have changed anything public, so losing the answer is a TransientError."""
        values = {**(params or {}), "access_token": token}
        if self.app_secret:
            values["appsecret_proof"] = appsecret_proof(self.app_secret, token)
        where = f"{method} /{self.version}/{path}" if versioned else f"{method} /{path}"
        url = f"{self.base_url}/{self.version}/{path}" if versioned else f"{self.base_url}/{path}"
        body_or_query = {"data": values} if method == "POST" else {"params": values}
        response = self._send(method, url, where, token, ambiguous, **body_or_query)
        if response.status_code >= 300:
            raise classify(response, secrets=(token, self.app_secret))
        try:
            return response.json()
        except ValueError as e:
            shape = f"{where}: answered {response.status_code} without JSON"
            raise (OutcomeUnknown if ambiguous else TransientError)(shape) from e

    def _send(
        self, method: str, url: str, where: str, token: str, ambiguous: bool, **kwargs: Any
    ) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as e:
            error = transport_error(where, e, ambiguous=ambiguous)
            stand_in = Redacted(redact(f"{type(e).__name__}: {e}", (token, self.app_secret)))
            raise error from stand_in


def appsecret_proof(app_secret: str, token: str) -> str:
    """hex HMAC-SHA256 of the token keyed by the app secret ("Require App Secret")."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def transport_error(
    where: str, error: requests.RequestException, *, ambiguous: bool
) -> PublishError:
    """Nothing was sent (connect failures) or the answer was lost (everything else)."""
    name = type(error).__name__
    if isinstance(error, requests.ConnectTimeout):
        return TransientError(f"{where}: connect timeout")
    text = repr(error)
    if isinstance(error, requests.ConnectionError) and (
        "NewConnectionError" in text or "NameResolutionError" in text
    ):
        return TransientError(f"{where}: cannot connect ({name})")
    lost = f"{where}: no answer ({name})"
    return OutcomeUnknown(lost) if ambiguous else TransientError(lost)


def classify(response: requests.Response, *, secrets: Iterable[str] = ()) -> PublishError:
    """Map a failed Graph answer to what to do next, by `error.code` (reference §8.2)."""
    envelope = error_envelope(response)
    if envelope is None:
        return _classify_bare(response, redact(excerpt(response), secrets))
    code = _int(envelope.get("code"))
    message = redact(_describe(response.status_code, envelope), secrets)
    if code in RATE_LIMIT_CODES:
        return RateLimited(message, reset_at(response))
    if code == DUPLICATE_CODE:
        return AlreadyPosted(message, None)
    if code in AUTH_CODES:
        return AuthError(message)
    if code in TRANSIENT_CODES or envelope.get("is_transient") is True:
        return TransientError(message)
    return PermanentError(message)


def _classify_bare(response: requests.Response, text: str) -> PublishError:
    """No Graph envelope: a proxy or gateway answered, so only the status speaks."""
    status = response.status_code
    message = f"HTTP {status}: {text}"
    if status in AMBIGUOUS_STATUSES:
        return OutcomeUnknown(message)
    if status == 429:
        return RateLimited(message, reset_at(response))
    return TransientError(message) if status >= 500 else PermanentError(message)


def error_envelope(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _describe(status: int, error: Mapping[str, Any]) -> str:
    code = error.get("code")
    subcode = error.get("error_subcode")
    label = f"code {code}" + (f"/{subcode}" if subcode is not None else "")
    text = str(error.get("message") or error.get("error_user_msg") or "no message")[:300]
    trace = f" (fbtrace_id {error['fbtrace_id']})" if error.get("fbtrace_id") else ""
    return f"HTTP {status}, {label}: {text}{trace}"


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def excerpt(response: requests.Response) -> str:
    return response.text[:200].replace("\n", " ") or f"empty body (HTTP {response.status_code})"


def reset_at(response: requests.Response) -> datetime | None:
    """When access returns: the largest `estimated_time_to_regain_access` (minutes) in the
    usage headers, counted from the answer's Date (the platform's clock), else None."""
    minutes = [m for name in USAGE_HEADERS for m in _regain_minutes(response.headers.get(name))]
    if not minutes or max(minutes) <= 0:
        return None
    return _answered_at(response) + timedelta(minutes=max(minutes))


def _regain_minutes(header: str | None) -> list[float]:
    """X-Business-Use-Case-Usage maps ids to lists of usages; the older headers are one
    usage object."""
    if not header:
        return []
    try:
        data = json.loads(header)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    usages: list[Any] = [data]
    if "estimated_time_to_regain_access" not in data:
        usages = [u for value in data.values() if isinstance(value, list) for u in value]
    found = [u.get("estimated_time_to_regain_access") for u in usages if isinstance(u, dict)]
    return [float(m) for m in found if isinstance(m, int | float) and not isinstance(m, bool)]


def _answered_at(response: requests.Response) -> datetime:
    try:
        return parsedate_to_datetime(response.headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)
