"""What every credential flow shares: the account's set-up, the person at the terminal, errors
that never carry a secret, and quiet HTTP libraries."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import requests

from syndicate.errors import SyndicateError

HTTP_TIMEOUT = (10.0, 30.0)  # connect, read: a person is waiting at the terminal
USER_AGENT = "syndicate-auth/0.1"
# Loggers that print request bodies, URLs with query strings or whole tokens at DEBUG.
_CHATTY_LOGGERS = ("requests_oauthlib", "oauthlib", "urllib3")
# Token-shaped fields in a response body, masked in excerpts even when their value is new to us.
_TOKEN_FIELDS = re.compile(
    r"""(?ix)
    ("?(?:access_?token|refresh_?token|access_?jwt|refresh_?jwt|client_secret|oauth_token_secret
       |oauth_token|password|app_password)"?\s*[:=]\s*"?)
    ([^"&\s,}]+)
    """
)


class SetupError(SyndicateError):
    """Credentials could not be obtained or saved; the message says what the person can do."""


@dataclass(frozen=True)
class EnvTarget:
    """Write `VAR=value` into the env file (the config says `key = "${VAR}"`)."""

    var: str
    env_file: Path


@dataclass(frozen=True)
class FileTarget:
    """Write the value alone into a file (the config says `key_file = "path"`)."""

    path: Path


Target = EnvTarget | FileTarget


@dataclass(frozen=True)
class Setup:
    """One account as its config describes it, readable before its credentials exist."""

    account: str
    platform: str
    targets: Mapping[str, Target]  # where each key's new value goes
    literals: frozenset[str] = frozenset()  # keys written in the config itself
    shadowing: frozenset[str] = frozenset()  # VARs the environment sets, winning over the file
    values: Mapping[str, str] = field(default_factory=dict, repr=False)  # known now, as text

    def value(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def mentions(self, key: str) -> bool:
        return key in self.targets or key in self.literals or key in self.values


class Console(Protocol):
    """The person at the terminal. `ask(..., secret=True)` must not echo what is typed."""

    def say(self, text: str) -> None: ...

    def ask(self, prompt: str, *, secret: bool = False) -> str: ...


Browser = Callable[[str], None]  # opens (or only shows) an authorize URL
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Obtained:
    """What a flow got: values to save by config key, who they belong to, and advice."""

    values: Mapping[str, str] = field(repr=False)
    who: str
    notes: tuple[str, ...] = ()


class Redactor:
    """Remembers every secret seen during a flow and removes them from text meant for people."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, *values: str | None) -> None:
        self._secrets.update(v for v in values if v and len(v) >= 4)

    def __call__(self, text: str, limit: int = 300) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        text = _TOKEN_FIELDS.sub(r"\1***", text)
        printable = "".join(c if c.isprintable() else " " for c in text)
        return printable[:limit]


def json_reply(response: requests.Response, what: str, redact: Redactor) -> dict[str, Any]:
    """The JSON object of a 2xx answer; otherwise a SetupError with a redacted excerpt."""
    if not response.ok:
        raise SetupError(f"{what}: HTTP {response.status_code}: {redact(response.text)}")
    try:
        body = response.json()
    except ValueError as e:
        raise SetupError(f"{what}: not JSON: {redact(response.text)}") from e
    if not isinstance(body, dict):
        raise SetupError(f"{what}: expected a JSON object, got {redact(response.text)}")
    return body


def http_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def request(
    session: requests.Session, method: str, url: str, what: str, redact: Redactor, **kw: Any
) -> dict[str, Any]:
    """One plain HTTP call whose failure is a SetupError naming `what`, never a secret."""
    kw.setdefault("timeout", HTTP_TIMEOUT)
    try:
        response = session.request(method, url, **kw)
    except requests.RequestException as e:
        # The exception text holds the URL, and some token exchanges put secrets in the query.
        raise SetupError(f"{what}: {type(e).__name__} reaching {_origin(url)}") from e
    return json_reply(response, what, redact)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"


@contextlib.contextmanager
def quiet_http_logs(names: Iterable[str] = _CHATTY_LOGGERS) -> Iterator[None]:
    """requests-oauthlib logs token request bodies and whole tokens at DEBUG, and urllib3 logs
    URLs whose query strings carry secrets: hold them at WARNING while a flow runs."""
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
