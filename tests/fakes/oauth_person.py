"""The person on the other side of `syndicate auth`, scripted: terminal and browser."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from syndicate.auth import EnvTarget, FileTarget, Setup, Target

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def free_port() -> int:
    """A port to register as the redirect URI before the listener binds it, as a person would."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Terminal:
    """Answers prompts by a fragment of their text; records what was said and asked."""

    def __init__(self, answers: dict[str, str | Callable[[], str]] | None = None) -> None:
        self.answers = answers or {}
        self.said: list[str] = []
        self.asked: list[tuple[str, bool]] = []

    def say(self, text: str) -> None:
        self.said.append(text)

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        self.asked.append((prompt, secret))
        for fragment, answer in self.answers.items():
            if fragment in prompt:
                return answer() if callable(answer) else answer
        raise AssertionError(f"unexpected prompt: {prompt!r}")

    @property
    def transcript(self) -> str:
        return "\n".join(self.said + [prompt for prompt, _ in self.asked])


class Person:
    """Opens the authorize URL like a browser: approves (the fake decides), reads a PIN page,
    or follows the redirect back to the listener; `forge_state` plays a forged link."""

    def __init__(self, *, forge_state: bool = False) -> None:
        self.forge_state = forge_state
        self.opened: list[str] = []
        self.pin = ""
        self.landing: requests.Response | None = None

    def __call__(self, url: str) -> None:
        self.opened.append(url)
        page = requests.get(url, allow_redirects=False, timeout=10)
        if page.status_code != 302:
            found = re.search(r'<code id="pin">(\d+)</code>', page.text)
            self.pin = found[1] if found else ""
            return
        location = page.headers["Location"]
        if self.forge_state:
            location = _replace_param(location, "state", "forged-state")
        self.landing = requests.get(location, timeout=10)


def _replace_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def setup_for(
    platform: str,
    tmp_path: Path,
    *,
    env: tuple[str, ...] = (),
    files: tuple[str, ...] = (),
    literals: tuple[str, ...] = (),
    values: dict[str, str] | None = None,
    account: str = "main",
) -> Setup:
    """An account whose `env` keys are `${MAIN_<KEY>}` in tmp_path/secrets.env and whose
    `files` keys are `<key>_file = tmp_path/secrets/<key>`."""
    targets: dict[str, Target] = {
        key: EnvTarget(f"{account.upper()}_{key.upper()}", tmp_path / "secrets.env") for key in env
    }
    targets |= {key: FileTarget(tmp_path / "secrets" / key) for key in files}
    return Setup(
        account=account,
        platform=platform,
        targets=targets,
        literals=frozenset(literals),
        values=values or {},
    )


def env_lines(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
