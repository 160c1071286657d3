"""The X publisher against the loopback fake, over real HTTP through tweepy."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from syndicate.errors import (
    AlreadyPosted,
    AuthError,
    ConfigError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.model import Account, ComposeOptions, Post, PublishResult, Secret, Summary
from syndicate.platforms.base import MemoryTokenCache, Refresh
from syndicate.platforms.x import XPublisher, classify
from syndicate.settings import load
from tests.conftest import Clock
from tests.fakes.x import DUPLICATE, USER_ID, FakeX

LINK = "https://blog.example.com/2026/11/posse.html"
TEXT = f"Own your posts & syndicate them <everywhere>. {LINK}"


def epoch(clock: Clock) -> Callable[[], float]:
    """The test's clock as epoch seconds, read on every call (`advance` replaces `now`)."""

    def now() -> float:
        return clock.now.timestamp()

    return now


@pytest.fixture(autouse=True)
def insecure_transport_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests-oauthlib refuses http:// token URLs; the fake serves plain HTTP (reference §3.8).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeX]:
    with FakeX(clock=epoch(clock)) as server:
        yield server
    assert server.errors == []


def oauth1(fake: FakeX, **changes: str) -> Account:
    options: dict[str, Any] = {
        "base_url": fake.base_url,
        "consumer_key": Secret(fake.consumer_key),
        "consumer_secret": Secret(fake.consumer_secret),
        "access_token": Secret(fake.access_token),
        "access_token_secret": Secret(fake.access_token_secret),
    }
    options.update({k: Secret(v) for k, v in changes.items()})
    return Account("bird", "x", options=options)


def oauth2(fake: FakeX, access: str, refresh: str, **extra: Any) -> Account:
    options: dict[str, Any] = {
        "base_url": fake.base_url,
        "client_id": fake.client_id,
        "access_token": Secret(access),
        "refresh_token": Secret(refresh),
        **extra,
    }
    return Account("bird", "x", options=options)


def publisher(
    account: Account, clock: Clock, *, timeout: float = 5.0, tokens: Any = None
) -> XPublisher:
    return XPublisher(account, timeout=timeout, tokens=tokens, clock=epoch(clock))


def post(text: str = TEXT, *thread: str) -> Post:
    return Post("x", text, 0, 280, thread=(text, *thread) if thread else ())


def calls(fake: FakeX, method: str, path: str) -> int:
    return sum(1 for m, target, _, _ in fake.requests if m == method and target.startswith(path))


# ---------------------------------------------------------------------- posting


def test_a_post_is_created_with_oauth1_and_its_public_url_built(fake: FakeX, clock: Clock) -> None:
    result = publisher(oauth1(fake), clock).publish(post(), "key-1")
    [stored] = fake.posts
    assert stored["text"] == TEXT
    assert stored["auth"] == "oauth1"
    assert result == PublishResult(stored["id"], f"https://x.com/i/web/status/{stored['id']}")


def test_a_post_is_created_with_an_oauth2_user_token(fake: FakeX, clock: Clock) -> None:
    access, refresh = fake.issue_oauth2_tokens()
    publisher(oauth2(fake, access, refresh), clock).publish(post(), "key-1")
    assert [p["auth"] for p in fake.posts] == ["oauth2"]
    assert calls(fake, "POST", "/2/oauth2/token") == 0


def test_a_thread_is_a_reply_chain_answered_with_its_first_part(fake: FakeX, clock: Clock) -> None:
    thread = post("Part one 1/3", "Part two 2/3", f"Part three 3/3 {LINK}")
    result = publisher(oauth1(fake), clock).publish(thread, "key-1")
    first, second, third = fake.posts
    assert [p["text"] for p in fake.posts] == list(thread.thread)
    assert (second["in_reply_to"], third["in_reply_to"]) == (first["id"], second["id"])
    assert result.remote_id == first["id"]


def test_render_counts_x_weighted_length_and_the_fake_agrees(fake: FakeX, clock: Clock) -> None:
    # CJK weighs 2: 200 of them alone would be 400 of X's 280.
    sentences = tuple("这是一个很长的句子，用来测试推特的加权长度计算。" for _ in range(8))
    summary = Summary("标题", "".join(sentences), sentences, LINK)
    account = Account("bird", "x", compose=ComposeOptions(hashtags=False), options={})
    rendered = XPublisher(account, timeout=5).render(summary)
    assert (rendered.limit, XPublisher.MAX_WEIGHTED_LENGTH) == (280, 280)
    assert 250 < rendered.length <= 280
    assert LINK in rendered.text
    live = publisher(oauth1(fake), clock)
    live.publish(rendered, "key-1")
    assert fake.posts_with_link(LINK) == 1


def test_over_length_text_is_refused_permanently_and_nothing_is_stored(
    fake: FakeX, clock: Clock
) -> None:
    with pytest.raises(PermanentError, match="HTTP 400"):
        publisher(oauth1(fake), clock).publish(post("长" * 141), "key-1")
    assert fake.posts == []


# ----------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("status", "error"), [(503, TransientError), (500, TransientError), (400, PermanentError)]
)
def test_a_refused_status_is_classified_and_stores_nothing(
    fake: FakeX, clock: Clock, status: int, error: type[PublishError]
) -> None:
    fake.fail_next("status", status=status)
    with pytest.raises(error, match=f"HTTP {status}"):
        publisher(oauth1(fake), clock).publish(post(), "key-1")
    assert fake.posts == []


def test_rate_limit_waits_for_the_reset_x_gives_and_never_sleeps(fake: FakeX, clock: Clock) -> None:
    fake.fail_next("rate_limit", reset_in=120)
    x = publisher(oauth1(fake), clock)
    with pytest.raises(RateLimited) as info:
        x.publish(post(), "key-1")
    assert info.value.reset_at == datetime.fromtimestamp(int(clock.now.timestamp() + 120), UTC)
    assert calls(fake, "POST", "/2/tweets") == 1  # no retry of its own
    clock.advance(seconds=121)
    x.publish(post(), "key-1")
    assert (len(fake.posts), fake.violations) == (1, [])


def test_a_post_before_the_reset_is_a_violation_the_fake_records(fake: FakeX, clock: Clock) -> None:
    fake.fail_next("rate_limit", reset_in=60)
    x = publisher(oauth1(fake), clock)
    for _ in range(2):
        with pytest.raises(RateLimited):
            x.publish(post(), "key-1")
    assert len(fake.violations) == 1


def test_unauthorized_oauth1_is_an_auth_error(fake: FakeX, clock: Clock) -> None:
    fake.fail_next("unauthorized")
    with pytest.raises(AuthError, match="HTTP 401"):
        publisher(oauth1(fake), clock).publish(post(), "key-1")


def test_read_timeout_after_sending_is_unknown_and_the_post_is_found(
    fake: FakeX, clock: Clock
) -> None:
    fake.fail_next("hang", hang_seconds=5.0)
    x = publisher(oauth1(fake), clock, timeout=0.3)
    with pytest.raises(OutcomeUnknown):
        x.publish(post(), "key-1")
    [stored] = fake.posts
    assert x.find_existing("key-1", post()) == PublishResult(
        stored["id"], f"https://x.com/i/web/status/{stored['id']}"
    )


def test_retry_after_a_dropped_answer_never_posts_twice(fake: FakeX, clock: Clock) -> None:
    fake.fail_next("drop")
    x = publisher(oauth1(fake), clock)
    with pytest.raises(OutcomeUnknown, match="connection dropped"):
        x.publish(post(), "key-1")
    with pytest.raises(AlreadyPosted) as info:
        x.publish(post(), "key-1")
    [stored] = fake.posts
    assert info.value.remote is not None and info.value.remote.remote_id == stored["id"]
    assert fake.posts_with_link(LINK) == 1


def test_a_reset_connection_is_unknown_and_a_lookup_then_allows_the_resend(
    fake: FakeX, clock: Clock
) -> None:
    fake.fail_next("reset")
    x = publisher(oauth1(fake), clock)
    with pytest.raises(OutcomeUnknown):
        x.publish(post(), "key-1")
    assert x.find_existing("key-1", post()) is None
    x.publish(post(), "key-1")
    assert fake.posts_with_link(LINK) == 1


def test_a_thread_interrupted_after_its_first_part_is_finished_by_the_retry(
    fake: FakeX, clock: Clock
) -> None:
    thread = post("Part one 1/2", f"Part two 2/2 {LINK}")
    x = publisher(oauth1(fake), clock)
    fake.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        x.publish(thread, "key-1")
    assert x.find_existing("key-1", thread) is None  # the link is in the missing part
    result = x.publish(thread, "key-1")
    first, second = fake.posts
    assert (result.remote_id, second["in_reply_to"]) == (first["id"], first["id"])
    assert x.find_existing("key-1", thread) == result


def test_nothing_listening_is_transient(clock: Clock) -> None:
    with FakeX() as gone:
        account = oauth1(gone)
    with pytest.raises(TransientError, match="cannot connect"):
        publisher(account, clock).publish(post(), "key-1")


class ShortMemory(XPublisher):
    RECENT_POSTS = 5  # X's smallest page, so a post can fall out of it quickly


def test_duplicate_text_that_is_not_among_recent_posts_is_permanent(
    fake: FakeX, clock: Clock
) -> None:
    x = ShortMemory(oauth1(fake), timeout=5, clock=epoch(clock))
    for n in range(6):
        x.publish(post(f"post {n}"), f"key-{n}")
    with pytest.raises(PermanentError, match=r"duplicate content.*5 latest"):
        x.publish(post("post 0"), "key-again")


# ------------------------------------------------------------- find_existing, check


def test_find_existing_matches_the_link_behind_t_co(fake: FakeX, clock: Clock) -> None:
    x = publisher(oauth1(fake), clock)
    x.publish(post("an unrelated post https://elsewhere.example.org/"), "key-0")
    assert x.find_existing("key-1", post()) is None
    result = x.publish(post(), "key-1")
    listed = requests.get(
        f"{fake.base_url}/2/users/{USER_ID}/tweets?tweet.fields=entities",
        headers={"Authorization": f"Bearer {fake.issue_oauth2_tokens()[0]}"},
        timeout=5,
    ).json()["data"][0]
    assert LINK not in listed["text"] and "https://t.co/" in listed["text"]
    assert x.find_existing("other-key", post(f"Different words, same entry: {LINK}")) == result


def test_find_existing_cannot_tell_when_the_listing_fails(clock: Clock) -> None:
    with FakeX(clock=epoch(clock), read_limit=0) as fake, pytest.raises(RateLimited):
        publisher(oauth1(fake), clock).find_existing("key-1", post())


def test_find_existing_cannot_tell_from_a_listing_without_data(clock: Clock) -> None:
    # The token's numeric prefix names a user the fake does not know: 200 with `errors` only.
    with FakeX(clock=epoch(clock), access_token="999-unknown-user-token") as fake:
        with pytest.raises(OutcomeUnknown, match="listing is unreadable"):
            publisher(oauth1(fake), clock).find_existing("key-1", post())
        assert fake.errors == []


def test_check_names_the_account(fake: FakeX, clock: Clock) -> None:
    assert publisher(oauth1(fake), clock).check() == "@writer on X"


def test_check_refuses_a_wrong_signature(fake: FakeX, clock: Clock) -> None:
    with pytest.raises(AuthError, match="HTTP 401"):
        publisher(oauth1(fake, consumer_secret="not-the-secret"), clock).check()


# --------------------------------------------------------------- OAuth 2.0 tokens


def test_an_expired_access_token_is_refreshed_and_the_rotation_kept(
    fake: FakeX, clock: Clock
) -> None:
    access, refresh = fake.issue_oauth2_tokens()
    cache = MemoryTokenCache()
    x = publisher(oauth2(fake, access, refresh), clock, tokens=cache)
    clock.advance(hours=2, seconds=1)
    x.publish(post(), "key-1")  # 401, one refresh, one retry
    rotated = cache.load()
    assert rotated["refresh_token"] != refresh and rotated["access_token"] != access
    assert calls(fake, "POST", "/2/oauth2/token") == 1
    clock.advance(hours=2)  # now our clock knows the expiry: refresh before sending
    publisher(oauth2(fake, access, refresh), clock, tokens=cache).check()
    assert calls(fake, "POST", "/2/oauth2/token") == 2
    assert calls(fake, "GET", "/2/users/me") == 1  # no 401 round trip this time


def test_a_second_401_after_refreshing_needs_the_user(fake: FakeX, clock: Clock) -> None:
    access, refresh = fake.issue_oauth2_tokens()
    fake.fail_next("unauthorized", count=2)
    with pytest.raises(AuthError, match="HTTP 401"):
        publisher(oauth2(fake, access, refresh), clock).publish(post(), "key-1")
    assert calls(fake, "POST", "/2/oauth2/token") == 1


def test_a_spent_refresh_token_asks_for_reauthorisation(fake: FakeX, clock: Clock) -> None:
    access, refresh = fake.issue_oauth2_tokens()
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": fake.client_id}
    requests.post(f"{fake.base_url}/2/oauth2/token", data=form, timeout=5).raise_for_status()
    clock.advance(hours=3)
    with pytest.raises(AuthError, match=r"invalid_request.*re-authorise") as info:
        publisher(oauth2(fake, access, refresh), clock).publish(post(), "key-1")
    assert refresh not in str(info.value)


def test_a_failing_token_endpoint_is_transient(fake: FakeX, clock: Clock) -> None:
    access, refresh = fake.issue_oauth2_tokens()
    fake.fail_token_requests(503)
    clock.advance(hours=3)
    with pytest.raises(TransientError, match="token refresh failed: HTTP 503"):
        publisher(oauth2(fake, access, refresh), clock).publish(post(), "key-1")


def test_a_confidential_client_refreshes_with_basic_auth(clock: Clock) -> None:
    with FakeX(clock=epoch(clock), client_secret="client-secret-1") as fake:
        access, refresh = fake.issue_oauth2_tokens()
        account = oauth2(fake, access, refresh, client_secret=Secret("client-secret-1"))
        clock.advance(hours=3)
        publisher(account, clock).publish(post(), "key-1")
        assert len(fake.posts) == 1


class OtherWorkerFirst(MemoryTokenCache):
    """A shared cache where another worker takes the account's lock first and rotates."""

    def __init__(self) -> None:
        super().__init__()
        self.other: XPublisher | None = None

    def update(self, refresh: Refresh) -> dict[str, str]:
        other, self.other = self.other, None
        if other is not None and other.oauth2 is not None:
            other.oauth2.refresh(other.oauth2.current())
        return super().update(refresh)


def test_a_worker_that_lost_the_refresh_race_uses_the_winners_pair(
    fake: FakeX, clock: Clock
) -> None:
    access, refresh = fake.issue_oauth2_tokens()
    cache = OtherWorkerFirst()
    cache.other = publisher(oauth2(fake, access, refresh), clock, tokens=cache)
    clock.advance(hours=3)
    publisher(oauth2(fake, access, refresh), clock, tokens=cache).publish(post(), "key-1")
    assert calls(fake, "POST", "/2/oauth2/token") == 1  # the spent token was never replayed
    assert len(fake.posts) == 1


def test_a_new_configured_pair_wins_over_an_older_rotation(fake: FakeX, clock: Clock) -> None:
    cache = MemoryTokenCache()
    access, refresh = fake.issue_oauth2_tokens()
    clock.advance(hours=3)
    publisher(oauth2(fake, access, refresh), clock, tokens=cache).check()
    fake.reset()  # the user revoked everything and authorised again
    access, refresh = fake.issue_oauth2_tokens()
    assert publisher(oauth2(fake, access, refresh), clock, tokens=cache).check() == "@writer on X"


# ---------------------------------------------------------------------- secrets


def test_secrets_never_reach_errors_or_logs(
    fake: FakeX, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # tweepy and oauthlib log headers and token bodies
    # Another module may have quieted these library loggers process-wide; open them up so
    # the test sees what they would log.
    for name in ("requests_oauthlib", "oauthlib"):
        caplog.set_level(logging.DEBUG, logger=name)
    access, refresh = fake.issue_oauth2_tokens()
    cache = MemoryTokenCache()
    errors: list[str] = []
    # OAuth 2.0: a 401, a refresh (new pair), a second 401; OAuth 1.0a: one 401.
    for account, faults in ((oauth2(fake, access, refresh), 2), (oauth1(fake), 1)):
        x = publisher(account, clock, tokens=cache)
        x.check()
        fake.fail_next("unauthorized", count=faults)
        with pytest.raises(AuthError) as info:
            x.publish(post(), "key-1")
        errors.append(str(info.value))
    secrets = [fake.consumer_key, fake.consumer_secret, fake.access_token]
    secrets += [fake.access_token_secret, access, refresh, *cache.load().values()]
    assert "Bearer ***" in caplog.text and "oauth_signature" in caplog.text
    for secret in secrets:
        if len(secret) > 16:  # skip the cache's seed and expiry
            assert secret not in caplog.text and all(secret not in e for e in errors)


# ----------------------------------------------------------------- classification


def recorded(status: int, body: object = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()
    response.headers.update(headers)
    return response


def problem(status: int, title: str, detail: str) -> dict[str, object]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}


RESET = "1795000000"
LATER = "1795050000"


@pytest.mark.parametrize(
    ("response", "error", "reset_at"),
    [
        (recorded(403, problem(403, "Forbidden", DUPLICATE)), AlreadyPosted, None),
        (
            recorded(429, problem(429, "Too Many Requests", "Too Many Requests"), **{
                "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": RESET,
            }),
            RateLimited,
            RESET,
        ),
        (  # the 24-hour user cap is spent too: its later reset is the real one
            recorded(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}, **{
                "x-rate-limit-remaining": "0", "x-rate-limit-reset": RESET,
                "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": LATER,
            }),
            RateLimited,
            LATER,
        ),
        (recorded(429), RateLimited, None),
        (recorded(401, problem(401, "Unauthorized", "Unauthorized")), AuthError, None),
        (
            recorded(403, problem(403, "Forbidden", "You are not permitted to do this.")),
            AuthError,
            None,
        ),
        (
            recorded(400, {"errors": [{"message": "text too long"}], "title": "Invalid Request"}),
            PermanentError,
            None,
        ),
        (recorded(404, problem(404, "Not Found Error", "nope")), PermanentError, None),
        (recorded(503, problem(503, "Unavailable", "Unavailable")), TransientError, None),
        (recorded(502), TransientError, None),
    ],
)  # fmt: skip
def test_classify_recorded_responses(
    response: requests.Response, error: type[PublishError], reset_at: str | None
) -> None:
    result = classify(response)
    assert type(result) is error
    assert str(result).startswith(f"HTTP {response.status_code}")
    if isinstance(result, RateLimited):
        expected = datetime.fromtimestamp(int(reset_at), UTC) if reset_at else None
        assert result.reset_at == expected


# ------------------------------------------------------------------------ settings

X_CONFIG = """
[[feeds]]
name = "blog"
url = "https://blog.example.com/feeds/posts/default"
accounts = ["bird"]

[accounts.bird]
platform = "twitter"
"""
OAUTH1_KEYS = """consumer_key = "${X_CONSUMER_KEY}"
consumer_secret = "${X_CONSUMER_SECRET}"
access_token = "${X_ACCESS_TOKEN}"
access_token_secret = "${X_ACCESS_TOKEN_SECRET}"
"""
OAUTH2_KEYS = """client_id = "abc123"
access_token = "${X_ACCESS_TOKEN}"
refresh_token = "${X_REFRESH_TOKEN}"
"""
ENV = {n: f"{n.lower()}-value" for n in (
    "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET",
    "X_REFRESH_TOKEN",
)}  # fmt: skip


@pytest.mark.parametrize("keys", [OAUTH1_KEYS, OAUTH2_KEYS])
def test_a_config_with_either_credential_set_loads(tmp_path: Path, keys: str) -> None:
    path = tmp_path / "syndicate.toml"
    path.write_text(X_CONFIG + keys)
    account = load(path, ENV).accounts["bird"]
    assert (account.platform, account.option("base_url")) == ("x", "https://api.x.com")
    assert account.option("access_token") == "x_access_token-value"
    assert "x_access_token-value" not in repr(account)


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        (OAUTH1_KEYS.replace('access_token_secret = "${X_ACCESS_TOKEN_SECRET}"\n', ""),
         "missing access_token_secret"),
        (OAUTH2_KEYS.replace('client_id = "abc123"\n', ""), "missing client_id"),
        (OAUTH1_KEYS + 'refresh_token = "${X_REFRESH_TOKEN}"\n', "not both"),
        ('access_token = "${X_ACCESS_TOKEN}"\n', "no complete credential set"),
        (OAUTH1_KEYS + 'bearer_token = "x"\n', "accounts.bird.bearer_token"),
    ],
)  # fmt: skip
def test_a_bad_credential_config_is_refused_naming_the_key(
    tmp_path: Path, keys: str, named: str
) -> None:
    path = tmp_path / "syndicate.toml"
    path.write_text(X_CONFIG + keys)
    with pytest.raises(ConfigError, match=r"accounts\.bird") as info:
        load(path, ENV)
    assert named in str(info.value)
    assert all(value not in str(info.value) for value in ENV.values())


# -------------------------------------------------------------------- the fake itself


def test_fake_refuses_a_replayed_oauth1_request(fake: FakeX, clock: Clock) -> None:
    publisher(oauth1(fake), clock).check()
    [(_, target, headers, _)] = fake.requests
    signed = {"Authorization": headers["authorization"]}
    again = requests.get(fake.base_url + target, headers=signed, timeout=5)
    assert again.status_code == 401  # same nonce: a replay


def test_fake_refuses_a_reused_refresh_token(fake: FakeX) -> None:
    _, refresh = fake.issue_oauth2_tokens()
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": fake.client_id}
    url = f"{fake.base_url}/2/oauth2/token"
    assert requests.post(url, data=form, timeout=5).status_code == 200
    again = requests.post(url, data=form, timeout=5)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_request")


def test_fake_answers_rate_limit_headers_and_t_co_entities(fake: FakeX) -> None:
    bearer = {"Authorization": f"Bearer {fake.issue_oauth2_tokens()[0]}"}
    created = requests.post(
        f"{fake.base_url}/2/tweets", json={"text": f"a & b {LINK}"}, headers=bearer, timeout=5
    )
    assert created.status_code == 201
    assert int(created.headers["x-rate-limit-remaining"]) == fake.limits["post"][0] - 1
    assert created.headers["x-user-limit-24hour-remaining"]
    text = created.json()["data"]["text"]
    assert text.startswith("a &amp; b https://t.co/")
    again = requests.post(
        f"{fake.base_url}/2/tweets", json={"text": f"a & b {LINK}"}, headers=bearer, timeout=5
    )
    assert (again.status_code, again.json()["detail"]) == (403, DUPLICATE)


def test_fake_random_faults_repeat_with_their_seed(clock: Clock) -> None:
    outcomes = []
    for _ in range(2):
        with FakeX(clock=epoch(clock)) as fake:
            fake.set_random_faults({"status": 0.3, "rate_limit": 0.2}, seed=7)
            bearer = {"Authorization": f"Bearer {fake.issue_oauth2_tokens()[0]}"}
            statuses = []
            for n in range(20):
                clock.advance(seconds=5)  # past any 1-3 s reset, so no violations
                url = f"{fake.base_url}/2/tweets"
                r = requests.post(url, json={"text": f"n {n}"}, headers=bearer, timeout=5)
                statuses.append(r.status_code)
            outcomes.append(statuses)
            assert fake.violations == []
    assert outcomes[0] == outcomes[1]
    assert {201, 500, 429} <= set(outcomes[0])
