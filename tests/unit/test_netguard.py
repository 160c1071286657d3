"""The SSRF rule, on literal addresses only: getaddrinfo parses them locally, so no test here
sends a DNS query or a packet beyond the loopback interface."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_address

import pytest
import requests

from syndicate.errors import FetchError
from syndicate.feeds.netguard import GuardedAdapter, check_host, refusal, resolve_checked
from tests.fakes.feedserver import FeedServer

ALWAYS_REFUSED = [
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack metadata
    "169.254.0.1",
    "fe80::1",
    "[fe80::1]",  # as urlsplit would not, but a caller might, pass it
    "fd00:ec2::254",  # AWS metadata over IPv6
    "100.100.100.200",  # Alibaba Cloud metadata
    "::ffff:169.254.169.254",  # IPv4-mapped: a dual-stack socket reaches the IPv4 address
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2852039166",  # 169.254.169.254 in the legacy forms inet_aton (and so urllib3) accepts
    "0251.0376.0251.0376",
    "0xa9fea9fe",
]
PRIVATE = [
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",
    "127.1",
    "::1",
    "0.0.0.0",
    "100.64.0.1",  # carrier-grade NAT, shared address space
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "224.0.0.1",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "::ffff:10.0.0.1",
]
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"]


@pytest.mark.parametrize("host", ALWAYS_REFUSED)
@pytest.mark.parametrize("block_private", [False, True])
def test_link_local_and_metadata_are_always_refused(host: str, block_private: bool) -> None:
    with pytest.raises(FetchError, match=r"refusing to connect to .*(link-local|metadata)"):
        check_host(host, block_private=block_private)


@pytest.mark.parametrize("host", PRIVATE)
def test_private_ranges_are_refused_only_when_blocked(host: str) -> None:
    check_host(host, block_private=False)
    with pytest.raises(FetchError, match=f"refusing to connect to {host}"):
        check_host(host, block_private=True)


@pytest.mark.parametrize("host", PUBLIC)
def test_public_addresses_are_allowed_even_when_private_ones_are_blocked(host: str) -> None:
    check_host(host, block_private=True)


def test_the_message_names_the_host_and_the_address_it_resolved_to() -> None:
    with pytest.raises(FetchError) as info:
        check_host("2852039166", block_private=False)
    assert str(info.value) == (
        "refusing to connect to 2852039166 (169.254.169.254): a cloud metadata address"
    )


@pytest.mark.parametrize(
    ("address", "block_private", "reason"),
    [
        ("169.254.169.254", False, "a cloud metadata address"),
        ("169.254.1.1", False, "a link-local address"),
        ("127.0.0.1", False, None),
        ("127.0.0.1", True, "a loopback address"),
        ("ff02::1", True, "a multicast address"),
        ("10.1.2.3", True, "a private or reserved address"),
        ("8.8.8.8", True, None),
    ],
)
def test_refusal_says_why(address: str, block_private: bool, reason: str | None) -> None:
    assert refusal(ip_address(address), block_private=block_private) == reason


def test_a_missing_host_is_refused() -> None:
    with pytest.raises(FetchError, match="no host"):
        check_host("", block_private=False)


def test_resolve_checked_returns_each_address_once() -> None:
    assert resolve_checked("127.0.0.1", 80, block_private=False) == ["127.0.0.1"]


# ---------------------------------------------------- the guard on the socket itself


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.publish("/feed.atom", b"<feed/>")
        yield s


def guarded_session(*, block_private: bool) -> requests.Session:
    session = requests.Session()
    adapter = GuardedAdapter(block_private=block_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def test_the_adapter_refuses_a_socket_to_a_refused_address(server: FeedServer) -> None:
    # The check a name gets before the request is not the last word: the socket is checked
    # again when it opens, which is what stops a name that changes its answer (DNS rebinding).
    with pytest.raises(FetchError, match="a loopback address"):
        guarded_session(block_private=True).get(server.url_for("/feed.atom"), timeout=2)
    assert server.hits("/feed.atom") == 0


def test_the_adapter_connects_to_an_allowed_address(server: FeedServer) -> None:
    response = guarded_session(block_private=False).get(server.url_for("/feed.atom"), timeout=2)
    assert response.status_code == 200 and response.content == b"<feed/>"


def test_the_adapter_refuses_metadata_without_connecting() -> None:
    with pytest.raises(FetchError, match="a cloud metadata address"):
        guarded_session(block_private=False).get("http://169.254.169.254/", timeout=2)
