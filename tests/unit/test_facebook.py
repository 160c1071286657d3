"""The Facebook Pages publisher against the fake Graph API on 127.0.0.1, over real HTTP."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
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
from syndicate.model import Account, Post, PublishResult, Secret
from syndicate.platforms.facebook import FacebookPublisher, classify
from syndicate.settings import load
from tests.conftest import Clock
from tests.fakes.facebook import FakeFacebook
from tests.fakes.graph import FaultKind
from tests.unit.test_golden_posts import load_entry

TOKEN = "EAAGfbPageToken5f3e9c"
LINK = "https://blog.example.com/2026/11/a-walk-along-the-river.html"
TEXT = f"A walk along the river\n\nWhat the water taught me.\n\n{LINK}"


def epoch(clock: Clock) -> Callable[[], float]:
    """The fake's clock: the test's, in epoch seconds, so resets share one timeline."""

    def now() -> float:
        return clock.now.timestamp()

    return now


@pytest.fixture
def facebook(clock: Clock) -> Iterator[FakeFacebook]:
    with FakeFacebook(token=TOKEN, clock=epoch(clock)) as fake:
        yield fake


def publisher(fake: FakeFacebook, *, timeout: float = 5.0, **options: Any) -> FacebookPublisher:
    values: dict[str, Any] = {
        "base_url": fake.base_url,
        "api_version": "v25.0",
        "page_id": fake.page_id,
        "page_access_token": Secret(TOKEN),
        **options,
    }
    return FacebookPublisher(Account("page", "facebook", options=values), timeout=timeout)


def post(text: str = TEXT, thread: tuple[str, ...] = ()) -> Post:
    return Post("facebook", text, len(text), 63206, thread=thread)


# --- publishing


def test_a_rendered_summary_is_posted_with_its_link_and_a_public_url(
    facebook: FakeFacebook,
) -> None:
    summary, _ = load_entry("seed")
    page = publisher(facebook)
    rendered = page.render(summary)

    result = page.publish(rendered, "delivery-1")

    [stored] = facebook.posts
    assert stored["text"] == rendered.text
    assert stored["link"] == summary.link
    assert result == PublishResult(
        stored["id"], f"https://www.facebook.com/{facebook.page_id}/posts/{stored['id'][16:]}"
    )
    assert result.remote_url == stored["permalink_url"]
    assert facebook.errors == []


def test_the_token_travels_in_the_form_body_of_a_post_not_in_its_url(
    facebook: FakeFacebook,
) -> None:
    publisher(facebook).publish(post(), "k")

    [(method, target, headers, body)] = facebook.requests
    assert (method, target) == ("POST", f"/v25.0/{facebook.page_id}/feed")
    assert TOKEN not in target and TOKEN.encode() in body
    assert headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_thread_posts_only_its_first_text(facebook: FakeFacebook) -> None:
    head = f"Part one of the story. {LINK}"
    publisher(facebook).publish(post(head, thread=(head, "Part two.")), "k")

    assert [p["text"] for p in facebook.posts] == [head]


def test_a_message_over_the_limit_is_refused_permanently(facebook: FakeFacebook) -> None:
    with pytest.raises(PermanentError, match="too long"):
        publisher(facebook).publish(post("word " * 13000 + LINK), "k")
    assert facebook.posts == []


def test_an_identical_message_is_a_duplicate_that_names_the_first_post(
    facebook: FakeFacebook,
) -> None:
    page = publisher(facebook)
    first = page.publish(post(), "k")

    with pytest.raises(AlreadyPosted) as info:
        page.publish(post(), "k")

    assert info.value.remote == first
    assert "506" in str(info.value)
    assert facebook.posts_with_link(LINK) == 1


@pytest.mark.parametrize(
    ("kind", "options", "error", "stored"),
    [
        ("status", {"status": 503}, TransientError, 0),
        ("status", {"status": 500}, TransientError, 0),
        ("status", {"status": 502}, OutcomeUnknown, 0),
        ("unauthorized", {}, AuthError, 0),
        ("reset", {}, OutcomeUnknown, 0),
        ("drop", {}, OutcomeUnknown, 1),
        ("hang", {"hang_seconds": 5.0}, OutcomeUnknown, 1),
    ],
)
def test_each_fault_is_classified(
    facebook: FakeFacebook,
    kind: FaultKind,
    options: dict[str, Any],
    error: type[PublishError],
    stored: int,
) -> None:
    facebook.fail_next(kind, **options)

    with pytest.raises(error):
        publisher(facebook, timeout=0.5).publish(post(), "k")

    assert len(facebook.posts) == stored


def test_a_rate_limit_waits_for_the_minutes_the_usage_header_names(
    facebook: FakeFacebook, clock: Clock
) -> None:
    facebook.fail_next("rate_limit", reset_in=600)
    page = publisher(facebook)

    with pytest.raises(RateLimited) as info:
        page.publish(post(), "k")
    assert info.value.reset_at == clock.now + timedelta(minutes=10)

    clock.advance(minutes=5)
    with pytest.raises(RateLimited):
        page.publish(post(), "k")  # too early: the fake records it
    assert len(facebook.violations) == 1

    clock.advance(minutes=5)
    page.publish(post(), "k")
    assert facebook.posts_with_link(LINK) == 1


# --- reconciliation


@pytest.mark.parametrize("kind", ["drop", "hang"])
def test_after_a_lost_answer_the_post_is_found_and_not_sent_again(
    facebook: FakeFacebook, kind: FaultKind
) -> None:
    facebook.fail_next(kind, hang_seconds=5.0)
    page = publisher(facebook, timeout=0.5)
    with pytest.raises(OutcomeUnknown):
        page.publish(post(), "k")

    found = page.find_existing("k", post())

    [stored] = facebook.posts
    assert found == PublishResult(stored["id"], stored["permalink_url"])
    assert facebook.posts_with_link(LINK) == 1


def test_find_existing_is_none_when_the_page_never_got_the_post(facebook: FakeFacebook) -> None:
    page = publisher(facebook)
    page.publish(post(f"Another entry: {LINK}-part-two"), "other")

    assert page.find_existing("k", post()) is None


def test_find_existing_matches_the_link_of_the_preview_card(facebook: FakeFacebook) -> None:
    # A post whose message lost the URL still carries it as the attachment's unshimmed_url.
    answer = requests.post(
        f"{facebook.base_url}/v25.0/{facebook.page_id}/feed",
        data={"message": "A walk along the river", "link": LINK, "access_token": TOKEN},
        timeout=5,
    )
    post_id = answer.json()["id"]

    found = publisher(facebook).find_existing("k", post())

    assert found is not None and found.remote_id == post_id


def test_find_existing_cannot_tell_when_the_listing_fails(facebook: FakeFacebook) -> None:
    facebook.fail_next_read("status", status=502)

    with pytest.raises(OutcomeUnknown):
        publisher(facebook).find_existing("k", post())


# --- credentials


def test_check_names_the_page(facebook: FakeFacebook) -> None:
    assert publisher(facebook).check() == "Notes from the Road on Facebook"


def test_a_wrong_token_is_an_auth_error(facebook: FakeFacebook) -> None:
    with pytest.raises(AuthError, match="190"):
        publisher(facebook, page_access_token=Secret("EAAGwrong")).check()


def test_an_expired_token_is_an_auth_error_naming_the_subcode(facebook: FakeFacebook) -> None:
    facebook.token_expired = True
    with pytest.raises(AuthError, match="190/463"):
        publisher(facebook).publish(post(), "k")


def test_the_appsecret_proof_is_sent_when_the_app_requires_it(clock: Clock) -> None:
    with FakeFacebook(token=TOKEN, app_secret="app-secret-1") as fake:
        publisher(fake, app_secret=Secret("app-secret-1")).publish(post(), "k")
        with pytest.raises(PermanentError, match="appsecret_proof"):
            publisher(fake, app_secret=Secret("another")).check()
        assert len(fake.posts) == 1


def test_secrets_stay_out_of_errors_logs_and_tracebacks(
    facebook: FakeFacebook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = publisher(facebook, timeout=0.5)
    page.check()
    page.publish(post(), "k")
    failures: list[BaseException] = []
    for kind in ("unauthorized", "reset", "drop"):
        facebook.fail_next(kind)
        with pytest.raises(PublishError) as info:
            page.publish(post(f"{kind} {LINK}"), kind)
        failures.append(info.value)
    url = facebook.base_url
    facebook.stop()  # nothing listens: the GET's URL, token included, is in the requests error
    with pytest.raises(TransientError) as refused:
        publisher_at(url).check()
    failures.append(refused.value)

    assert "urllib3" in caplog.text  # the request lines were logged, redacted
    assert TOKEN not in caplog.text
    for failure in failures:
        assert TOKEN not in "".join(traceback.format_exception(failure))
    assert "access_token=***" in "".join(traceback.format_exception(refused.value))


def publisher_at(url: str) -> FacebookPublisher:
    options: dict[str, str | Secret] = {
        "base_url": url,
        "page_id": "1",
        "page_access_token": Secret(TOKEN),
    }
    return FacebookPublisher(Account("page", "facebook", options=options), timeout=1.0)


# --- classification


def response(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    """A response as recorded from the Graph API: status, headers and body."""
    answer = requests.Response()
    answer.status_code = status
    answer._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    answer.headers.update({"Date": "Thu, 26 Nov 2026 12:00:00 GMT", **(headers or {})})
    return answer


def envelope(code: int, message: str, **extra: object) -> dict[str, object]:
    return {
        "error": {"message": message, "type": "OAuthException", "code": code, **extra}
        | {"fbtrace_id": "AbCdEf123"}
    }


NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
APP = {"X-App-Usage": '{"call_count":100,"total_cputime":20,"total_time":30}'}
BUC = {
    "X-Business-Use-Case-Usage": json.dumps(
        {"108": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    )
}
PAGE = {"X-Page-Usage": '{"call_count":100,"estimated_time_to_regain_access":15}'}
NONE: dict[str, str] = {}
GATEWAY = "<html><body>Bad Gateway</body></html>"

# (case, HTTP status, recorded body, headers, expected class, minutes to the reset)
CLASSIFY_CASES: list[tuple[str, int, object, dict[str, str], type[PublishError], int | None]] = [
    ("app limit", 403, envelope(4, "(#4) App limit", is_transient=True), APP, RateLimited, None),
    ("user limit", 400, envelope(17, "(#17) User request limit reached"), BUC, RateLimited, 7),
    ("page limit", 400, envelope(32, "(#32) Page request limit reached"), PAGE, RateLimited, 15),
    ("call rate", 400, envelope(613, "Calls to this api have exceeded"), NONE, RateLimited, None),
    ("page throttle", 400, envelope(80001, "Too many calls to this Page"), BUC, RateLimited, 7),
    ("duplicate", 400, envelope(506, "(#506) Duplicate status message"), NONE, AlreadyPosted, None),
    ("expired", 400, envelope(190, "Expired", error_subcode=463), NONE, AuthError, None),
    ("password", 401, envelope(190, "Invalidated", error_subcode=460), NONE, AuthError, None),
    ("permission", 403, envelope(200, "(#200) Permissions error"), NONE, AuthError, None),
    ("no capability", 403, envelope(10, "(#10) Permission denied"), NONE, AuthError, None),
    ("blocked", 400, envelope(368, "Temporarily blocked"), NONE, AuthError, None),
    ("unknown", 500, envelope(1, "An unknown error occurred"), NONE, TransientError, None),
    (
        "service",
        503,
        envelope(2, "Service unavailable", is_transient=True),
        NONE,
        TransientError,
        None,
    ),
    ("flagged", 400, envelope(9000, "Try again", is_transient=True), NONE, TransientError, None),
    ("parameter", 400, envelope(100, "(#100) Invalid parameter"), NONE, PermanentError, None),
    ("link scrape", 400, envelope(1609005, "Error posting link"), NONE, PermanentError, None),
    ("gateway 502", 502, GATEWAY, NONE, OutcomeUnknown, None),
    ("gateway 504", 504, "", NONE, OutcomeUnknown, None),
    ("bare 503", 503, "Service Unavailable", NONE, TransientError, None),
    ("bare 404", 404, "Not Found", NONE, PermanentError, None),
    ("bare 429", 429, "Too Many Requests", NONE, RateLimited, None),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "minutes"),
    [case[1:] for case in CLASSIFY_CASES],
    ids=[case[0] for case in CLASSIFY_CASES],
)
def test_classify_recorded_responses(
    status: int,
    body: object,
    headers: dict[str, str],
    error: type[PublishError],
    minutes: int | None,
) -> None:
    classified = classify(response(status, body, headers))

    assert type(classified) is error
    if isinstance(classified, RateLimited):
        expected = None if minutes is None else NOON + timedelta(minutes=minutes)
        assert classified.reset_at == expected
    if isinstance(classified, AlreadyPosted):
        assert classified.remote is None


def test_classify_redacts_a_token_the_body_echoes() -> None:
    body = envelope(100, f"bad request /feed?access_token={TOKEN}&x=1")
    classified = classify(response(400, body), secrets=(TOKEN,))
    assert TOKEN not in str(classified)
    assert "code 100" in str(classified) and "AbCdEf123" in str(classified)


# --- settings

CONFIG = """
[[feeds]]
name = "blog"
url = "https://blog.example.com/feeds/posts/default"
accounts = ["page"]

[accounts.page]
platform = "facebook"
page_id = "108000000000001"
page_access_token = "${FB_PAGE_TOKEN}"
"""


def test_a_facebook_account_loads_with_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "syndicate.toml"
    path.write_text(CONFIG)

    account = load(path, {"FB_PAGE_TOKEN": TOKEN}).accounts["page"]

    assert account.option("base_url") == "https://graph.facebook.com"
    assert account.option("api_version") == "v25.0"
    assert account.option("page_access_token") == TOKEN
    assert TOKEN not in repr(account)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('page_id = "108000000000001"\n', ""), "accounts.page.page_id"),
        (('page_id = "108000000000001"', 'page_id = "my-page"'), "accounts.page.page_id"),
        (("platform", 'api_version = "25"\nplatform'), "accounts.page.api_version"),
        (("platform", 'base_url = "graph.facebook.com"\nplatform'), "accounts.page.base_url"),
        (("platform", 'page_tokn = "x"\nplatform'), "accounts.page.page_tokn"),
    ],
)
def test_a_bad_or_missing_key_is_refused_by_name(
    tmp_path: Path, change: tuple[str, str], key: str
) -> None:
    path = tmp_path / "syndicate.toml"
    path.write_text(CONFIG.replace(*change))

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(path, {"FB_PAGE_TOKEN": TOKEN})


# --- the fake itself (the Graph base is shared with FakeThreads)


def test_the_fake_answers_errors_in_the_graph_envelope_with_usage_headers(
    facebook: FakeFacebook,
) -> None:
    url = f"{facebook.base_url}/v25.0/{facebook.page_id}/feed"
    answer = requests.post(url, data={"message": "hi", "access_token": "wrong"}, timeout=5)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "code", "is_transient", "fbtrace_id"}
    assert (error["type"], error["code"], error["is_transient"]) == ("OAuthException", 190, False)
    assert "invalid_token" in answer.headers["WWW-Authenticate"]
    fine = requests.get(
        f"{facebook.base_url}/v25.0/{facebook.page_id}",
        params={"fields": "name", "access_token": TOKEN},
        timeout=5,
    )
    usage = json.loads(fine.headers["X-Business-Use-Case-Usage"])[facebook.page_id][0]
    assert usage["type"] == "pages" and usage["estimated_time_to_regain_access"] == 0
    assert fine.json() == {"id": facebook.page_id, "name": "Notes from the Road"}


def test_the_hourly_call_quota_runs_out_and_says_when_it_returns(clock: Clock) -> None:
    clock.now = clock.now.replace(minute=50)
    with FakeFacebook(token=TOKEN, call_limit=2, clock=epoch(clock)) as fake:
        page = publisher(fake)
        page.check()
        page.check()
        with pytest.raises(RateLimited) as info:
            page.check()
        assert info.value.reset_at == clock.now.replace(minute=0) + timedelta(hours=1)


def test_random_faults_are_reproducible_from_the_seed(clock: Clock) -> None:
    outcomes: list[list[str]] = []
    for _ in range(2):
        with FakeFacebook(token=TOKEN, clock=epoch(clock)) as fake:
            fake.set_random_faults({"status": 0.3, "reset": 0.2}, seed=7)
            page, seen = publisher(fake), []
            for n in range(12):
                try:
                    page.publish(post(f"post {n} {LINK}/{n}"), str(n))
                    seen.append("ok")
                except PublishError as e:
                    seen.append(type(e).__name__)
            outcomes.append(seen)
            assert sum(fake.faults_injected.values()) == 12 - seen.count("ok")
            assert fake.errors == []
    assert outcomes[0] == outcomes[1]
    assert {"ok", "TransientError", "OutcomeUnknown"} <= set(outcomes[0])


@pytest.mark.parametrize("rates", [{"typo": 0.1}, {"status": 0.7, "drop": 0.5}, {"status": -0.1}])
def test_bad_random_fault_rates_are_refused(
    facebook: FakeFacebook, rates: dict[str, float]
) -> None:
    with pytest.raises(ValueError, match=r"unknown fault kinds|bad rates"):
        facebook.set_random_faults(rates)


def test_an_unknown_fault_kind_is_refused(facebook: FakeFacebook) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        facebook.fail_next("explode")  # type: ignore[arg-type]


def test_reset_forgets_posts_and_faults(facebook: FakeFacebook) -> None:
    page = publisher(facebook)
    page.publish(post(), "k")
    facebook.fail_next("status", count=3)

    facebook.reset()

    assert facebook.posts == [] and facebook.requests == []
    page.publish(post(), "k")
    assert facebook.posts_with_link(LINK) == 1
