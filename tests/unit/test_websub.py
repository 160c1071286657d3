"""The WebSub subscriber protocol, pure: request parameters, verification of intent,
signatures and the renewal rule."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from syndicate.feeds import websub
from syndicate.feeds.websub import Action, Mode, State

TOPIC = "https://blog.example.com/feeds/posts/default"
BODY = b"<feed>pushed</feed>"
SECRET = "s3cret"


def test_subscribe_request_names_callback_topic_lease_and_secret() -> None:
    params = websub.subscription_params(
        Mode.SUBSCRIBE,
        callback="https://me.example/websub/tok",
        topic=TOPIC,
        secret=SECRET,
        lease=timedelta(days=10),
    )
    assert params == {
        "hub.callback": "https://me.example/websub/tok",
        "hub.mode": "subscribe",
        "hub.topic": TOPIC,
        "hub.lease_seconds": "864000",
        "hub.secret": SECRET,
    }


def test_unsubscribe_request_carries_no_secret_or_lease() -> None:
    params = websub.subscription_params(
        Mode.UNSUBSCRIBE, callback="cb", topic=TOPIC, secret=SECRET, lease=timedelta(days=1)
    )
    assert params == {"hub.callback": "cb", "hub.mode": "unsubscribe", "hub.topic": TOPIC}


def test_a_secret_of_200_bytes_or_more_is_refused() -> None:
    with pytest.raises(ValueError, match="200 bytes"):
        websub.subscription_params(
            Mode.SUBSCRIBE, callback="cb", topic=TOPIC, secret="x" * 200, lease=None
        )


@pytest.mark.parametrize(
    ("hub", "allowed"),
    [
        ("https://pubsubhubbub.appspot.com/", True),
        ("http://127.0.0.1:8000/", True),
        ("http://localhost/hub", True),
        ("http://[::1]:9/", True),
        ("http://pubsubhubbub.appspot.com/", False),
        ("http://10.0.0.1/", False),
    ],
)
def test_the_secret_only_travels_over_https_or_loopback(hub: str, allowed: bool) -> None:
    assert websub.may_send_secret(hub) is allowed


def intent(**params: str) -> dict[str, str]:
    return {"hub.topic": TOPIC, "hub.challenge": "abc123", **params}


def test_a_subscription_we_asked_for_is_confirmed_with_its_challenge_and_lease() -> None:
    answer = websub.answer_intent(
        intent(**{"hub.mode": "subscribe", "hub.lease_seconds": "3600"}),
        topic=TOPIC,
        state=State.PENDING,
    )
    assert answer.action is Action.CONFIRM
    assert (answer.challenge, answer.lease) == ("abc123", timedelta(hours=1))


@pytest.mark.parametrize(
    ("params", "topic", "state"),
    [
        ({"hub.mode": "subscribe", "hub.topic": "https://other.example/feed"}, TOPIC, "pending"),
        ({"hub.mode": "subscribe"}, None, None),  # an unknown callback
        ({"hub.mode": "subscribe"}, TOPIC, "denied"),
        ({"hub.mode": "subscribe"}, TOPIC, "unsubscribed"),
        ({"hub.mode": "unsubscribe"}, TOPIC, "subscribed"),  # we never asked to stop
        ({"hub.mode": "subscribe", "hub.challenge": ""}, TOPIC, "pending"),
        ({"hub.mode": "bogus"}, TOPIC, "pending"),
        ({}, TOPIC, "pending"),
    ],
)
def test_anything_we_did_not_ask_for_is_rejected(
    params: dict[str, Any], topic: str | None, state: str | None
) -> None:
    assert websub.answer_intent(intent(**params), topic=topic, state=state).action is Action.REJECT


def test_an_unsubscription_we_asked_for_is_confirmed() -> None:
    answer = websub.answer_intent(
        intent(**{"hub.mode": "unsubscribe"}), topic=TOPIC, state=State.UNSUBSCRIBED
    )
    assert (answer.action, answer.challenge) == (Action.CONFIRM, "abc123")


def test_a_denial_is_recognised_with_its_reason() -> None:
    params = {"hub.mode": "denied", "hub.topic": TOPIC, "hub.reason": "spam"}
    answer = websub.answer_intent(params, topic=TOPIC, state=State.PENDING)
    assert (answer.action, answer.reason) == (Action.DENIED, "spam")
    other = {**params, "hub.topic": "https://other.example/"}
    assert websub.answer_intent(other, topic=TOPIC, state=State.PENDING).action is Action.REJECT


def sign(method: str, body: bytes = BODY, secret: str = SECRET) -> str:
    return f"{method}={hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()}"


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_signatures_of_every_method_are_verified(method: str) -> None:
    assert websub.signature_valid(SECRET, BODY, sign(method))
    assert websub.signature_valid(
        SECRET, BODY, sign(method).upper().replace(method.upper(), method)
    )
    assert not websub.signature_valid(SECRET, BODY + b" ", sign(method))
    assert not websub.signature_valid("other", BODY, sign(method))


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256", "md5=" + hashlib.md5(BODY).hexdigest(), "sha256=zz", "sha256=é"],
)
def test_unsigned_or_malformed_signatures_are_not_authentic(header: str | None) -> None:
    assert not websub.signature_valid(SECRET, BODY, header)


def test_without_a_secret_nothing_is_authentic() -> None:
    assert not websub.signature_valid(None, BODY, sign("sha256", secret=""))


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module websub calls it through
    assert websub.signature_valid(SECRET, BODY, sign("sha1"))
    assert len(calls) == 1


def test_renewal_comes_at_80_percent_of_the_lease() -> None:
    verified = datetime(2026, 11, 26, tzinfo=UTC)
    renew = websub.renew_at(verified, timedelta(days=10))
    assert renew == verified + timedelta(days=8)
    assert not websub.renewal_due(renew - timedelta(seconds=1), renew)
    assert websub.renewal_due(renew, renew)
    assert not websub.renewal_due(renew, None)


def test_link_headers_name_hub_and_self_resolved_against_the_feed_url() -> None:
    header = '<https://hub.example/>; rel="hub", </feed.xml>; rel=self, <x>; rel="alternate"'
    assert websub.header_links(header, "https://blog.example/index") == {
        "hub": "https://hub.example/",
        "self": "https://blog.example/feed.xml",
        "alternate": "https://blog.example/x",
    }
    assert websub.header_links(None) == {}


def test_during_a_renewal_either_secret_signs_and_no_other() -> None:
    body = b"<feed/>"
    header = "sha256=" + hmac.new(b"old", body, hashlib.sha256).hexdigest()
    assert websub.signed_by_any(("old", "new"), body, header)
    assert websub.signed_by_any(("new", None), body, header) is False
    assert websub.signed_by_any((None, None), body, header) is False
    assert websub.signed_by_any((), body, header) is False
