"""Keep feed fetches away from addresses a feed URL has no business reaching (SSRF).

A feed URL comes from a config file, a discovered `<link>` or a redirect chosen by a remote
server, so it may point at the cloud metadata service or the operator's own network. One rule,
`refusal`, decides; it is applied twice:

- `check_host` resolves a URL's host before each hop (the first URL and every redirect), so a
  refused address fails with a message naming the host and no connection is made;
- `GuardedAdapter` resolves again when it opens a socket and connects only to an address that
  passed the rule. A name can resolve to a public address for the first check and to
  169.254.169.254 a second later (DNS rebinding); the socket still goes to the checked address.

Residual risk: through an HTTP(S) proxy (requests honours HTTP_PROXY and friends) the proxy
resolves the name and only `check_host` applies, so rebinding is possible there.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from syndicate.errors import FetchError

IPAddress = IPv4Address | IPv6Address

# Refused whatever block_private says: no feed lives there, and an instance's credentials do.
# 169.254.169.254 serves AWS, GCP, Azure and OpenStack; fd00:ec2::254 is AWS over IPv6;
# 100.100.100.200 is Alibaba Cloud.
METADATA_ADDRESSES = frozenset(
    ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# RFC 6052 NAT64: a gateway turns 64:ff9b::a9fe:a9fe into 169.254.169.254.
_NAT64 = ip_network("64:ff9b::/96")


def refusal(address: IPAddress, *, block_private: bool) -> str | None:
    """Why a connection to `address` is refused ("a link-local address"), or None to allow it."""
    address = _embedded_ipv4(address)
    reason = _always_refused(address)
    if reason is None and block_private:
        reason = _private_kind(address)
    return reason


def _always_refused(address: IPAddress) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    return None


def _private_kind(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if address.is_multicast:
        return "a multicast address"
    # is_global is False for private, shared (100.64/10), documentation and unspecified
    # ranges; site-local fec0::/10 is deprecated but still routed on some networks.
    if not address.is_global or address.is_reserved or _site_local(address):
        return "a private or reserved address"
    return None


def check_host(host: str, *, block_private: bool) -> None:
    """Resolve `host` and raise FetchError if any of its addresses is refused."""
    resolve_checked(host, None, block_private=block_private)


def resolve_checked(host: str, port: int | None, *, block_private: bool) -> list[str]:
    """The addresses `host` resolves to, in getaddrinfo's order; refused as a whole if any one
    is: a name that also points at the metadata service is no feed host, whichever address a
    client would try first."""
    bare = host.strip("[]")  # urllib3 and urlsplit disagree on IPv6 brackets
    if not bare:
        raise FetchError("the URL has no host")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as e:
        raise FetchError(f"{bare}: cannot resolve the host ({e})") from e
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = refusal(ip_address(address), block_private=block_private)
        if reason:
            named = bare if address == bare else f"{bare} ({address})"
            raise FetchError(f"refusing to connect to {named}: {reason}")
    return addresses


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose sockets connect only to addresses `refusal` allows."""

    def __init__(self, *, block_private: bool) -> None:
        self.block_private = block_private  # before super(): it calls init_poolmanager
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pools(self.block_private)


def _guarded_pools(block_private: bool) -> dict[str, type[HTTPConnectionPool]]:
    # urllib3 offers no hook between resolving and connecting, so the connection classes
    # override `_new_conn` (urllib3 2.x); TLS still verifies the certificate against the name.
    class GuardedHTTP(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _connect_checked(self, block_private)

    class GuardedHTTPS(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _connect_checked(self, block_private)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTP

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPS

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


def _connect_checked(conn: HTTPConnection, block_private: bool) -> socket.socket:
    """Like urllib3's `_new_conn`, but to the addresses that were checked, tried in order."""
    addresses = resolve_checked(conn._dns_host, conn.port, block_private=block_private)
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return create_connection(
                (address, conn.port),  # numeric: no second lookup to race with
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except OSError as e:
            error = e
    if isinstance(error, TimeoutError):
        raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out") from error
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one reaches: a dual-stack socket sends ::ffff:169.254.169.254
    to 169.254.169.254, and ipaddress does not call the mapped form link-local."""
    if isinstance(address, IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _site_local(address: IPAddress) -> bool:
    return isinstance(address, IPv6Address) and address.is_site_local
