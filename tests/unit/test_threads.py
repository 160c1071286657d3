"""The Threads publisher against the fake Threads API on 127.0.0.1, over real HTTP; the
Threads counter and its rendering."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
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
from syndicate.model import Account, ComposeOptions, Post, PublishResult, Secret
from syndicate.platforms.base import MemoryTokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES, threads_length
from syndicate.platforms.threads import ThreadsPublisher, classify
from syndicate.settings import load
from tests.conftest import Clock
from tests.fakes.graph import FaultKind
from tests.fakes.threads import FakeThreads
from tests.unit.test_golden_posts import CASES, PART_BREAK, UPDATE, golden_path, load_entry

TOKEN = "THAAtoken7c1d0e"
LINK = "https://blog.example.com/2026/11/a-walk-along-the-river.html"
TEXT = f"A walk along the river\n\nWhat the water taught me.\n\n{LINK}"


def epoch(clock: Clock) -> Callable[[], float]:
    """The fake's clock: the test's, in epoch seconds, so resets share one timeline."""

    def now() -> float:
        return clock.now.timestamp()

    return now


@pytest.fixture
def threads(clock: Clock) -> Iterator[FakeThreads]:
    with FakeThreads(token=TOKEN, clock=epoch(clock)) as fake:
        yield fake


def publisher(
    fake: FakeThreads,
    clock: Clock,
    *,
    tokens: MemoryTokenCache | None = None,
    timeout: float = 5.0,
    **options: Any,
) -> ThreadsPublisher:
    values: dict[str, Any] = {
        "base_url": fake.base_url,
        "api_version": "v1.0",
        "user_id": fake.user_id,
        "access_token": Secret(TOKEN),
        **options,
    }
    account = Account("threads", "threads", options=values)
    return ThreadsPublisher(account, timeout=timeout, tokens=tokens, clock=clock)


def post(text: str = TEXT, thread: tuple[str, ...] = ()) -> Post:
    return Post("threads", text, threads_length(text), 500, thread=thread)


def publishes(fake: FakeThreads) -> int:
    return sum(1 for method, target, _, _ in fake.requests if target.endswith("threads_publish"))


# --- counting and rendering


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("plain text", 10),
        ("café", 4),  # a non-emoji two-byte letter is one
        ("क्षि", 1),  # one cluster of four code points
        ("👍", 4),
        ("👨‍👩‍👧", 18),  # a ZWJ family: one cluster, 18 UTF-8 bytes
        ("🇫🇷", 8),
        ("#️⃣", 7),  # a keycap
        ("© 2026", 7),  # © is pictographic: two bytes, conservatively
        ("ok 👍 ok", 10),
    ],
)
def test_threads_counts_clusters_and_emoji_by_their_bytes(text: str, length: int) -> None:
    assert threads_length(text) == length


def test_threads_rules_allow_500_and_chain_replies() -> None:
    rules = RULES["threads"]
    assert (rules.limit, rules.threads, rules.url_length) == (500, True, None)


def test_an_emoji_heavy_title_is_cut_by_threads_units() -> None:
    summary, options = load_entry("seed")
    title = " ".join(["🎉"] * 150)  # 150 graphemes, 600 units
    post = render(replace(summary, title=title), options, RULES["threads"])

    assert post.length == threads_length(post.text) <= 500
    assert summary.link in post.text
    assert "🎉" in post.text and post.text.count("🎉") < 120


@pytest.mark.parametrize("case", CASES)
def test_rendered_post_matches_golden_file(case: str) -> None:
    summary, options = load_entry(case)

    post = render(summary, options, RULES["threads"])

    for part in post.thread or (post.text,):
        assert threads_length(part) <= 500, part
    actual = PART_BREAK.join(post.thread or (post.text,)) + "\n"
    path = golden_path(case, "threads")
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing"
    assert actual == path.read_text(encoding="utf-8")


# --- publishing


def test_a_post_is_a_container_then_a_publish_with_the_permalink(
    threads: FakeThreads, clock: Clock
) -> None:
    result = publisher(threads, clock).publish(post(), "delivery-1")

    [media] = threads.posts
    assert media["text"] == TEXT
    assert result == PublishResult(media["id"], media["permalink"])
    assert result.remote_url.startswith("https://www.threads.com/@writer/post/")
    [container] = threads.containers.values()
    assert container["media"] == media["id"]
    assert threads.errors == []


def test_tokens_travel_in_post_bodies_never_in_their_urls(
    threads: FakeThreads, clock: Clock
) -> None:
    publisher(threads, clock).publish(post(), "k")

    posts = [(target, body) for method, target, _, body in threads.requests if method == "POST"]
    assert [target for target, _ in posts] == [
        f"/v1.0/{threads.user_id}/threads",
        f"/v1.0/{threads.user_id}/threads_publish",
    ]
    assert all(b"access_token=" in body for _, body in posts)


def test_a_thread_is_a_chain_of_replies_and_answers_the_head(
    threads: FakeThreads, clock: Clock
) -> None:
    parts = ("1/3 The river.", "2/3 The water.", f"3/3 The end. {LINK}")

    result = publisher(threads, clock).publish(post(parts[0], thread=parts), "k")

    head, second, third = threads.posts
    assert [m["text"] for m in threads.posts] == list(parts)
    assert (head["reply_to"], second["reply_to"], third["reply_to"]) == (
        None,
        head["id"],
        second["id"],
    )
    assert result.remote_id == head["id"]


def test_text_over_500_units_is_refused_by_the_fake(threads: FakeThreads, clock: Clock) -> None:
    text = "🎉" * 120 + " " + LINK  # 120 emoji = 480 units, plus the link

    with pytest.raises(PermanentError, match="500"):
        publisher(threads, clock).publish(post(text), "k")
    assert threads.posts == []


def test_more_than_five_links_are_refused_before_anything_is_sent(
    threads: FakeThreads, clock: Clock
) -> None:
    text = " ".join(f"https://blog.example.com/{n}" for n in range(6))

    with pytest.raises(PermanentError, match="5"):
        publisher(threads, clock).publish(post(text), "k")
    assert threads.requests == []


def test_the_fake_names_the_link_limit_and_it_is_permanent(threads: FakeThreads) -> None:
    text = " ".join(f"https://blog.example.com/{n}" for n in range(6))
    answer = requests.post(
        f"{threads.base_url}/v1.0/{threads.user_id}/threads",
        data={"media_type": "TEXT", "text": text, "access_token": TOKEN},
        timeout=5,
    )

    assert "THREADS_API__LINK_LIMIT_EXCEEDED" in answer.json()["error"]["message"]
    assert isinstance(classify(answer), PermanentError)


# --- faults at threads_publish, and the retry that follows


@pytest.mark.parametrize(
    ("kind", "options", "error", "stored"),
    [
        ("status", {"status": 503}, TransientError, 0),
        ("status", {"status": 502}, OutcomeUnknown, 0),
        ("rate_limit", {}, RateLimited, 0),
        ("unauthorized", {}, AuthError, 0),
        ("reset", {}, OutcomeUnknown, 0),
        ("drop", {}, OutcomeUnknown, 1),
        ("hang", {"hang_seconds": 5.0}, OutcomeUnknown, 1),
    ],
)
def test_each_fault_is_classified_and_the_retry_posts_once(
    threads: FakeThreads,
    clock: Clock,
    kind: FaultKind,
    options: dict[str, Any],
    error: type[PublishError],
    stored: int,
) -> None:
    threads.fail_next(kind, **options)
    cache = MemoryTokenCache()
    with pytest.raises(error):
        publisher(threads, clock, tokens=cache, timeout=0.5).publish(post(), "k")
    assert len(threads.posts) == stored

    clock.advance(hours=1)  # past any reset
    retry = publisher(threads, clock, tokens=cache)
    # As the service does: after an unknown outcome, look before sending again.
    found = retry.find_existing("k", post()) if issubclass(error, OutcomeUnknown) else None
    assert (found is not None) == bool(stored)
    if found is None:
        retry.publish(post(), "k")

    assert threads.posts_with_link(LINK) == 1
    assert len(threads.containers) == 1  # the first container was published, not a second one
    assert threads.violations == []


def test_a_rate_limit_names_the_minutes_to_wait(threads: FakeThreads, clock: Clock) -> None:
    threads.fail_next("rate_limit", reset_in=300)

    with pytest.raises(RateLimited) as info:
        publisher(threads, clock).publish(post(), "k")

    assert info.value.reset_at == clock.now + timedelta(minutes=5)


def test_an_expired_container_is_replaced(threads: FakeThreads, clock: Clock) -> None:
    cache = MemoryTokenCache()
    threads.fail_next("status", status=503)
    with pytest.raises(TransientError):
        publisher(threads, clock, tokens=cache).publish(post(), "k")

    clock.advance(hours=25)
    publisher(threads, clock, tokens=cache).publish(post(), "k")

    first, second = threads.containers.values()
    assert first["media"] is None and second["media"] == threads.posts[0]["id"]
    assert threads.posts_with_link(LINK) == 1


def test_a_thread_cut_short_resumes_without_repeating_a_part(
    threads: FakeThreads, clock: Clock
) -> None:
    parts = ("1/2 The river.", f"2/2 The end. {LINK}")
    cache = MemoryTokenCache()
    threads.fail_next("drop")  # the head is published, its answer lost
    with pytest.raises(OutcomeUnknown):
        publisher(threads, clock, tokens=cache).publish(post(parts[0], thread=parts), "k")

    retry = publisher(threads, clock, tokens=cache)
    assert retry.find_existing("k", post(parts[0], thread=parts)) is None
    result = retry.publish(post(parts[0], thread=parts), "k")

    head, tail = threads.posts
    assert [head["text"], tail["text"]] == list(parts)
    assert tail["reply_to"] == head["id"] == result.remote_id
    assert cache.load().keys() == {"access_token", "lineage", "next_refresh"}  # state dropped


# --- reconciliation


def test_find_existing_is_none_for_a_post_never_made(threads: FakeThreads, clock: Clock) -> None:
    publisher(threads, clock).publish(post(f"Another entry {LINK}x"), "other")

    assert publisher(threads, clock).find_existing("k", post()) is None


def test_find_existing_matches_the_link_without_local_state(
    threads: FakeThreads, clock: Clock
) -> None:
    made = publisher(threads, clock).publish(post(), "k")

    assert publisher(threads, clock).find_existing("k", post()) == made


def test_find_existing_cannot_tell_when_a_lookup_fails(threads: FakeThreads, clock: Clock) -> None:
    cache = MemoryTokenCache()
    threads.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        publisher(threads, clock, tokens=cache).publish(post(), "k")
    threads.fail_next_read("hang", hang_seconds=5.0)  # the container status lookup

    with pytest.raises(OutcomeUnknown):
        publisher(threads, clock, tokens=cache, timeout=0.5).find_existing("k", post())


# --- credentials and token refresh


def test_check_names_the_user(threads: FakeThreads, clock: Clock) -> None:
    assert publisher(threads, clock).check() == "@writer on Threads"


def test_check_refuses_a_token_for_another_user(threads: FakeThreads, clock: Clock) -> None:
    with pytest.raises(ConfigError, match="not 999"):
        publisher(threads, clock, user_id="999").check()


def test_a_wrong_token_is_an_auth_error(threads: FakeThreads, clock: Clock) -> None:
    with pytest.raises(AuthError, match="190"):
        publisher(threads, clock, access_token=Secret("THAAwrong")).check()


def test_the_token_is_refreshed_weekly_and_the_new_one_stored(
    threads: FakeThreads, clock: Clock
) -> None:
    cache = MemoryTokenCache()
    publisher(threads, clock, tokens=cache).publish(post("one " + LINK), "k1")
    first = cache.load()["access_token"]
    publisher(threads, clock, tokens=cache).publish(post("two " + LINK), "k2")
    clock.advance(days=8)
    publisher(threads, clock, tokens=cache).publish(post("three " + LINK), "k3")

    refreshes = [t for _, t, _, _ in threads.requests if t.startswith("/refresh_access_token")]
    assert len(refreshes) == 2  # not on the second post: the first refresh is a week good
    assert first != TOKEN and first in threads.tokens
    assert [m["token"] for m in threads.posts] == [first, first, cache.load()["access_token"]]


def test_a_refreshed_token_outlives_the_configured_one(threads: FakeThreads, clock: Clock) -> None:
    cache = MemoryTokenCache()
    publisher(threads, clock, tokens=cache).publish(post("one " + LINK), "k1")
    clock.advance(days=59)  # the configured token, two days old at the start, is now dead

    publisher(threads, clock, tokens=cache).publish(post("two " + LINK), "k2")

    with pytest.raises(AuthError, match="463"):
        publisher(threads, clock).check()  # the configured token alone
    assert len(threads.posts) == 2


def test_a_token_too_young_to_refresh_still_posts_and_is_tried_again_a_day_later(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeThreads(token=TOKEN, token_age=0, clock=epoch(clock)) as fake:
        cache = MemoryTokenCache()
        publisher(fake, clock, tokens=cache).publish(post("one " + LINK), "k1")
        publisher(fake, clock, tokens=cache).publish(post("two " + LINK), "k2")
        clock.advance(days=1, minutes=1)
        publisher(fake, clock, tokens=cache).publish(post("three " + LINK), "k3")

        refreshes = [t for _, t, _, _ in fake.requests if t.startswith("/refresh_access_token")]
        assert len(refreshes) == 2
        assert [m["token"] for m in fake.posts][:2] == [TOKEN, TOKEN]
        assert fake.posts[2]["token"] != TOKEN
    assert "token refresh failed" in caplog.text


def test_a_new_token_in_the_config_replaces_the_rotated_one(
    threads: FakeThreads, clock: Clock
) -> None:
    cache = MemoryTokenCache()
    publisher(threads, clock, tokens=cache).publish(post("one " + LINK), "k1")
    rotated = cache.load()["access_token"]
    clock.advance(days=2)
    fresh = threads.issue_token(age=timedelta(days=1).total_seconds())  # the user re-authorised

    publisher(threads, clock, tokens=cache, access_token=Secret(fresh)).publish(
        post("two " + LINK), "k2"
    )

    descendant = cache.load()["access_token"]
    assert descendant not in (rotated, fresh, TOKEN)
    assert threads.posts[1]["token"] == descendant


def test_secrets_stay_out_of_errors_logs_and_tracebacks(
    threads: FakeThreads, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cache = MemoryTokenCache()
    failures: list[BaseException] = []
    for kind in ("unauthorized", "reset", "drop"):
        threads.fail_next(kind)
        with pytest.raises(PublishError) as info:
            publisher(threads, clock, tokens=cache).publish(post(f"{kind} {LINK}"), kind)
        failures.append(info.value)
    url = threads.base_url
    threads.stop()
    with pytest.raises(TransientError) as refused:
        publisher_at(url, clock).check()
    failures.append(refused.value)

    secrets = [TOKEN, cache.load()["access_token"]]
    assert "urllib3" in caplog.text
    for secret in secrets:
        assert secret not in caplog.text
        for failure in failures:
            assert secret not in "".join(traceback.format_exception(failure))


def publisher_at(url: str, clock: Clock) -> ThreadsPublisher:
    options: dict[str, str | Secret] = {
        "base_url": url,
        "user_id": "1",
        "access_token": Secret(TOKEN),
    }
    return ThreadsPublisher(Account("t", "threads", options=options), timeout=1.0, clock=clock)


# --- classification (the Graph table is in test_facebook.py; these are Threads' own)


def graph_answer(status: int, error: dict[str, object]) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps({"error": error}).encode()
    return answer


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (400, {"code": 100, "message": "THREADS_API__LINK_LIMIT_EXCEEDED"}, PermanentError),
        (
            400,
            {"code": 100, "message": "Param text must be at most 500 characters"},
            PermanentError,
        ),
        (400, {"code": 190, "error_subcode": 463, "message": "Expired"}, AuthError),
        (
            403,
            {"code": 4, "message": "Application request limit", "is_transient": True},
            RateLimited,
        ),
        (400, {"code": 24, "message": "Media not ready", "is_transient": True}, TransientError),
    ],
)
def test_classify_threads_answers(
    status: int, error: dict[str, object], expected: type[PublishError]
) -> None:
    recorded = {**error, "type": "OAuthException", "fbtrace_id": "AxYz"}
    assert type(classify(graph_answer(status, recorded))) is expected


# --- settings

CONFIG = """
[[feeds]]
name = "blog"
url = "https://blog.example.com/feeds/posts/default"
accounts = ["threads"]

[accounts.threads]
platform = "threads"
user_id = "25000000000000001"
access_token_file = "threads-token"
"""


def test_a_threads_account_loads_with_its_defaults(tmp_path: Path) -> None:
    (tmp_path / "threads-token").write_text(TOKEN + "\n")
    path = tmp_path / "syndicate.toml"
    path.write_text(CONFIG)

    account = load(path, {}).accounts["threads"]

    assert account.option("base_url") == "https://graph.threads.net"
    assert account.option("api_version") == "v1.0"
    assert account.option("access_token") == TOKEN
    assert account.compose == ComposeOptions()


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('user_id = "25000000000000001"\n', ""), "accounts.threads.user_id"),
        (('access_token_file = "threads-token"\n', ""), "accounts.threads.access_token"),
        (('user_id = "25000000000000001"', 'user_id = "@writer"'), "accounts.threads.user_id"),
        (("platform", 'api_version = "latest"\nplatform'), "accounts.threads.api_version"),
        (("platform", 'refresh_token = "x"\nplatform'), "accounts.threads.refresh_token"),
    ],
)
def test_a_bad_or_missing_key_is_refused_by_name(
    tmp_path: Path, change: tuple[str, str], key: str
) -> None:
    (tmp_path / "threads-token").write_text(TOKEN)
    path = tmp_path / "syndicate.toml"
    path.write_text(CONFIG.replace(*change))

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(path, {})
