"""WebSub subscriber protocol (W3C Recommendation 2018-01-23), pure: no I/O, no clock.

The service layer does the HTTP and the database around these decisions: what to send to a hub,
whether to answer a hub's verification of intent, whether pushed content is authentic, and
when a lease needs renewing.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

DEFAULT_LEASE = timedelta(days=10)  # the spec's "good default"; hubs may grant another
RENEW_FRACTION = 0.8  # re-subscribe when 80% of the lease has passed
MAX_SECRET_BYTES = 199  # hub.secret MUST be less than 200 bytes
SIGNATURE_METHODS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


class Mode(enum.StrEnum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    DENIED = "denied"


class State(enum.StrEnum):
    """A feed's subscription, as we know it (feeds.websub_state; NULL: never subscribed)."""

    PENDING = "pending"  # asked the hub; waiting for its verification of intent
    SUBSCRIBED = "subscribed"  # the hub verified; pushes may come until the lease ends
    DENIED = "denied"  # the hub refused; polling only
    UNSUBSCRIBED = "unsubscribed"  # we asked to stop (feed removed from the config)


def subscription_params(
    mode: Mode, *, callback: str, topic: str, secret: str | None, lease: timedelta | None
) -> dict[str, str]:
    """The form body of a (un)subscription request to the hub."""
    params = {"hub.callback": callback, "hub.mode": mode.value, "hub.topic": topic}
    if mode is Mode.SUBSCRIBE and lease is not None:
        params["hub.lease_seconds"] = str(int(lease.total_seconds()))
    if mode is Mode.SUBSCRIBE and secret:
        if len(secret.encode()) > MAX_SECRET_BYTES:
            raise ValueError("hub.secret must be under 200 bytes")
        params["hub.secret"] = secret
    return params


def may_send_secret(hub_url: str) -> bool:
    """The secret travels in the request body: only over HTTPS, or to a hub on this machine
    (loopback never leaves it)."""
    parts = urlsplit(hub_url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Action(enum.StrEnum):
    CONFIRM = "confirm"  # answer 2xx with the challenge
    DENIED = "denied"  # the hub refused our subscription: record it, answer 2xx
    REJECT = "reject"  # not something we asked for: answer 404


@dataclass(frozen=True)
class Intent:
    action: Action
    mode: str = ""
    challenge: str = ""
    lease: timedelta | None = None
    reason: str = ""


def answer_intent(params: Mapping[str, str], *, topic: str | None, state: str | None) -> Intent:
    """Decide on a hub's GET to our callback. `topic` and `state` are what we asked for on
    this callback (None if nothing). Only a request we made is confirmed."""
    mode = params.get("hub.mode", "")
    if topic is None or params.get("hub.topic") != topic:
        return Intent(Action.REJECT, mode)
    if mode == Mode.DENIED:
        if state not in (State.PENDING, State.SUBSCRIBED):
            return Intent(Action.REJECT, mode)
        return Intent(Action.DENIED, mode, reason=params.get("hub.reason", "")[:500])
    challenge = params.get("hub.challenge", "")
    wanted = {
        Mode.SUBSCRIBE: (State.PENDING, State.SUBSCRIBED),
        Mode.UNSUBSCRIBE: (State.UNSUBSCRIBED,),
    }
    if not challenge or mode not in wanted or state not in wanted[Mode(mode)]:
        return Intent(Action.REJECT, mode)
    return Intent(Action.CONFIRM, mode, challenge=challenge, lease=_lease(params))


def _lease(params: Mapping[str, str]) -> timedelta | None:
    value = params.get("hub.lease_seconds", "").strip()
    return timedelta(seconds=int(value)) if value.isdecimal() and int(value) > 0 else None


def signature_valid(secret: str | None, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature: <method>=<hex HMAC(secret, body)>`, compared in constant time. Without
    a secret nothing is authentic; an unknown method or a malformed header is not either."""
    if not secret or not header or "=" not in header:
        return False
    method, _, given = header.strip().partition("=")
    digest = SIGNATURE_METHODS.get(method.strip().lower())
    if digest is None:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    # Bytes: compare_digest refuses str with non-ASCII characters, which a header may carry.
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def signed_by_any(secrets: Iterable[str | None], body: bytes, header: str | None) -> bool:
    """Valid under one of `secrets`. During a renewal both the old secret and the fresh one
    are held: the hub signs with the old until it has verified the renewal, and with the new
    from then on, and a push may cross our handling of that verification."""
    return any(signature_valid(secret, body, header) for secret in secrets)


def renew_at(verified_at: datetime, lease: timedelta) -> datetime:
    """When to re-subscribe: after RENEW_FRACTION of the lease the hub granted."""
    return verified_at + lease * RENEW_FRACTION


def renewal_due(now: datetime, renew: datetime | None) -> bool:
    return renew is not None and now >= renew


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.IGNORECASE)


def header_links(value: str | None, base: str = "") -> dict[str, str]:
    """rel -> first URL (resolved against `base`) from an HTTP `Link:` header (RFC 8288), for
    `hub` and `self`."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        rel = _REL.search(match[2])
        for name in (rel[1] or rel[2]).lower().split() if rel else ():
            links.setdefault(name, urljoin(base, match[1].strip()))
    return links
