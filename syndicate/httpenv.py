"""What requests reads from the environment on every request (proxy variables and no_proxy,
the CA bundle), read once instead: requests scans the whole environment twice per request
for them, a third of a 304 poll's CPU and 8% of a send's (docs/benchmarks.md). The values
are the ones requests itself would use; a change to the environment after the first request
to a host is not seen. Shared by the feed fetcher and the publishers."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import requests


def ca_bundle() -> str | None:
    """The CA bundle the environment names, as requests reads it (REQUESTS_CA_BUNDLE, then
    CURL_CA_BUNDLE)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


class EnvironmentProxies:
    """The environment's proxies per scheme, host and no_proxy: `requests.utils.
    get_environ_proxies`, asked once per key."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str, str | None], dict[str, str]] = {}

    def for_url(self, url: str, no_proxy: str | None = None) -> dict[str, str]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, no_proxy)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = requests.utils.get_environ_proxies(url, no_proxy=no_proxy)
        return found


class HttpSession(requests.Session):
    """A requests session whose environment settings come from `EnvironmentProxies` and
    `ca_bundle`, read once (the CA bundle when the session is made)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment = EnvironmentProxies()
        self._ca_bundle = ca_bundle()

    def merge_environment_settings(  # type: ignore[override]  # requests' own signature
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        # requests.Session.merge_environment_settings, with the environment lookups cached.
        if self.trust_env:
            proxies = dict(proxies or {})
            for scheme, proxy in self._environment.for_url(url, proxies.get("no_proxy")).items():
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
