"""The publisher contract every platform module implements."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import requests

from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary

Refresh = Callable[[dict[str, str]], Mapping[str, str] | None]


class HttpSession(requests.Session):
    """A requests session that reads the environment's proxy variables once per scheme and
    host, and the CA bundle variables once, instead of on every request: requests scans the
    whole environment twice per request for them, which was 8% of a send's CPU
    (docs/benchmarks.md). The settings are what requests itself would use; a change to the
    environment after the first request to a host is not seen by this session."""

    def __init__(self) -> None:
        super().__init__()
        self._proxies_for: dict[tuple[str, str, str | None], dict[str, str]] = {}
        self._ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")

    def merge_environment_settings(  # type: ignore[override]  # requests' own signature
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        # requests.Session.merge_environment_settings, with the environment lookups cached.
        if self.trust_env:
            proxies = dict(proxies or {})
            no_proxy = proxies.get("no_proxy")
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc, no_proxy)
            found = self._proxies_for.get(key)
            if found is None:
                found = self._proxies_for[key] = requests.utils.get_environ_proxies(
                    url, no_proxy=no_proxy
                )
            for scheme, proxy in found.items():
                proxies.setdefault(scheme, proxy)
            if verify is True or verify is None:
                verify = self._ca_bundle or verify
        merged_proxies = {**self.proxies, **(proxies or {})}  # requests' merge_setting
        return {
            "proxies": {k: v for k, v in merged_proxies.items() if v is not None},
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }


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
