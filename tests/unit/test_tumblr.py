"""The Tumblr publisher against the loopback fake over real HTTP, and the fake's own contract."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth1

from syndicate.errors import (
    AuthError,
    ConfigError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.model import Account, ComposeOptions, Post, Secret, Summary
from syndicate.platforms.tumblr import TumblrPublisher, classify, key_digest, npf_body
from syndicate.settings import load
from tests.fakes.tumblr import FakeTumblr
from tests.fakes.webhook import FaultKind

START = datetime(2026, 11, 19, 2, 0, 30, tzinfo=UTC).timestamp()  # 21:00:30 in New York
LINK = "https://blog.example.com/2026/11/hello-tumblr.html"
KEY = "syndicate-5d1c0f62-33a4-5b1e-9a52-0c4b1c4f7e10"
# Distinctive credentials, so a leak into a message or a log line is unmistakable.
CREDENTIALS = {
    "consumer_key": "ck-Zq81xVb",
    "consumer_secret": "cs-Hh27pLm",
    "oauth_token": "ot-Wd93kRt",
    "oauth_token_secret": "os-Yu45nQe",
}
SECRETS = tuple(CREDENTIALS.values())


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_fake(clock: Clock, **kwargs: Any) -> FakeTumblr:
    return FakeTumblr(
        consumer_key=CREDENTIALS["consumer_key"],
        consumer_secret=CREDENTIALS["consumer_secret"],
        token=CREDENTIALS["oauth_token"],
        token_secret=CREDENTIALS["oauth_token_secret"],
        clock=clock,
        **kwargs,
    )


@pytest.fixture
def tumblr(clock: Clock) -> Iterator[FakeTumblr]:
    with make_fake(clock) as fake:
        yield fake
    assert fake.errors == []


def account(fake: FakeTumblr, template: str = "", **options: str) -> Account:
    values: dict[str, str | Secret] = {"base_url": fake.base_url, "blog": "syndicate-test"}
    values.update({k: Secret(v) for k, v in CREDENTIALS.items()})
    values.update(options)  # a plain string stands in for a wrong credential
    compose = ComposeOptions(template=template) if template else ComposeOptions()
    return Account("tumblr-blog", "tumblr", compose=compose, options=values)


def publisher(fake: FakeTumblr, *, timeout: float = 3.0, **options: str) -> TumblrPublisher:
    return TumblrPublisher(account(fake, **options), timeout=timeout)


SUMMARY = Summary(
    title="Hello, Tumblr",
    text="A first sentence. A second one.",
    sentences=("A first sentence.", "A second one."),
    link=LINK,
    categories=("Python", "Social Media"),
)


def rendered(fake: FakeTumblr, template: str = "") -> Post:
    return TumblrPublisher(account(fake, template), timeout=3.0).render(SUMMARY)


# ------------------------------------------------------------------ posting


def test_a_post_is_npf_blocks_with_a_link_block_and_the_blog_url(tumblr: FakeTumblr) -> None:
    pub = publisher(tumblr)

    result = pub.publish(pub.render(SUMMARY), KEY)

    [stored] = tumblr.posts
    assert result.remote_id == stored["id"]
    assert result.remote_url == f"https://syndicate-test.tumblr.com/post/{stored['id']}/" + (
        f"hello-tumblr-{key_digest(KEY)}"
    )
    assert stored["text"] == f"Hello, Tumblr\nA first sentence. A second one.\n{LINK}"
    assert stored["source_url"] == LINK
    assert stored["state"] == "published"
    *texts, link_block = stored["content"]
    assert texts[-1]["formatting"] == [{"start": 0, "end": len(LINK), "type": "link", "url": LINK}]
    assert link_block["type"] == "link" and link_block["title"] == "Hello, Tumblr"
    assert tumblr.posts_with_link(LINK) == 1


def test_a_line_of_hashtags_becomes_the_posts_tags(tumblr: FakeTumblr) -> None:
    post = rendered(tumblr, "{title}\n\n{summary}\n\n{hashtags}\n{url}")
    assert "#Python #SocialMedia" in post.text  # the preview shows them where Tumblr does

    publisher(tumblr).publish(post, KEY)

    [stored] = tumblr.posts
    assert stored["tags"] == ["Python", "SocialMedia"]
    assert "#" not in stored["text"]


def test_a_hashtag_inside_a_sentence_stays_text() -> None:
    post = Post("tumblr", "Why #Python wins\n#1 reason", 26, 4096)

    body = npf_body(post, KEY)

    assert [b["text"] for b in body["content"]] == ["Why #Python wins", "#1 reason"]
    assert "tags" not in body


def test_a_thread_is_posted_whole_as_one_post(tumblr: FakeTumblr) -> None:
    thread = ("Part one 1/2", f"Part two 2/2\n\n{LINK}")
    post = Post("tumblr", thread[0], 12, 4096, thread=thread)

    publisher(tumblr).publish(post, KEY)

    [stored] = tumblr.posts
    assert stored["text"] == f"Part one 1/2\nPart two 2/2\n{LINK}"
    assert stored["source_url"] == LINK  # the link was in the last part


@pytest.mark.parametrize("blog", ["syndicate-test.tumblr.com", "t:Q2xpZW50QmxvZw"])
def test_a_hostname_or_uuid_blog_gets_the_posts_url(tumblr: FakeTumblr, blog: str) -> None:
    result = publisher(tumblr, blog=blog).publish(rendered(tumblr), KEY)

    expected = f"https://syndicate-test.tumblr.com/post/{result.remote_id}/hello-tumblr-"
    assert result.remote_url == expected + key_digest(KEY)


def test_rendering_keeps_a_long_summary_within_one_text_block(tumblr: FakeTumblr) -> None:
    long = Summary("Long", "x", tuple(f"Sentence number {n} is here." for n in range(400)), LINK)
    post = TumblrPublisher(account(tumblr), timeout=3.0).render(long)

    publisher(tumblr).publish(post, KEY)

    assert post.length <= 4096
    assert max(len(b.get("text", "")) for b in tumblr.posts[0]["content"]) <= 4096


def test_an_over_long_text_block_is_refused_before_sending(tumblr: FakeTumblr) -> None:
    text = "é" * 4097  # code points, not bytes: 4,097 of them
    with pytest.raises(PermanentError, match="4097 characters"):
        publisher(tumblr).publish(Post("tumblr", text, 4097, 4096), KEY)
    assert tumblr.requests == []


def test_more_than_1000_blocks_are_refused_before_sending(tumblr: FakeTumblr) -> None:
    text = "\n".join("x" * 1001)
    with pytest.raises(PermanentError, match="1001 content blocks"):
        publisher(tumblr).publish(Post("tumblr", text, len(text), 4096), KEY)
    assert tumblr.requests == []


def test_a_block_of_exactly_4096_code_points_is_taken(tumblr: FakeTumblr) -> None:
    text = "👩‍💻" * 1365 + "a"  # ZWJ sequences count per code point: 3 * 1365 + 1
    publisher(tumblr).publish(Post("tumblr", text, 4096, 4096), KEY)
    assert len(tumblr.posts[0]["text"]) == 4096


# ------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kind", "options", "error", "stored"),
    [
        ("status", {"status": 503}, TransientError, 0),
        ("status", {"status": 500}, OutcomeUnknown, 0),  # no key: a 500 may have posted
        ("status", {"status": 502}, OutcomeUnknown, 0),
        ("rate_limit", {"reset_in": 90}, RateLimited, 0),
        ("unauthorized", {}, AuthError, 0),
        ("hang", {"hang_seconds": 5}, OutcomeUnknown, 1),
        ("drop", {}, OutcomeUnknown, 1),
        ("reset", {}, OutcomeUnknown, 0),
    ],
)
def test_each_fault_becomes_its_error_class(
    tumblr: FakeTumblr, kind: Any, options: dict[str, Any], error: type, stored: int
) -> None:
    tumblr.fail_next(kind, **options)

    with pytest.raises(PublishError) as info:
        publisher(tumblr, timeout=0.5).publish(rendered(tumblr), KEY)

    assert type(info.value) is error
    assert len(tumblr.posts) == stored


def test_a_rate_limit_names_the_reset_from_the_servers_clock(
    tumblr: FakeTumblr, clock: Clock
) -> None:
    tumblr.fail_next("rate_limit", reset_in=90)

    with pytest.raises(RateLimited) as info:
        publisher(tumblr).publish(rendered(tumblr), KEY)

    assert info.value.reset_at == datetime.fromtimestamp(START + 91, UTC)  # + Date's 1 s


def test_the_hourly_call_budget_runs_out_with_a_429(clock: Clock) -> None:
    with make_fake(clock, hourly_calls=1) as fake:
        pub = publisher(fake)
        pub.publish(rendered(fake), KEY)
        with pytest.raises(RateLimited) as info:
            pub.publish(rendered(fake), "another-key")
    hour_end = datetime.fromtimestamp(START - START % 3600 + 3600, UTC)
    assert info.value.reset_at == hour_end + timedelta(seconds=1)
    assert len(fake.posts) == 1


def test_the_daily_post_limit_waits_for_the_next_server_day(clock: Clock) -> None:
    with make_fake(clock, daily_posts=1) as fake:
        pub = publisher(fake)
        pub.publish(rendered(fake), KEY)
        with pytest.raises(RateLimited, match="8023") as info:
            pub.publish(rendered(fake), "another-key")
    # 02:00 UTC on the 19th is still the 18th in New York: its 19th starts at 05:00 UTC.
    assert info.value.reset_at == datetime(2026, 11, 19, 5, 0, tzinfo=UTC)


def test_posting_before_the_reset_is_a_violation(tumblr: FakeTumblr, clock: Clock) -> None:
    pub = publisher(tumblr)
    tumblr.fail_next("rate_limit", reset_in=60)
    with pytest.raises(RateLimited):
        pub.publish(rendered(tumblr), KEY)

    pub.publish(rendered(tumblr), KEY)
    clock.advance(61)
    pub.publish(rendered(tumblr), "later")

    assert len(tumblr.violations) == 1


def test_random_faults_are_reproducible_by_seed(clock: Clock) -> None:
    outcomes: list[list[str]] = []
    for _ in range(2):
        with make_fake(clock) as fake:
            fake.set_random_faults({"status": 0.3, "rate_limit": 0.2}, seed=7)
            outcomes.append([_attempt(fake, f"k{n}") for n in range(12)])
    assert outcomes[0] == outcomes[1]
    assert "posted" in outcomes[0] and "RateLimited" in outcomes[0]


def _attempt(fake: FakeTumblr, key: str) -> str:
    try:
        publisher(fake).publish(rendered(fake), key)
    except PublishError as e:
        return type(e).__name__
    return "posted"


# --------------------------------------------------- idempotency and lookup


def test_retry_after_a_drop_finds_the_first_post_instead_of_doubling(tumblr: FakeTumblr) -> None:
    pub = publisher(tumblr)
    post = pub.render(SUMMARY)
    tumblr.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        pub.publish(post, KEY)

    found = pub.find_existing(KEY, post)

    assert found is not None
    assert found.remote_id == tumblr.posts[0]["id"]
    assert found.remote_url.startswith(f"https://syndicate-test.tumblr.com/post/{found.remote_id}")
    assert tumblr.posts_with_link(LINK) == 1


def test_find_existing_says_not_there_when_it_is_not(tumblr: FakeTumblr) -> None:
    pub = publisher(tumblr)
    other = Post("tumblr", "Another entry https://blog.example.com/other", 44, 4096)
    pub.publish(other, "other-key")

    assert pub.find_existing(KEY, pub.render(SUMMARY)) is None


def test_find_existing_matches_the_entry_link_when_the_slug_changed(tumblr: FakeTumblr) -> None:
    pub = publisher(tumblr)
    post = pub.render(SUMMARY)
    pub.publish(post, "an-older-key")

    found = pub.find_existing(KEY, post)

    assert found is not None and found.remote_id == tumblr.posts[0]["id"]


def test_find_existing_cannot_tell_when_the_listing_fails(clock: Clock) -> None:
    fake = make_fake(clock).start()
    pub = publisher(fake)
    post = pub.render(SUMMARY)
    fake.stop()

    with pytest.raises(OutcomeUnknown, match="cannot list"):
        pub.find_existing(KEY, post)


def test_find_existing_reports_a_spent_budget_as_a_rate_limit(clock: Clock) -> None:
    with make_fake(clock, hourly_calls=0) as fake, pytest.raises(RateLimited):
        publisher(fake).find_existing(KEY, rendered(fake))


# ------------------------------------------------------------------ check


def test_check_names_the_user_and_blog(tumblr: FakeTumblr) -> None:
    assert publisher(tumblr).check() == "writer on Tumblr, posting to syndicate-test"


def test_check_refuses_bad_credentials(tumblr: FakeTumblr) -> None:
    with pytest.raises(AuthError):
        publisher(tumblr, oauth_token_secret="wrong").check()


def test_check_refuses_a_blog_of_someone_else(tumblr: FakeTumblr) -> None:
    with pytest.raises(PermanentError, match="not one of this user's blogs"):
        publisher(tumblr, blog="someone-else").check()


# ------------------------------------------------------------------ secrets


def test_secrets_never_reach_messages_or_logs(
    tumblr: FakeTumblr, caplog: pytest.LogCaptureFixture, clock: Clock
) -> None:
    caplog.set_level(logging.DEBUG)
    messages = []
    kinds: tuple[FaultKind, ...] = ("unauthorized", "status", "drop", "reset", "rate_limit")
    for kind in kinds:
        tumblr.fail_next(kind)
        with pytest.raises(PublishError) as info:
            publisher(tumblr).publish(rendered(tumblr), KEY)
        messages.append(str(info.value))
        clock.advance(120)
    pub = publisher(tumblr, blog="t:Q2xpZW50QmxvZw")
    post = pub.render(SUMMARY)
    tumblr.stop()
    for call in (lambda: pub.publish(post, KEY), pub.check):
        with pytest.raises(PublishError) as info:
            call()
        messages.append(str(info.value))
    shown = "\n".join([*messages, caplog.text, repr(pub), repr(pub.session.auth)])
    assert not [s for s in SECRETS if s in shown]


# ------------------------------------------------------------ classification


def reply(status: int, body: object = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()
    response.headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return response


def envelope(status: int, code: int, msg: str = "Error", detail: str = "") -> dict[str, Any]:
    return {
        "meta": {"status": status, "msg": msg},
        "response": [],
        "errors": [{"title": msg, "code": code, "detail": detail or msg}],
    }


DATE = formatdate(START, usegmt=True)
AT = datetime.fromtimestamp(START, UTC)
CLASSIFY_CASES = [
    (reply(400, envelope(400, 8001, "Bad Request")), False, PermanentError, None),
    (reply(401, envelope(401, 1016, "Unauthorized")), False, AuthError, None),
    (
        reply(403, envelope(403, 8023, "Forbidden"), Date=DATE),
        True,
        RateLimited,
        datetime(2026, 11, 19, 5, tzinfo=UTC),
    ),
    (reply(403, envelope(403, 8022, "Forbidden")), True, PermanentError, None),
    (reply(403, envelope(403, 8004, "Forbidden")), True, PermanentError, None),
    (reply(403, envelope(403, 0, "Forbidden")), True, AuthError, None),
    (reply(404, envelope(404, 0, "Not Found")), True, PermanentError, None),
    (
        reply(
            429,
            envelope(429, 0, "Limit Exceeded"),
            Date=DATE,
            X_Ratelimit_Perhour_Remaining="0",
            X_Ratelimit_Perhour_Reset="120",
        ),
        True,
        RateLimited,
        AT + timedelta(seconds=121),
    ),
    (
        reply(
            429,
            envelope(429, 0, "Limit Exceeded"),
            Date=DATE,
            X_Ratelimit_Perhour_Remaining="10",
            X_Ratelimit_Perhour_Reset="120",
            X_Ratelimit_Perday_Remaining="0",
            X_Ratelimit_Perday_Reset="1795150800",
        ),
        True,
        RateLimited,
        datetime(2026, 11, 20, 5, tzinfo=UTC),
    ),
    (
        reply(429, envelope(429, 0), Date=DATE, Retry_After="30"),
        True,
        RateLimited,
        AT + timedelta(seconds=31),
    ),
    (reply(429, envelope(429, 0, "Limit Exceeded")), True, RateLimited, None),
    (reply(500, envelope(500, 8006)), True, OutcomeUnknown, None),
    (reply(500, envelope(500, 8006)), False, TransientError, None),
    (reply(502), True, OutcomeUnknown, None),
    (reply(503, envelope(503, 0)), True, TransientError, None),
    (reply(408), False, TransientError, None),
    (reply(422, {"unexpected": True}), True, PermanentError, None),
]


@pytest.mark.parametrize(("response", "creating", "error", "reset_at"), CLASSIFY_CASES)
def test_classify_recorded_responses(
    response: requests.Response, creating: bool, error: type, reset_at: datetime | None
) -> None:
    result = classify(response, creating=creating)

    assert type(result) is error
    if isinstance(result, RateLimited):
        assert result.reset_at == reset_at


def test_classify_message_carries_tumblrs_detail_and_code() -> None:
    response = reply(400, envelope(400, 8001, "Bad Request", "Posts must have content"))
    assert str(classify(response)) == ("HTTP 400: Bad Request; Posts must have content (code 8001)")


# ------------------------------------------------------------- the fake itself


def signed(fake: FakeTumblr, secret: str = CREDENTIALS["consumer_secret"]) -> OAuth1:
    return OAuth1(
        CREDENTIALS["consumer_key"],
        secret,
        CREDENTIALS["oauth_token"],
        CREDENTIALS["oauth_token_secret"],
    )


def test_fake_refuses_a_wrong_signature_and_a_replayed_nonce(tumblr: FakeTumblr) -> None:
    url = f"{tumblr.base_url}/v2/user/info"
    wrong = requests.get(url, auth=signed(tumblr, "not-the-secret"), timeout=3)
    good = requests.get(url, auth=signed(tumblr), timeout=3)
    _, _, headers, _ = tumblr.requests[-1]
    replay = requests.get(url, headers={"Authorization": headers["authorization"]}, timeout=3)

    assert [wrong.status_code, good.status_code, replay.status_code] == [401, 200, 401]
    assert wrong.json()["errors"][0]["code"] == 1016


def test_fake_lets_the_api_key_read_posts_but_not_write(tumblr: FakeTumblr) -> None:
    base = f"{tumblr.base_url}/v2/blog/syndicate-test/posts"
    read = requests.get(base, params={"api_key": CREDENTIALS["consumer_key"]}, timeout=3)
    write = requests.post(base, params={"api_key": CREDENTIALS["consumer_key"]}, json={}, timeout=3)
    assert (read.status_code, write.status_code) == (200, 401)
    assert read.json()["response"]["posts"] == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"content": []}, "Posts must have content"),
        ({"content": [{"type": "text"}]}, "needs text"),
        ({"content": [{"type": "text", "text": "é" * 4097}]}, "at most 4096"),
        ({"content": [{"type": "text", "text": "a"}] * 1001}, "at most 1000"),
        ({"content": [{"type": "image", "media": []}]}, "not supported"),
        ({"content": [{"type": "link", "url": "ftp://x"}]}, "http(s) url"),
        (
            {"content": [{"type": "text", "text": "ab", "formatting": [
                {"start": 1, "end": 3, "type": "link", "url": "https://x.example"}]}]},
            "outside the text",
        ),
        ({"content": [{"type": "text", "text": "a"}], "state": "live"}, "unknown state"),
        ({"content": [{"type": "text", "text": "a"}], "tags": ["a"]}, "tags must be a string"),
    ],
)  # fmt: skip
def test_fake_refuses_invalid_npf_with_8001(
    tumblr: FakeTumblr, body: dict[str, Any], problem: str
) -> None:
    url = f"{tumblr.base_url}/v2/blog/syndicate-test/posts"
    answer = requests.post(url, json=body, auth=signed(tumblr), timeout=3)

    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["code"] == 8001 and problem in error["detail"]
    assert tumblr.posts == []


def test_fake_rewrites_link_blocks_through_the_redirector(tumblr: FakeTumblr) -> None:
    publisher(tumblr).publish(rendered(tumblr), KEY)
    [link_block] = [b for b in tumblr.posts[0]["content"] if b["type"] == "link"]
    assert link_block["url"].startswith("https://t.umblr.com/redirect?z=https%3A%2F%2F")


# ---------------------------------------------------------------- settings

CONFIG = """
[accounts.tumblr]
platform = "tumblr"
blog = "{blog}"
consumer_key = "${{TUMBLR_CONSUMER_KEY}}"
consumer_secret = "${{TUMBLR_CONSUMER_SECRET}}"
oauth_token = "${{TUMBLR_OAUTH_TOKEN}}"
oauth_token_secret_file = "token-secret"
"""
ENV = {
    "TUMBLR_CONSUMER_KEY": "ck",
    "TUMBLR_CONSUMER_SECRET": "cs",
    "TUMBLR_OAUTH_TOKEN": "ot",
}


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "token-secret").write_text("os\n")
    path = tmp_path / "syndicate.toml"
    path.write_text(text)
    return path


def test_a_tumblr_account_loads_from_config(tmp_path: Path) -> None:
    settings = load(write_config(tmp_path, CONFIG.format(blog="myblog.tumblr.com")), ENV)

    options = settings.accounts["tumblr"].options
    assert options["base_url"] == "https://api.tumblr.com"
    assert options["blog"] == "myblog.tumblr.com"
    assert isinstance(options["oauth_token_secret"], Secret)
    assert options["oauth_token_secret"].reveal() == "os"
    assert "cs" not in repr(settings.accounts["tumblr"])


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        (CONFIG.format(blog="my blog"), ENV, "accounts.tumblr.blog"),
        (CONFIG.format(blog="b").replace('blog = "b"\n', ""), ENV, "accounts.tumblr.blog"),
        (CONFIG.format(blog="b"), {}, "accounts.tumblr.consumer_key"),
        (CONFIG.format(blog="b") + 'api_key = "x"\n', ENV, "accounts.tumblr.api_key"),
        (CONFIG.format(blog="b") + 'base_url = "api.tumblr.com"\n', ENV, "base_url"),
    ],
)
def test_a_bad_or_missing_tumblr_key_is_named(
    tmp_path: Path, text: str, env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(write_config(tmp_path, text), env)
