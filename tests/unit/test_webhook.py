"""The webhook publisher against the loopback receiver over real HTTP, and the receiver itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
import requests

from syndicate.errors import (
    AuthError,
    ConfigError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.model import Account, Post, Secret, Summary
from syndicate.platforms.webhook import WebhookPublisher, classify
from syndicate.settings import load
from tests.fakes.webhook import FakeWebhook, FaultKind

NOW = 1_795_140_030.0
AT = datetime.fromtimestamp(NOW, UTC)
SECRET = "whsec-Jk38dQp"
HOOK = "/services/T0001/B0002/tokPa55word"  # a Slack-style path: the token is in it
LINK = "https://blog.example.com/2026/11/hello-hooks.html"
KEY = "syndicate-0b6f4c1e-7a0d-5f39-b3f1-8c2d0e9a1f77"
SUMMARY = Summary(
    title="Hello, hooks",
    text="One sentence. Another one.",
    sentences=("One sentence.", "Another one."),
    link=LINK,
    categories=("Python", "Webhooks"),
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hook(clock: Clock) -> Iterator[FakeWebhook]:
    with FakeWebhook(secret=SECRET, clock=clock) as fake:
        yield fake
    assert fake.errors == []


def publisher(
    fake: FakeWebhook, clock: Clock, *, timeout: float = 3.0, **options: str | int | bool
) -> WebhookPublisher:
    values: dict[str, str | int | bool | Secret] = {
        "url": Secret(fake.url_for(HOOK)),
        "secret": Secret(SECRET),
    }
    values.update(options)
    account = Account("hook", "webhook", options=values)
    return WebhookPublisher(account, timeout=timeout, clock=clock)


def send(fake: FakeWebhook, clock: Clock, key: str = KEY, **options: Any) -> Any:
    pub = publisher(fake, clock, **options)
    return pub.publish(pub.render(SUMMARY), key)


# ------------------------------------------------------------------- formats


def test_json_delivery_is_signed_keyed_and_complete(hook: FakeWebhook, clock: Clock) -> None:
    result = send(hook, clock)

    [delivery] = hook.posts
    assert result.remote_id == delivery.id
    assert result.remote_url == f"https://hooks.example/deliveries/{delivery.id}"
    assert delivery.path == HOOK
    assert delivery.body == {
        "text": f"Hello, hooks\n\nOne sentence. Another one.\n\n{LINK}",
        "thread": [],
        "title": "Hello, hooks",
        "link": LINK,
        "summary": "One sentence. Another one.",
        "categories": ["Python", "Webhooks"],
        "key": KEY,
    }
    [(_, _, headers, raw)] = hook.requests
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["x-syndicate-signature"] == f"sha256={expected}"
    assert headers["x-syndicate-delivery"] == KEY
    assert headers["x-syndicate-timestamp"] == str(int(NOW))


def test_a_post_rendered_elsewhere_still_sends_its_link(hook: FakeWebhook, clock: Clock) -> None:
    publisher(hook, clock).publish(Post("webhook", f"Just text {LINK}", 40, 10**6), KEY)
    assert hook.posts[0].body["link"] == ""
    assert hook.posts_with_link(LINK) == 1


def test_slack_format_posts_text_and_takes_ok_as_posted(clock: Clock) -> None:
    with FakeWebhook(flavor="slack", clock=clock) as slack:
        result = send(slack, clock, format="slack", secret="")
        [delivery] = slack.posts
        [(_, _, headers, _)] = slack.requests
    assert list(delivery.body) == ["text"]
    assert delivery.text.endswith(LINK)
    assert (result.remote_id, result.remote_url) == (KEY, "")
    assert "x-syndicate-signature" not in headers  # no secret set: unsigned


def test_discord_format_fits_discords_2000_characters(clock: Clock) -> None:
    long = Summary("Long", "x", tuple(f"Sentence number {n} is here." for n in range(300)), LINK)
    with FakeWebhook(flavor="discord", clock=clock) as discord:
        pub = publisher(discord, clock, format="discord")
        post = pub.render(long)
        result = pub.publish(post, KEY)
        [delivery] = discord.posts
    assert post.length <= 2000 < len(" ".join(long.sentences))
    assert list(delivery.body) == ["content"] and delivery.text.endswith(LINK)
    assert result.remote_id == KEY  # 204: no id to read


def test_max_length_overrides_the_formats_limit(hook: FakeWebhook, clock: Clock) -> None:
    post = publisher(hook, clock, max_length=60).render(SUMMARY)
    assert post.limit == 60 and post.length <= 60


def test_a_wrong_secret_is_an_auth_error(hook: FakeWebhook, clock: Clock) -> None:
    with pytest.raises(AuthError, match="HTTP 401: invalid signature"):
        send(hook, clock, secret="not-it")
    assert hook.posts == []


# -------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kind", "options", "error", "stored"),
    [
        ("status", {"status": 500}, TransientError, 0),
        ("status", {"status": 503}, TransientError, 0),
        ("status", {"status": 410}, PermanentError, 0),
        ("status", {"status": 404}, PermanentError, 0),
        ("status", {"status": 403}, AuthError, 0),
        ("rate_limit", {"reset_in": 30}, RateLimited, 0),
        ("unauthorized", {}, AuthError, 0),
        ("hang", {"hang_seconds": 5}, OutcomeUnknown, 1),
        ("drop", {}, OutcomeUnknown, 1),
        ("reset", {}, OutcomeUnknown, 0),
    ],
)
def test_each_fault_becomes_its_error_class(
    hook: FakeWebhook,
    clock: Clock,
    kind: FaultKind,
    options: dict[str, Any],
    error: type,
    stored: int,
) -> None:
    hook.fail_next(kind, **options)

    with pytest.raises(PublishError) as info:
        send(hook, clock, timeout=0.5)

    assert type(info.value) is error
    assert len(hook.posts) == stored


def test_a_429_waits_for_retry_after_and_early_sends_are_violations(
    hook: FakeWebhook, clock: Clock
) -> None:
    hook.fail_next("rate_limit", reset_in=30)
    with pytest.raises(RateLimited) as info:
        send(hook, clock)
    assert info.value.reset_at == AT + timedelta(seconds=30)

    send(hook, clock)  # too early
    clock.now += 30
    send(hook, clock, key="later")

    assert len(hook.violations) == 1


def test_nothing_listening_is_transient(clock: Clock) -> None:
    fake = FakeWebhook(clock=clock).start()
    pub = publisher(fake, clock)
    post = pub.render(SUMMARY)
    fake.stop()
    with pytest.raises(TransientError, match="cannot connect"):
        pub.publish(post, KEY)


# ---------------------------------------------------- unknown outcomes, dedupe


def test_without_dedupe_an_unknown_outcome_waits_for_a_person(
    hook: FakeWebhook, clock: Clock
) -> None:
    pub = publisher(hook, clock)
    with pytest.raises(OutcomeUnknown, match="cannot be asked"):
        pub.find_existing(KEY, pub.render(SUMMARY))
    assert hook.requests == []


def test_with_dedupe_a_resend_after_a_drop_is_not_a_double(clock: Clock) -> None:
    with FakeWebhook(secret=SECRET, dedupe=True, clock=clock) as fake:
        pub = publisher(fake, clock, dedupe=True)
        post = pub.render(SUMMARY)
        fake.fail_next("drop")
        with pytest.raises(OutcomeUnknown):
            pub.publish(post, KEY)

        assert pub.find_existing(KEY, post) is None  # safe to send again
        result = pub.publish(post, KEY)

        assert fake.posts_with_link(LINK) == 1
        assert result.remote_id == fake.posts[0].id
        assert len(fake.requests) == 2


def test_each_delivery_has_its_own_key(hook: FakeWebhook, clock: Clock) -> None:
    send(hook, clock, key="k1")
    send(hook, clock, key="k2")
    assert [d.key for d in hook.posts] == ["k1", "k2"]


# --------------------------------------------------------------- check, secrets


def test_check_sends_nothing_and_names_only_the_host(hook: FakeWebhook, clock: Clock) -> None:
    said = publisher(hook, clock).check()
    unsigned = publisher(hook, clock, secret="").check()

    assert said == f"json webhook to {hook.base_url}, signed with a secret"
    assert unsigned.endswith("unsigned (no secret set)")
    assert hook.requests == []


def test_secrets_never_reach_messages_or_logs(
    hook: FakeWebhook, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    messages = [publisher(hook, clock).check()]
    kinds: tuple[FaultKind, ...] = ("unauthorized", "status", "drop", "reset", "rate_limit")
    for kind in kinds:
        hook.fail_next(kind)
        with pytest.raises(PublishError) as info:
            send(hook, clock)
        messages.append(str(info.value))
    send(hook, clock)
    pub = publisher(hook, clock)
    hook.stop()
    with pytest.raises(PublishError) as info:
        pub.publish(pub.render(SUMMARY), KEY)
    messages.append(str(info.value))

    shown = "\n".join([*messages, caplog.text, repr(pub)])
    assert "urllib3" in caplog.text  # the request lines were logged, redacted
    assert SECRET not in shown and "tokPa55word" not in shown


def test_an_answer_that_echoes_the_hook_is_redacted() -> None:
    url = f"https://hooks.slack.com{HOOK}"
    echo = reply(404, text=f"no such hook: {url} (path {HOOK}, key {SECRET})")
    message = str(classify(echo, AT, hide=(url, HOOK, SECRET)))
    assert "tokPa55word" not in message and SECRET not in message
    assert message.startswith("HTTP 404: no such hook: ***")


# ------------------------------------------------------------ classification


def reply(status: int, *, text: str = "", body: object = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = (json.dumps(body) if body is not None else text).encode()
    response.headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return response


CLASSIFY_CASES = [
    (reply(408), RateLimited, None),
    (reply(429, Retry_After="30"), RateLimited, AT + timedelta(seconds=30)),
    (
        reply(429, Retry_After=formatdate(NOW + 120, usegmt=True)),
        RateLimited,
        AT + timedelta(seconds=120),
    ),
    (  # Discord: JSON retry_after in seconds
        reply(429, body={"message": "You are being rate limited.", "retry_after": 1.5}),
        RateLimited,
        AT + timedelta(seconds=1.5),
    ),
    (reply(429, Retry_After="soon"), RateLimited, None),
    (reply(401, text="invalid signature"), AuthError, None),
    (reply(403, body={"message": "Missing Access", "code": 50001}), AuthError, None),
    (reply(404, text="no_service"), PermanentError, None),
    (reply(410, text="channel_is_archived"), PermanentError, None),
    (reply(400, body={"message": "Invalid Form Body", "code": 50035}), PermanentError, None),
    (reply(413), PermanentError, None),
    (reply(500, text="internal"), TransientError, None),
    (reply(502), TransientError, None),
    (reply(503), TransientError, None),
    (reply(504), TransientError, None),
]


@pytest.mark.parametrize(("response", "error", "reset_at"), CLASSIFY_CASES)
def test_classify_recorded_responses(
    response: requests.Response, error: type, reset_at: datetime | None
) -> None:
    result = classify(response, AT)

    assert type(result) is error
    if isinstance(result, RateLimited):
        assert result.reset_at == reset_at


# ----------------------------------------------------------------- the fake


def test_fake_refuses_unsigned_or_unkeyed_deliveries(hook: FakeWebhook) -> None:
    body = json.dumps({"text": "hi", "key": "k"}).encode()
    good = {
        "Content-Type": "application/json",
        "X-Syndicate-Signature": "sha256=" + hmac.new(SECRET.encode(), body, "sha256").hexdigest(),
        "X-Syndicate-Timestamp": "1",
        "X-Syndicate-Delivery": "k",
    }
    url = hook.url_for()
    statuses = [
        requests.post(url, data=body, headers=headers, timeout=3).status_code
        for headers in (
            good,
            {**good, "X-Syndicate-Signature": "sha256=00"},
            {k: v for k, v in good.items() if k != "X-Syndicate-Delivery"},
            {**good, "Content-Type": "text/plain"},
        )
    ]
    assert statuses == [200, 401, 400, 415]
    assert len(hook.posts) == 1


def test_fake_random_faults_follow_the_seed(clock: Clock) -> None:
    runs = []
    for _ in range(2):
        with FakeWebhook(clock=clock) as fake:
            fake.set_random_faults({"status": 0.4, "reset": 0.1}, seed=3)
            runs.append([_outcome(fake, clock, f"k{n}") for n in range(10)])
    assert runs[0] == runs[1] and len(set(runs[0])) > 1


def _outcome(fake: FakeWebhook, clock: Clock, key: str) -> str:
    try:
        send(fake, clock, key=key, secret="")
    except PublishError as e:
        return type(e).__name__
    return "posted"


def test_fake_refuses_unknown_fault_kinds(hook: FakeWebhook) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        hook.fail_next("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sum to at most 1"):
        hook.set_random_faults({"status": 0.7, "drop": 0.5})


# ----------------------------------------------------------------- settings

CONFIG = """
[accounts.hook]
platform = "webhook"
url = "${HOOK_URL}"
secret_file = "hook-secret"
format = "slack"
dedupe = true
"""
ENV = {"HOOK_URL": "https://hooks.slack.com/services/T1/B2/abc"}


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "hook-secret").write_text("s3\n")
    path = tmp_path / "syndicate.toml"
    path.write_text(text)
    return path


def test_a_webhook_account_loads_from_config(tmp_path: Path) -> None:
    account = load(write_config(tmp_path, CONFIG), ENV).accounts["hook"]

    assert isinstance(account.options["url"], Secret)
    assert account.option("url") == ENV["HOOK_URL"]
    assert account.option("secret") == "s3"
    assert (account.options["format"], account.options["dedupe"]) == ("slack", True)
    assert account.options["max_length"] == 0
    assert "abc" not in repr(account)


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        (CONFIG.replace('"slack"', '"teams"'), ENV, "accounts.hook.format"),
        (CONFIG.replace('url = "${HOOK_URL}"\n', ""), ENV, "accounts.hook.url"),
        (CONFIG, {"HOOK_URL": "hooks.slack.com/x"}, "accounts.hook.url"),
        (CONFIG.replace("dedupe = true", 'dedupe = "yes"'), ENV, "accounts.hook.dedupe"),
        (CONFIG + "max_length = -1\n", ENV, "accounts.hook.max_length"),
        (CONFIG + 'headers = "x"\n', ENV, "accounts.hook.headers"),
    ],
)
def test_a_bad_or_missing_webhook_key_is_named(
    tmp_path: Path, text: str, env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(write_config(tmp_path, text), env)


def test_a_malformed_secret_url_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(write_config(tmp_path, CONFIG), {"HOOK_URL": "hooks.slack.com/T1/B2/abc"})
    assert "abc" not in str(info.value)
