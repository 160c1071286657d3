"""The publishers' HttpSession: the same proxy and CA bundle settings requests would use,
read from the environment once per host instead of on every request."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from syndicate.httpenv import HttpSession

URLS = [
    "https://social.example/api/v1/statuses",
    "http://hooks.example:8080/x",
    "https://intra.corp/",
]

ENVIRONMENTS: list[dict[str, str]] = [
    {},
    {"HTTPS_PROXY": "http://proxy.local:3128", "HTTP_PROXY": "http://plain.local:3128"},
    {"https_proxy": "http://proxy.local:3128", "no_proxy": "intra.corp,.example"},
    {"ALL_PROXY": "socks5://socks.local:1080", "NO_PROXY": "social.example"},
    {"REQUESTS_CA_BUNDLE": "/etc/ssl/custom.pem"},
    {"CURL_CA_BUNDLE": "/etc/ssl/curl.pem", "HTTPS_PROXY": "http://proxy.local:3128"},
]
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "requests_ca_bundle",
              "curl_ca_bundle")  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.lower() in PROXY_VARS:
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize(
    "request_args",
    [
        {"proxies": {}, "stream": None, "verify": None, "cert": None},
        {"proxies": {"https": "http://explicit:1"}, "stream": True, "verify": False, "cert": "c"},
        {"proxies": {"no_proxy": "social.example"}, "stream": False, "verify": True, "cert": None},
    ],
)
def test_it_merges_the_environment_exactly_as_requests_does(
    clean_env: pytest.MonkeyPatch, environment: dict[str, str], request_args: dict[str, Any]
) -> None:
    for name, value in environment.items():
        clean_env.setenv(name, value)
    ours, theirs = HttpSession(), requests.Session()
    for session in (ours, theirs):
        session.proxies = {"http": "http://session-level:1"}
    for url in URLS:
        for _ in range(2):  # the second answer comes from the cache
            expected = theirs.merge_environment_settings(url, **_copy(request_args))
            assert ours.merge_environment_settings(url, **_copy(request_args)) == expected


def _copy(args: dict[str, Any]) -> dict[str, Any]:
    return {**args, "proxies": dict(args["proxies"])}


def test_the_environment_is_read_once_per_host(
    clean_env: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = requests.utils.get_environ_proxies

    def counting(url: str, no_proxy: str | None = None) -> dict[str, str]:
        calls.append(url)
        return real(url, no_proxy=no_proxy)

    clean_env.setattr(requests.utils, "get_environ_proxies", counting)
    session = HttpSession()
    for _ in range(5):
        session.merge_environment_settings(URLS[0], {}, None, None, None)
        session.merge_environment_settings(URLS[1], {}, None, None, None)
    assert len(calls) == 2


def test_a_session_that_does_not_trust_the_environment_ignores_it(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("HTTPS_PROXY", "http://proxy.local:3128")
    session = HttpSession()
    session.trust_env = False
    settings = session.merge_environment_settings(URLS[0], {}, None, None, None)
    assert settings["proxies"] == {} and settings["verify"] is True
