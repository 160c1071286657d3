"""The LinkedIn publisher against the loopback fake over real HTTP, its error table, its
token refresh through the TokenCache, and its configuration keys."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

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
from syndicate.model import Account, Post, Secret, Summary
from syndicate.platforms.base import MemoryTokenCache
from syndicate.platforms.linkedin import LinkedInPublisher, classify
from syndicate.platforms.textlen import linkedin_length
from syndicate.settings import load
from tests.conftest import Clock
from tests.fakes.linkedin import FakeLinkedIn, visible_text

MEMBER = "urn:li:person:782bbtaQ"
PAGE = "urn:li:organization:2414183"
VERSION = "202610"  # active on the test clock's 2026-11-26
LINK = "https://blog.example.com/2026/11/rust-and-python.html"
ACCESS, REFRESH = "li-access-token", "li-refresh-token"
CLIENT_SECRET = "li-client-secret"
SECRETS = (ACCESS, REFRESH, CLIENT_SECRET)
DAY = 86400.0


@pytest.fixture(autouse=True)
def loopback_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http:// (reference §3.8); the fake serves plain HTTP on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def epoch(clock: Clock) -> Callable[[], float]:
    return lambda: clock.now.timestamp()  # noqa: PLW0108 (clock.now changes)


@pytest.fixture
def linkedin(epoch: Callable[[], float]) -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn(clock=epoch) as fake:
        yield fake
    assert fake.errors == []


def account(fake: FakeLinkedIn, **options: str | Secret) -> Account:
    values: dict[str, str | int | bool | Secret] = {
        "base_url": fake.base_url,
        "token_url": f"{fake.base_url}/oauth/v2/accessToken",
        "api_version": VERSION,
        "author": MEMBER,
        "access_token": Secret(ACCESS),
        "refresh_token": Secret(REFRESH),
        "client_id": "li-client",
        "client_secret": Secret(CLIENT_SECRET),
        "visibility": "PUBLIC",
    }
    values.update(options)
    return Account(name="li", platform="linkedin", options=values)


def publisher(
    fake: FakeLinkedIn, tokens: MemoryTokenCache | None = None, timeout: float = 5.0, **options: Any
) -> LinkedInPublisher:
    return LinkedInPublisher(account(fake, **options), timeout=timeout, tokens=tokens)


def summary(title: str = "Rust & Python (a field guide)", link: str = LINK) -> Summary:
    sentences = ("Both languages meet in *extension modules*.", "Here is how we ship them.")
    return Summary(
        title=title,
        text=" ".join(sentences),
        sentences=sentences,
        link=link,
        categories=("Python",),
    )


def plain_post(text: str) -> Post:
    return Post(platform="linkedin", text=text, length=linkedin_length(text), limit=3000)


def token_requests(fake: FakeLinkedIn) -> list[dict[str, str]]:
    return [
        {k: v[0] for k, v in parse_qs(body.decode()).items()}
        for method, path, _, body in fake.requests
        if method == "POST" and path == "/oauth/v2/accessToken"
    ]


# --------------------------------------------------------------------- publishing


def test_a_post_is_created_with_its_article_and_public_url(linkedin: FakeLinkedIn) -> None:
    pub = publisher(linkedin)
    post = pub.render(summary())
    result = pub.publish(post, "d-1")
    [stored] = linkedin.posts
    assert result.remote_id == stored["urn"]
    assert result.remote_id.startswith("urn:li:share:")
    assert result.remote_url == f"https://www.linkedin.com/feed/update/{stored['urn']}/"
    assert stored["text"] == post.text
    assert stored["article"]["source"] == LINK
    assert stored["article"]["title"] == "Rust & Python (a field guide)"  # not little text
    assert stored["article"]["description"]
    assert (stored["author"], stored["visibility"]) == (MEMBER, "PUBLIC")
    _, _, headers, body = linkedin.requests[-1]
    assert headers["linkedin-version"] == VERSION
    assert headers["x-restli-protocol-version"] == "2.0.0"
    assert headers["authorization"] == f"Bearer {ACCESS}"
    assert json.loads(body)["lifecycleState"] == "PUBLISHED"


def test_reserved_characters_are_escaped_once_and_the_post_shows_whole(
    linkedin: FakeLinkedIn,
) -> None:
    pub = publisher(linkedin)
    post = pub.render(summary(title="Pointers [part 2]: a_b | c {d} <e> @home ~f #Rust"))
    pub.publish(post, "d-1")
    [stored] = linkedin.posts
    assert "\\\\" not in stored["text"]  # escaped once, never twice
    assert "Pointers [part 2]: a_b | c {d} <e> @home ~f" in stored["visible"]
    assert stored["visible"].endswith(LINK)  # LinkedIn did not cut it short
    assert "\\#Rust" in stored["text"]  # title text, not a template hashtag: escaped


def test_a_page_can_post_as_an_organization(linkedin: FakeLinkedIn) -> None:
    pub = publisher(linkedin, author=PAGE, visibility="LOGGED_IN")
    pub.publish(pub.render(summary()), "d-1")
    assert [(p["author"], p["visibility"]) for p in linkedin.posts] == [(PAGE, "LOGGED_IN")]


def test_a_thread_posts_only_its_first_part(linkedin: FakeLinkedIn) -> None:
    post = replace(plain_post(f"part one {LINK}"), thread=(f"part one {LINK}", "part two"))
    publisher(linkedin).publish(post, "d-1")
    assert [p["text"] for p in linkedin.posts] == [f"part one {LINK}"]


def test_a_long_summary_is_rendered_within_3000_after_escaping(linkedin: FakeLinkedIn) -> None:
    sentences = tuple(f"Sentence {n} (with *stars* and _under_scores_)." for n in range(200))
    long = replace(summary(), sentences=sentences, text=" ".join(sentences))
    pub = publisher(linkedin)
    post = pub.render(long)
    assert post.length == linkedin_length(post.text) <= 3000
    assert post.length > 2800  # filled, not truncated early
    pub.publish(post, "d-1")
    assert linkedin.posts[0]["visible"].endswith(LINK)


def test_over_length_commentary_is_refused_for_good(linkedin: FakeLinkedIn) -> None:
    with pytest.raises(PermanentError, match="HTTP 422"):
        publisher(linkedin).publish(plain_post("x" * 3001), "d-1")
    assert linkedin.posts == []


def test_the_same_commentary_again_is_already_posted_with_its_urn(linkedin: FakeLinkedIn) -> None:
    pub = publisher(linkedin)
    post = pub.render(summary())
    first = pub.publish(post, "d-1")
    with pytest.raises(AlreadyPosted) as info:
        pub.publish(post, "d-1")
    assert info.value.remote == first
    assert linkedin.posts_with_link(LINK) == 1


def test_an_expired_api_version_is_a_permanent_error(linkedin: FakeLinkedIn) -> None:
    with pytest.raises(PermanentError, match="NONEXISTENT_VERSION"):
        publisher(linkedin, api_version="202401").publish(plain_post("hello"), "d-1")


def test_posting_as_a_page_one_does_not_administer_needs_a_person(linkedin: FakeLinkedIn) -> None:
    pub = publisher(linkedin, author="urn:li:organization:999")
    with pytest.raises(AuthError, match="ACCESS_DENIED"):
        pub.publish(plain_post("hello"), "d-1")


# ------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kind", "kwargs", "error", "stored"),
    [
        ("status", {"status": 500}, TransientError, 0),
        ("status", {"status": 503}, TransientError, 0),
        ("status", {"status": 400}, PermanentError, 0),
        ("rate_limit", {"reset_in": 120.0}, RateLimited, 0),
        ("hang", {"hang_seconds": 3.0}, OutcomeUnknown, 1),
        ("drop", {}, OutcomeUnknown, 1),
        ("reset", {}, OutcomeUnknown, 0),
    ],
)
def test_each_fault_is_classified(
    linkedin: FakeLinkedIn,
    kind: Any,
    kwargs: dict[str, Any],
    error: type[PublishError],
    stored: int,
) -> None:
    linkedin.fail_next(kind, **kwargs)
    with pytest.raises(error) as info:
        publisher(linkedin, timeout=0.5).publish(plain_post(f"hello {LINK}"), "d-1")
    assert len(linkedin.posts) == stored
    if isinstance(info.value, RateLimited):
        assert info.value.reset_at is None  # LinkedIn names no reset time: back off


def test_unauthorized_without_a_refresh_token_needs_a_person(linkedin: FakeLinkedIn) -> None:
    linkedin.fail_next("unauthorized")
    pub = publisher(linkedin, refresh_token=Secret(""))
    with pytest.raises(AuthError, match="REVOKED_ACCESS_TOKEN"):
        pub.publish(plain_post("hello"), "d-1")
    assert token_requests(linkedin) == []


def test_unauthorized_twice_is_an_auth_error_after_one_refresh(linkedin: FakeLinkedIn) -> None:
    linkedin.fail_next("unauthorized", count=2)
    with pytest.raises(AuthError, match="HTTP 401"):
        publisher(linkedin).publish(plain_post("hello"), "d-1")
    assert len(token_requests(linkedin)) == 1
    assert linkedin.posts == []


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the publisher connects
    acct = Account(
        "li",
        "linkedin",
        options={
            "base_url": f"http://127.0.0.1:{port}",
            "api_version": VERSION,
            "author": MEMBER,
            "access_token": Secret(ACCESS),
        },
    )
    with pytest.raises(TransientError, match="cannot connect"):
        LinkedInPublisher(acct, timeout=2.0).publish(plain_post("hello"), "d-1")


def test_a_retry_after_a_drop_finds_the_first_post(linkedin: FakeLinkedIn) -> None:
    pub = publisher(linkedin)
    post = pub.render(summary())
    linkedin.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        pub.publish(post, "d-1")
    found = pub.find_existing("d-1", post)
    assert found is not None
    assert found.remote_id == linkedin.posts[0]["urn"]
    with pytest.raises(AlreadyPosted) as info:  # and a blind re-send would not double it
        pub.publish(post, "d-1")
    assert info.value.remote == found
    assert linkedin.posts_with_link(LINK) == 1


# -------------------------------------------------------------------- reconcile


def test_find_existing_answers_none_when_the_listing_lacks_the_post(
    linkedin: FakeLinkedIn,
) -> None:
    pub = publisher(linkedin)
    pub.publish(pub.render(summary(link="https://blog.example.com/other")), "d-0")
    assert pub.find_existing("d-1", pub.render(summary())) is None
    _, target, headers, _ = linkedin.requests[-1]
    assert "author=urn%3Ali%3Aperson%3A782bbtaQ" in target
    assert headers["x-restli-method"] == "FINDER"


def test_find_existing_matches_a_post_without_a_link_by_its_text(linkedin: FakeLinkedIn) -> None:
    pub = publisher(linkedin)
    result = pub.publish(plain_post("Just words \\(escaped\\)"), "d-1")
    assert pub.find_existing("d-1", plain_post("Just words \\(escaped\\)")) == result
    assert pub.find_existing("d-2", plain_post("Other words")) is None


def test_find_existing_cannot_tell_without_read_scope(epoch: Callable[[], float]) -> None:
    with FakeLinkedIn(clock=epoch, read_scope=False) as fake:
        pub = publisher(fake)
        with pytest.raises(OutcomeUnknown, match="ACCESS_DENIED"):
            pub.find_existing("d-1", pub.render(summary()))


# -------------------------------------------------------------------------- check


def test_check_names_the_member_and_the_author(linkedin: FakeLinkedIn) -> None:
    assert publisher(linkedin).check() == f"Ada Lovelace ({MEMBER}) on LinkedIn"
    assert publisher(linkedin, author=PAGE).check() == f"Ada Lovelace ({PAGE}) on LinkedIn"


def test_check_refuses_a_token_of_another_member(linkedin: FakeLinkedIn) -> None:
    with pytest.raises(AuthError, match="urn:li:person:782bbtaQ, not"):
        publisher(linkedin, author="urn:li:person:someoneElse").check()


def test_check_refuses_a_bad_token(linkedin: FakeLinkedIn) -> None:
    pub = publisher(linkedin, access_token=Secret("wrong-token"), refresh_token=Secret(""))
    with pytest.raises(AuthError, match="INVALID_ACCESS_TOKEN") as info:
        pub.check()
    assert "wrong-token" not in str(info.value)


# ------------------------------------------------------------------------- tokens


def test_an_expired_token_is_refreshed_once_and_kept_in_the_cache(
    linkedin: FakeLinkedIn, clock: Clock
) -> None:
    cache = MemoryTokenCache()
    clock.advance(days=61)
    publisher(linkedin, cache).publish(plain_post("after the holidays"), "d-1")
    [refresh] = token_requests(linkedin)
    assert refresh == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": "li-client",
        "client_secret": CLIENT_SECRET,
    }
    stored = cache.load()
    assert stored["access_token"] == f"{ACCESS}-1"
    assert stored["refresh_token"] == REFRESH  # LinkedIn does not rotate it
    # Another worker with the same cache uses the new token straight away.
    publisher(linkedin, cache).publish(plain_post("second"), "d-2")
    assert len(token_requests(linkedin)) == 1
    assert linkedin.requests[-1][2]["authorization"] == f"Bearer {ACCESS}-1"


def test_a_rotated_refresh_token_is_stored_and_used_next(
    epoch: Callable[[], float], clock: Clock
) -> None:
    cache = MemoryTokenCache()
    with FakeLinkedIn(clock=epoch, rotate_refresh=True) as fake:
        for n in (1, 2):
            clock.advance(days=61)
            publisher(fake, cache).publish(plain_post(f"post {n}"), f"d-{n}")
            assert cache.load()["refresh_token"] == f"{REFRESH}-{n}"
        assert [r["refresh_token"] for r in token_requests(fake)] == [REFRESH, f"{REFRESH}-1"]
        assert fake.errors == []


def test_a_token_known_to_be_expired_is_refreshed_before_sending(
    linkedin: FakeLinkedIn, clock: Clock
) -> None:
    cache = MemoryTokenCache()
    clock.advance(days=61)
    publisher(linkedin, cache).publish(plain_post("one"), "d-1")
    cache.update(lambda current: {**current, "expires_at": "1000"})  # long past
    before = len(linkedin.requests)
    publisher(linkedin, cache).publish(plain_post("two"), "d-2")
    paths = [path for _, path, _, _ in linkedin.requests[before:]]
    assert paths == ["/oauth/v2/accessToken", "/rest/posts"]  # no 401 first


class RacingCache(MemoryTokenCache):
    """Another worker refreshed between our read and our lock: the first load is stale."""

    def __init__(self, stale: Mapping[str, str], fresh: Mapping[str, str]) -> None:
        super().__init__(fresh)
        self.stale: dict[str, str] | None = dict(stale)

    def load(self) -> dict[str, str]:
        stale, self.stale = self.stale, None
        return stale if stale is not None else super().load()


def test_a_refresh_another_worker_made_is_used_not_repeated(
    linkedin: FakeLinkedIn, clock: Clock
) -> None:
    shared = MemoryTokenCache()
    clock.advance(days=61)
    publisher(linkedin, shared).publish(plain_post("one"), "d-1")
    fresh = shared.load()
    stale = {**fresh, "access_token": ACCESS}  # what this worker read before the refresh
    publisher(linkedin, RacingCache(stale, fresh)).publish(plain_post("two"), "d-2")
    assert len(token_requests(linkedin)) == 1
    assert linkedin.requests[-1][2]["authorization"] == f"Bearer {fresh['access_token']}"


def test_a_new_token_in_the_config_wins_over_the_cached_one(linkedin: FakeLinkedIn) -> None:
    cache = MemoryTokenCache()
    publisher(linkedin, cache, access_token=Secret("old-token")).check()  # 401, refreshed
    assert cache.load()["access_token"] == f"{ACCESS}-1"
    linkedin.revoke(f"{ACCESS}-1")
    assert publisher(linkedin, cache).check()  # the re-authorised pair from the config
    assert len(token_requests(linkedin)) == 1


def test_a_refused_refresh_needs_a_person(linkedin: FakeLinkedIn, clock: Clock) -> None:
    clock.advance(days=61)
    pub = publisher(linkedin, refresh_token=Secret("revoked-refresh"))
    with pytest.raises(AuthError, match="invalid_request") as info:
        pub.publish(plain_post("hello"), "d-1")
    assert "revoked-refresh" not in str(info.value)


def test_a_wrong_client_secret_fails_the_refresh_without_showing_it(
    linkedin: FakeLinkedIn, clock: Clock
) -> None:
    clock.advance(days=61)
    pub = publisher(linkedin, client_secret=Secret("wrong-secret-123"))
    with pytest.raises(AuthError, match="invalid_client") as info:
        pub.publish(plain_post("hello"), "d-1")
    assert "wrong-secret-123" not in str(info.value)


def test_an_expired_token_without_refresh_needs_a_person(
    linkedin: FakeLinkedIn, clock: Clock
) -> None:
    clock.advance(days=61)
    with pytest.raises(AuthError, match="EXPIRED_ACCESS_TOKEN"):
        publisher(linkedin, refresh_token=Secret("")).publish(plain_post("hello"), "d-1")


def test_plain_http_is_refused_without_the_loopback_switch(
    linkedin: FakeLinkedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")
    with pytest.raises(PermanentError, match="https"):
        publisher(linkedin).publish(plain_post("hello"), "d-1")


def test_secrets_never_reach_logs_or_errors(
    linkedin: FakeLinkedIn, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Another module may have quieted these library loggers process-wide; open them up so
    # the test sees what they would log.
    for name in ("requests_oauthlib", "oauthlib"):
        caplog.set_level(logging.DEBUG, logger=name)
    clock.advance(days=61)
    pub = publisher(linkedin)
    pub.publish(plain_post("refreshed first"), "d-1")
    messages = []
    linkedin.fail_next("unauthorized", count=2)
    for attempt in (lambda: pub.publish(plain_post("no"), "d-2"), pub.check):
        try:
            attempt()
        except PublishError as e:
            messages.append(str(e))
    secrets = (*SECRETS, f"{ACCESS}-1")
    assert "Adding token" in caplog.text  # requests-oauthlib did log, without arguments
    assert not [s for s in secrets if s in caplog.text or any(s in m for m in messages)]
    assert "Secret('***')" in repr(pub.account)


# ----------------------------------------------------------------------- classify


def response(status: int, body: object = None, headers: Mapping[str, str] | None = None) -> Any:
    r = requests.Response()
    r.status_code = status
    r._content = b"" if body is None else json.dumps(body).encode()
    r.headers.update(headers or {})
    return r


DUPLICATE = {
    "errorDetailType": "com.linkedin.common.error.BadRequest",
    "message": "ERROR :: /commentary :: Content is a duplicate of urn:li:share:7141138937766391808",
    "errorDetails": {
        "inputErrors": [
            {"description": "Duplicate post is detected", "input": {}, "code": "DUPLICATE_POST"}
        ]
    },
    "status": 422,
}


def err(status: int, code: str, message: str, service: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    return body if service is None else {**body, "serviceErrorCode": service}


CLASSIFY_TABLE: list[tuple[int, object, type[PublishError]]] = [
    (422, DUPLICATE, AlreadyPosted),
    (422, err(422, "", "ERROR :: /commentary :: length exceeds 3000"), PermanentError),
    (401, err(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600), AuthError),
    (401, err(401, "REVOKED_ACCESS_TOKEN", "The token has been revoked", 65601), AuthError),
    (401, err(401, "EXPIRED_ACCESS_TOKEN", "The token used has expired", 65602), AuthError),
    (403, err(403, "ACCESS_DENIED", "Not enough permissions", 100), AuthError),
    (
        426,
        err(426, "NONEXISTENT_VERSION", "Requested version 20250401 is not active"),
        PermanentError,
    ),
    (400, err(400, "ILLEGAL_ARGUMENT", "Invalid author"), PermanentError),
    (404, err(404, "NOT_FOUND", "No virtual resource found"), PermanentError),
    (429, err(429, "TOO_MANY_REQUESTS", "Resource level throttle DAY limit"), RateLimited),
    (500, err(500, "", "Internal Server Error"), TransientError),
    (502, "<html>Bad Gateway</html>", TransientError),
    (504, None, TransientError),
]


@pytest.mark.parametrize(("status", "body", "expected"), CLASSIFY_TABLE)
def test_classify(status: int, body: object, expected: type[PublishError]) -> None:
    error = classify(response(status, body), secrets=SECRETS)
    assert type(error) is expected
    assert str(error).startswith(f"HTTP {status}")
    if isinstance(error, RateLimited):
        assert error.reset_at is None
    if isinstance(error, AlreadyPosted):
        assert error.remote is not None
        assert error.remote.remote_id == "urn:li:share:7141138937766391808"
        assert error.remote.remote_url.endswith("/feed/update/urn:li:share:7141138937766391808/")


def test_classify_redacts_a_secret_echoed_in_the_body() -> None:
    error = classify(response(400, err(400, "BAD", f"token {ACCESS} refused")), secrets=SECRETS)
    assert ACCESS not in str(error)
    assert "***" in str(error)


def test_a_duplicate_without_a_urn_is_already_posted_without_remote() -> None:
    body = {**DUPLICATE, "message": "Content is a duplicate"}
    error = classify(response(422, body))
    assert isinstance(error, AlreadyPosted)
    assert error.remote is None


# ------------------------------------------------------------------------- config

CONFIG = """
[[feeds]]
name = "blog"
url = "https://blog.example.com/feed.xml"
accounts = ["li"]

[accounts.li]
platform = "linkedin"
api_version = "202510"
author = "urn:li:person:782bbtaQ"
access_token = "${LI_ACCESS}"
refresh_token = "${LI_REFRESH}"
client_id = "li-client"
client_secret_file = "client-secret"
visibility = "CONNECTIONS"
"""
ENV = {"LI_ACCESS": ACCESS, "LI_REFRESH": REFRESH}


def load_config(tmp_path: Path, text: str) -> Account:
    (tmp_path / "client-secret").write_text(CLIENT_SECRET + "\n")
    path = tmp_path / "syndicate.toml"
    path.write_text(text)
    return load(path, ENV).accounts["li"]


def test_the_config_keys_load(tmp_path: Path) -> None:
    acct = load_config(tmp_path, CONFIG)
    assert acct.option("client_secret") == CLIENT_SECRET
    assert acct.option("base_url") == "https://api.linkedin.com"
    assert acct.option("token_url") == "https://www.linkedin.com/oauth/v2/accessToken"
    assert (acct.option("api_version"), acct.option("visibility")) == ("202510", "CONNECTIONS")
    assert isinstance(acct.options["refresh_token"], Secret)
    assert LinkedInPublisher(acct, timeout=5).author == MEMBER


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('api_version = "202510"\n', "", "accounts.li.api_version"),
        ('api_version = "202510"', 'api_version = "2025-10"', "accounts.li.api_version"),
        ('api_version = "202510"', 'api_version = "202513"', "accounts.li.api_version"),
        ('author = "urn:li:person:782bbtaQ"', 'author = "782bbtaQ"', "accounts.li.author"),
        ('access_token = "${LI_ACCESS}"\n', "", "accounts.li.access_token"),
        ('visibility = "CONNECTIONS"', 'visibility = "FRIENDS"', "accounts.li.visibility"),
        ("client_secret_file", "client_secrett", "accounts.li.client_secrett"),
        ('client_secret_file = "client-secret"\n', "", "refresh_token needs client_id"),
        ('author = "urn:li:person:782bbtaQ"', f'author = "{PAGE}"', "CONNECTIONS is for"),
        ('platform = "linkedin"', 'platform = "linkedin"\nbase_url = "http://x.example"', "https"),
    ],
)
def test_a_bad_or_missing_key_is_refused_by_name(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    assert old in CONFIG
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(tmp_path, CONFIG.replace(old, new))


# -------------------------------------------------------------------------- fake


def test_fake_requires_the_version_headers(linkedin: FakeLinkedIn) -> None:
    url = f"{linkedin.base_url}/rest/posts"
    auth = {"Authorization": f"Bearer {ACCESS}"}
    missing = requests.post(url, json={}, headers=auth, timeout=5)
    no_protocol = requests.post(
        url, json={}, headers={**auth, "LinkedIn-Version": VERSION}, timeout=5
    )
    assert (missing.status_code, missing.json()["code"]) == (426, "VERSION_MISSING")
    assert no_protocol.status_code == 400


def test_fake_rate_limit_is_remembered_and_early_posts_are_violations(
    linkedin: FakeLinkedIn, clock: Clock
) -> None:
    pub = publisher(linkedin)
    linkedin.fail_next("rate_limit", reset_in=60)
    for _ in range(2):
        with pytest.raises(RateLimited):
            pub.publish(plain_post("hello"), "d-1")
    assert len(linkedin.violations) == 1
    clock.advance(seconds=61)
    pub.publish(plain_post("hello"), "d-1")
    assert len(linkedin.violations) == 1


def test_fake_daily_limit_resets_at_midnight_utc(epoch: Callable[[], float], clock: Clock) -> None:
    with FakeLinkedIn(clock=epoch, daily_limit=1) as fake:
        pub = publisher(fake)
        pub.publish(plain_post("one"), "d-1")
        with pytest.raises(RateLimited):
            pub.publish(plain_post("two"), "d-2")
        clock.advance(hours=12)  # 2026-11-27 00:00 UTC
        pub.publish(plain_post("two"), "d-2")
        assert len(fake.posts) == 2


def test_fake_random_faults_are_reproducible(epoch: Callable[[], float]) -> None:
    def outcomes(seed: int) -> list[str]:
        with FakeLinkedIn(clock=epoch) as fake:
            fake.set_random_faults({"status": 0.3, "reset": 0.2}, seed=seed)
            pub = publisher(fake)
            seen = []
            for n in range(12):
                try:
                    pub.publish(plain_post(f"post {n}"), f"d-{n}")
                    seen.append("ok")
                except PublishError as e:
                    seen.append(type(e).__name__)
            return seen

    first = outcomes(7)
    assert first == outcomes(7)
    assert {"ok", "TransientError", "OutcomeUnknown"} <= set(first)


def test_fake_refuses_unknown_fault_kinds(linkedin: FakeLinkedIn) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        linkedin.fail_next("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probabilities"):
        linkedin.set_random_faults({"status": 0.8, "drop": 0.5})


def test_fake_shows_a_post_cut_at_an_unescaped_reserved_character() -> None:
    assert visible_text(f"a \\(b\\) c (d) {LINK}") == "a (b) c "
    assert visible_text(f"#Rust at {LINK}?q=a_b") == f"#Rust at {LINK}?q=a_b"
    assert visible_text("a_b") == "a"


def test_fake_reset_forgets_posts_and_requests(linkedin: FakeLinkedIn) -> None:
    publisher(linkedin).publish(plain_post(f"hello {LINK}"), "d-1")
    assert linkedin.posts_with_link(LINK) == 1
    linkedin.reset()
    assert (linkedin.posts, linkedin.requests, linkedin.violations) == ([], [], [])
