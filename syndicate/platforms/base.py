"""The publisher contract every platform module implements."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import ClassVar, Protocol

from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary

Refresh = Callable[[dict[str, str]], Mapping[str, str] | None]


class TokenCache(Protocol):
    """State one account must keep across processes and restarts: rotated OAuth token pairs,
    a Bluesky session. The service keeps it in the ledger (never in events or logs).

    `update` runs `refresh(current)` while holding the account's lock, so two workers never
    spend the same single-use refresh token: the second one sees the pair the first stored
    and can return None to keep it. What `refresh` returns replaces the stored values whole.
    """

    def load(self) -> dict[str, str]: ...

    def update(self, refresh: Refresh) -> dict[str, str]: ...


class MemoryTokenCache:
    """A TokenCache for one process (tests, `preview`, `accounts check` without a ledger)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})
        self._lock = threading.Lock()

    def load(self) -> dict[str, str]:
        with self._lock:
            return dict(self._values)

    def update(self, refresh: Refresh) -> dict[str, str]:
        with self._lock:
            new = refresh(dict(self._values))
            if new is not None:
                self._values = dict(new)
            return dict(self._values)


class Publisher(Protocol):
    """One account on one platform.

    `tokens` is where a platform keeps rotated credentials or a session (a MemoryTokenCache
    when None). `render` is pure and shared by preview and publish; `publish` sends exactly
    the Post it is given and classifies every failure into the errors of `syndicate.errors`;
    `find_existing` answers "did this key already post?" (None means definitely not there;
    it raises OutcomeUnknown when the platform cannot tell).
    """

    PLATFORM: ClassVar[str]
    OPTIONS: ClassVar[tuple[OptionSpec, ...]]

    # Optional: `@staticmethod validate_options(options) -> str | None` names what is wrong
    # across keys (e.g. neither credential set complete); settings calls it at start-up.

    def __init__(
        self, account: Account, *, timeout: float, tokens: TokenCache | None = None
    ) -> None: ...

    def render(self, summary: Summary) -> Post: ...

    def publish(self, post: Post, key: str) -> PublishResult: ...

    def find_existing(self, key: str, post: Post) -> PublishResult | None: ...

    def check(self) -> str: ...
