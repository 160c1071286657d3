"""The loopback fakes keep the contracts other tests rely on, checked over real HTTP."""

from __future__ import annotations

import gzip
import http.client
import re
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate

import feedparser
import pytest
import requests

from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon

TIMEOUT = (2.0, 10.0)
ISO_MICROSECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
FEED = "/feeds/posts/default"


class Clock:
    """An advanceable clock, so TTLs and Last-Modified are tested without sleeping."""

    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mastodon(clock: Clock) -> Iterator[FakeMastodon]:
    with FakeMastodon(clock=clock) as fake:
        yield fake
    assert fake.errors == []


@pytest.fixture
def textlen() -> None:
    # Creating a status counts its length with the publisher's own counter (platforms.md §11).
    pytest.importorskip("syndicate.platforms.textlen")


@pytest.fixture
def feeds(clock: Clock) -> Iterator[FeedServer]:
    with FeedServer(clock=clock) as server:
        yield server


def post(
    fake: FakeMastodon,
    text: str = "hello",
    *,
    key: str | None = None,
    token: str | None = "test-token",
    timeout: tuple[float, float] = TIMEOUT,
    **fields: str,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(
        f"{fake.base_url}/api/v1/statuses",
        data={"status": text, **fields},
        headers=headers,
        timeout=timeout,
    )


def get(fake: FakeMastodon, path: str, *, token: str | None = "test-token") -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(fake.base_url + path, headers=headers, timeout=TIMEOUT)


# ------------------------------------------------------------------ Mastodon: API


def test_instance_reports_length_configuration(mastodon: FakeMastodon) -> None:
    body = get(mastodon, "/api/v2/instance", token=None).json()

    assert body["domain"] == "social.example"
    assert body["version"] == "4.3.0"
    assert body["configuration"]["statuses"]["max_characters"] == 500
    assert body["configuration"]["statuses"]["characters_reserved_per_url"] == 23


def test_every_api_response_carries_rate_limit_headers(mastodon: FakeMastodon) -> None:
    responses = [
        get(mastodon, "/api/v2/instance"),
        get(mastodon, "/api/v1/nothing-here"),
        post(mastodon, token=None),
    ]

    assert [r.status_code for r in responses] == [200, 404, 401]
    assert [r.headers["X-RateLimit-Limit"] for r in responses] == ["300"] * 3
    assert all(ISO_MICROSECONDS.fullmatch(r.headers["X-RateLimit-Reset"]) for r in responses)
    # The first two share the token's bucket; the anonymous one is charged to the client IP.
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["299", "298", "299"]


def test_unknown_path_is_record_not_found(mastodon: FakeMastodon) -> None:
    response = get(mastodon, "/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"error": "Record not found"}


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_post_needs_the_bearer_token(mastodon: FakeMastodon, token: str | None) -> None:
    response = post(mastodon, token=token)

    assert response.status_code == 401
    assert response.json() == {"error": "The access token is invalid"}
    assert mastodon.statuses == []


def test_blank_status_is_rejected(mastodon: FakeMastodon) -> None:
    response = post(mastodon, "  \n")

    assert response.status_code == 422
    assert response.json() == {"error": "Validation failed: Text can't be blank"}
    assert mastodon.statuses == []


@pytest.mark.usefixtures("textlen")
def test_post_returns_a_status_and_stores_the_raw_text(mastodon: FakeMastodon) -> None:
    text = "Fish & <chips>\nsecond line\n\nnew paragraph"

    response = post(mastodon, text, key="k-1", visibility="unlisted", language="en")

    assert response.status_code == 200
    status = response.json()
    assert isinstance(status["id"], str)
    assert status["url"] == f"https://social.example/@writer/{status['id']}"
    assert status["uri"] == f"https://social.example/users/writer/statuses/{status['id']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", status["created_at"])
    assert status["content"] == (
        "<p>Fish &amp; &lt;chips&gt;<br />second line</p><p>new paragraph</p>"
    )
    assert (status["visibility"], status["language"], status["spoiler_text"]) == (
        "unlisted",
        "en",
        "",
    )
    assert status["account"]["id"] == "1"
    assert status["account"]["acct"] == "writer"
    assert status["account"]["url"] == "https://social.example/@writer"
    assert status["card"] is None
    [stored] = mastodon.statuses
    assert (stored["id"], stored["text"], stored["idempotency_key"]) == (status["id"], text, "k-1")


@pytest.mark.usefixtures("textlen")
def test_json_bodies_are_accepted(mastodon: FakeMastodon) -> None:
    response = requests.post(
        f"{mastodon.base_url}/api/v1/statuses",
        json={"status": "from json", "visibility": "private", "spoiler_text": "cw"},
        headers={"Authorization": "Bearer test-token"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 200
    assert response.json()["spoiler_text"] == "cw"
    assert response.json()["sensitive"] is True  # a content warning implies sensitive
    assert mastodon.statuses[0]["visibility"] == "private"


@pytest.mark.usefixtures("textlen")
def test_urls_are_linked_with_the_full_url_in_href(mastodon: FakeMastodon) -> None:
    url = "https://blog.example.com/2026/01/a-rather-long-post-title.html?a=1&b=2"

    content = post(mastodon, f"New post: {url}.").json()["content"]

    assert 'href="https://blog.example.com/2026/01/a-rather-long-post-title.html?a=1&amp;b=2"' in (
        content
    )
    assert content.endswith("</a>.</p>")


@pytest.mark.usefixtures("textlen")
def test_ids_are_increasing_strings(mastodon: FakeMastodon) -> None:
    ids = [post(mastodon, f"post {n}").json()["id"] for n in range(3)]

    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert len(set(ids)) == 3


@pytest.mark.usefixtures("textlen")
def test_idempotency_key_replays_the_original_status(mastodon: FakeMastodon) -> None:
    first = post(mastodon, "once", key="entry-1:acct-1")
    again = post(mastodon, "once", key="entry-1:acct-1")
    other = post(mastodon, "once", key="entry-2:acct-1")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert other.json()["id"] != first.json()["id"]
    assert mastodon.posts_for_key("entry-1:acct-1") == 1
    assert len(mastodon.statuses) == 2


@pytest.mark.usefixtures("textlen")
def test_concurrent_posts_with_one_key_create_one_status(mastodon: FakeMastodon) -> None:
    barrier = threading.Barrier(8)
    ids: list[str] = []

    def race() -> None:
        barrier.wait()
        ids.append(post(mastodon, "raced", key="same").json()["id"])

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(ids) == 8
    assert len(set(ids)) == 1
    assert mastodon.posts_for_key("same") == 1


@pytest.mark.usefixtures("textlen")
def test_idempotency_key_expires_after_the_ttl(mastodon: FakeMastodon, clock: Clock) -> None:
    first = post(mastodon, "once", key="k").json()
    clock.advance(3599)
    within = post(mastodon, "once", key="k").json()
    clock.advance(1)
    after = post(mastodon, "once", key="k").json()

    assert within["id"] == first["id"]
    assert after["id"] != first["id"]
    assert mastodon.posts_for_key("k") == 2


@pytest.mark.usefixtures("textlen")
def test_over_length_is_rejected_with_the_instance_limit(clock: Clock) -> None:
    with FakeMastodon(max_characters=10, clock=clock) as fake:
        fits = post(fake, "0123456789")
        too_long = post(fake, "0123456789a")
        with_warning = post(fake, "01234", spoiler_text="cw: 12")

    assert fits.status_code == 200
    assert too_long.status_code == 422
    assert too_long.json() == {"error": "Validation failed: Text character limit of 10 exceeded"}
    assert with_warning.status_code == 422  # the content warning counts toward the limit
    assert len(fake.statuses) == 1


@pytest.mark.usefixtures("textlen")
def test_account_endpoints_support_reconciliation(mastodon: FakeMastodon) -> None:
    ids = [post(mastodon, f"post {n}").json()["id"] for n in range(3)]
    post(mastodon, "followers only", visibility="private")

    me = get(mastodon, "/api/v1/accounts/verify_credentials")
    mine = get(mastodon, "/api/v1/accounts/1/statuses?limit=2&exclude_replies=true").json()
    public = get(mastodon, "/api/v1/accounts/1/statuses", token=None).json()

    assert (me.json()["id"], me.json()["username"]) == ("1", "writer")
    assert [s["content"] for s in mine] == ["<p>followers only</p>", "<p>post 2</p>"]
    assert [s["id"] for s in public] == ids[::-1]
    assert get(mastodon, "/api/v1/accounts/verify_credentials", token=None).status_code == 401


def test_the_request_quota_runs_out(clock: Clock) -> None:
    with FakeMastodon(rate_limit=2, clock=clock) as fake:
        codes = [get(fake, "/api/v2/instance") for _ in range(3)]

    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[-1].json() == {"error": "Too many requests"}
    assert codes[-1].headers["X-RateLimit-Remaining"] == "0"


def test_requests_are_recorded(mastodon: FakeMastodon) -> None:
    post(mastodon, "", key="k")

    [(method, path, headers, body)] = mastodon.requests
    assert (method, path) == ("POST", "/api/v1/statuses")
    assert headers["idempotency-key"] == "k"
    assert body == b"status="


# ----------------------------------------------------------------- Mastodon: faults


def test_faults_are_consumed_in_order_by_status_posts_only(mastodon: FakeMastodon) -> None:
    mastodon.fail_next("status", status=503, count=2)
    mastodon.fail_next("unauthorized")

    unrelated = get(mastodon, "/api/v2/instance")
    codes = [post(mastodon, "").status_code for _ in range(4)]

    assert unrelated.status_code == 200
    assert codes == [503, 503, 401, 422]  # the fourth is answered normally
    assert mastodon.statuses == []


def test_status_fault_answers_an_error_body(mastodon: FakeMastodon) -> None:
    mastodon.fail_next("status", status=502)

    response = post(mastodon)

    assert response.status_code == 502
    assert response.json() == {"error": "Bad Gateway"}
    assert response.headers["X-RateLimit-Limit"] == "300"


def test_rate_limit_fault_names_the_reset_time(mastodon: FakeMastodon, clock: Clock) -> None:
    mastodon.fail_next("rate_limit", reset_in=120)

    response = post(mastodon)

    assert response.status_code == 429
    assert response.json() == {"error": "Too many requests"}
    assert response.headers["X-RateLimit-Remaining"] == "0"
    reset = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(clock() + 120))
    assert response.headers["X-RateLimit-Reset"] == reset
    assert mastodon.statuses == []


def test_unauthorized_fault_rejects_a_valid_token(mastodon: FakeMastodon) -> None:
    mastodon.fail_next("unauthorized")

    response = post(mastodon)

    assert response.status_code == 401
    assert response.json() == {"error": "The access token is invalid"}


@pytest.mark.usefixtures("textlen")
def test_hang_commits_then_times_the_client_out(mastodon: FakeMastodon) -> None:
    mastodon.fail_next("hang", hang_seconds=5)

    with pytest.raises(requests.ReadTimeout):
        post(mastodon, "slow", key="k", timeout=(2.0, 0.3))
    replay = post(mastodon, "slow", key="k")

    assert [s["text"] for s in mastodon.statuses] == ["slow"]
    assert replay.status_code == 200  # a keyed retry finds the committed status
    assert replay.json()["id"] == mastodon.statuses[0]["id"]


@pytest.mark.usefixtures("textlen")
def test_drop_commits_then_closes_without_answer(mastodon: FakeMastodon) -> None:
    mastodon.fail_next("drop")

    with pytest.raises(requests.ConnectionError):
        post(mastodon, "dropped", key="k")

    assert [s["text"] for s in mastodon.statuses] == ["dropped"]
    assert mastodon.posts_for_key("k") == 1


def test_reset_closes_without_storing(mastodon: FakeMastodon) -> None:
    mastodon.fail_next("reset")

    with pytest.raises(requests.ConnectionError):
        post(mastodon, "lost")

    assert mastodon.statuses == []
    assert len(mastodon.requests) == 1  # it did reach the server


def test_unknown_fault_kind_is_refused(mastodon: FakeMastodon) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        mastodon.fail_next("explode")  # type: ignore[arg-type]


def test_stop_ends_a_hanging_request_and_idle_connections(clock: Clock) -> None:
    fake = FakeMastodon(clock=clock).start()
    idle = http.client.HTTPConnection("127.0.0.1", int(fake.base_url.rsplit(":", 1)[1]))
    idle.request("GET", "/api/v2/instance")
    idle.getresponse().read()  # leaves a parked keep-alive connection behind
    fake.fail_next("hang", hang_seconds=60)
    outcome: list[BaseException | int] = []

    def hanging_post() -> None:
        try:
            outcome.append(post(fake, "", timeout=(2.0, 60.0)).status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    client = threading.Thread(target=hanging_post, daemon=True)
    client.start()
    _wait_for(lambda: len(fake.requests) == 2)
    fake.stop()
    client.join(timeout=15)

    assert not client.is_alive()
    assert len(outcome) == 1  # answered or cut off at stop, not after the 60 s hang
    idle.close()


def test_mastodon_keep_alive_survives_every_kind_of_answer(mastodon: FakeMastodon) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", int(mastodon.base_url.rsplit(":", 1)[1]))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        statuses = [
            _exchange(conn, "GET", "/api/v2/instance"),
            _exchange(conn, "POST", "/api/v1/statuses", b"status=x", form),
            _exchange(conn, "GET", "/nowhere"),
            _exchange(conn, "HEAD", "/api/v2/instance"),
            _exchange(conn, "GET", "/api/v2/instance"),
        ]
    finally:
        conn.close()

    assert statuses == [200, 401, 404, 200, 200]


# -------------------------------------------------------------------- feed server


def test_feed_is_served_then_not_modified_by_etag(feeds: FeedServer) -> None:
    body = atom_feed([sample_entry(1)])
    feeds.publish(FEED, body)

    first = requests.get(feeds.url_for(FEED), timeout=TIMEOUT)
    second = requests.get(
        feeds.url_for(FEED), headers={"If-None-Match": first.headers["ETag"]}, timeout=TIMEOUT
    )

    assert first.status_code == 200
    assert first.content == body
    assert first.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert first.headers["Content-Length"] == str(len(body))
    assert re.fullmatch(r'"[0-9a-f]{16}"', first.headers["ETag"])
    assert first.headers["Last-Modified"] == formatdate(int(feeds.clock()), usegmt=True)
    assert second.status_code == 304
    assert second.content == b""
    assert second.headers["ETag"] == first.headers["ETag"]
    assert feeds.hits(FEED) == 2
    assert feeds.last_request_headers(FEED)["if-none-match"] == first.headers["ETag"]


def test_if_modified_since_compares_with_last_modified(feeds: FeedServer, clock: Clock) -> None:
    feeds.publish(FEED, b"<feed/>")
    last_modified = formatdate(clock(), usegmt=True)
    earlier = formatdate(clock() - 1, usegmt=True)

    assert _status(feeds, FEED, {"If-Modified-Since": last_modified}) == 304
    assert _status(feeds, FEED, {"If-Modified-Since": earlier}) == 200
    assert _status(feeds, FEED, {"If-Modified-Since": "not a date"}) == 200


def test_if_none_match_takes_precedence(feeds: FeedServer, clock: Clock) -> None:
    feeds.publish(FEED, b"<feed/>")
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": formatdate(clock(), usegmt=True)}

    assert _status(feeds, FEED, headers) == 200


def test_republishing_changes_the_validators(feeds: FeedServer, clock: Clock) -> None:
    feeds.publish(FEED, atom_feed([sample_entry(1)]))
    old = requests.get(feeds.url_for(FEED), timeout=TIMEOUT)
    clock.advance(60)
    feeds.publish(FEED, atom_feed([sample_entry(2), sample_entry(1)]))

    new = requests.get(
        feeds.url_for(FEED),
        headers={"If-None-Match": old.headers["ETag"]},
        timeout=TIMEOUT,
    )

    assert new.status_code == 200
    assert new.headers["ETag"] != old.headers["ETag"]
    assert new.headers["Last-Modified"] != old.headers["Last-Modified"]


def test_ignore_conditional_always_sends_the_body(feeds: FeedServer) -> None:
    feeds.publish(FEED, b"<feed/>")
    feeds.ignore_conditional = True

    assert _status(feeds, FEED, {"If-None-Match": feeds.etag(FEED)}) == 200


def test_redirect_points_at_the_new_path(feeds: FeedServer) -> None:
    feeds.publish("/new.xml", b"<feed/>")
    feeds.redirect("/old.xml", "/new.xml")

    raw = requests.get(feeds.url_for("/old.xml"), allow_redirects=False, timeout=TIMEOUT)
    followed = requests.get(feeds.url_for("/old.xml"), timeout=TIMEOUT)

    assert raw.status_code == 301
    assert raw.headers["Location"] == feeds.url_for("/new.xml")
    assert followed.status_code == 200
    assert [r.status_code for r in followed.history] == [301]
    assert (feeds.hits("/old.xml"), feeds.hits("/new.xml")) == (2, 1)


def test_fail_next_answers_gone(feeds: FeedServer) -> None:
    feeds.publish(FEED, b"<feed/>")
    feeds.fail_next(FEED, 410)

    assert _status(feeds, FEED) == 410
    assert _status(feeds, FEED) == 200


def test_fail_next_answers_429_with_retry_after(feeds: FeedServer) -> None:
    feeds.publish(FEED, b"<feed/>")
    feeds.fail_next(FEED, 429, {"Retry-After": "120"}, b"slow down", count=2)

    limited = [requests.get(feeds.url_for(FEED), timeout=TIMEOUT) for _ in range(2)]

    assert [r.status_code for r in limited] == [429, 429]
    assert limited[0].headers["Retry-After"] == "120"
    assert limited[0].content == b"slow down"
    assert _status(feeds, FEED) == 200


def test_removed_and_unknown_paths_are_not_found(feeds: FeedServer) -> None:
    feeds.publish(FEED, b"<feed/>")
    feeds.remove(FEED)

    assert _status(feeds, FEED) == 404
    assert _status(feeds, "/never-published") == 404


def test_gzip_is_used_when_accepted(feeds: FeedServer) -> None:
    body = atom_feed([sample_entry(n) for n in range(20)])
    feeds.publish(FEED, body)
    feeds.gzip_responses = True

    decoded = requests.get(feeds.url_for(FEED), timeout=TIMEOUT)  # requests accepts gzip
    raw = _raw_get(feeds, FEED, {"Accept-Encoding": "gzip"})
    plain = _raw_get(feeds, FEED, {})
    revalidated = _status(feeds, FEED, {"If-None-Match": decoded.headers["ETag"]})

    assert decoded.content == body
    assert decoded.headers["Content-Encoding"] == "gzip"
    assert decoded.headers["ETag"] == f"W/{feeds.etag(FEED)}"  # weakened, as nginx does
    assert gzip.decompress(raw.body) == body
    assert raw.headers["Content-Length"] == str(len(raw.body)) != str(len(body))
    assert plain.body == body
    assert plain.headers.get("Content-Encoding") is None
    assert revalidated == 304


def test_head_sends_headers_only(feeds: FeedServer) -> None:
    feeds.publish(FEED, b"<feed/>")

    response = requests.head(feeds.url_for(FEED), timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Length"] == "7"
    assert response.content == b""


def test_last_request_headers_needs_a_request(feeds: FeedServer) -> None:
    with pytest.raises(KeyError):
        feeds.last_request_headers(FEED)


def test_feed_keep_alive_survives_every_kind_of_answer(feeds: FeedServer) -> None:
    feeds.publish(FEED, b"<feed/>")
    etag = feeds.etag(FEED)
    conn = http.client.HTTPConnection("127.0.0.1", int(feeds.base_url.rsplit(":", 1)[1]))
    try:
        statuses = [
            _exchange(conn, "GET", FEED),
            _exchange(conn, "GET", FEED, headers={"If-None-Match": etag}),
            _exchange(conn, "GET", "/missing"),
            _exchange(conn, "HEAD", FEED),
            _exchange(conn, "POST", FEED, b"ignored"),
            _exchange(conn, "GET", FEED),
        ]
    finally:
        conn.close()

    assert statuses == [200, 304, 404, 200, 405, 200]


# ------------------------------------------------------------------------- atom


def test_atom_feed_escapes_and_round_trips_through_feedparser() -> None:
    entry = sample_entry(
        7,
        title='Fish & "chips" <b>',
        content_html="<p>a &amp; b < c</p>",
        updated="2026-01-02T00:00:00Z",
        categories=["A&B", "Testing"],
    )

    parsed = feedparser.parse(atom_feed([entry], title="My <blog>"))

    assert not parsed.bozo
    assert parsed.feed.title == "My <blog>"
    [item] = parsed.entries
    assert item.id == entry["id"]
    assert item.title == 'Fish & "chips" <b>'
    assert item.link == entry["link"]
    assert item.content[0].value == "<p>a &amp; b < c</p>"
    assert item.published == entry["published"]
    assert item.updated == "2026-01-02T00:00:00Z"
    assert [t.term for t in item.tags] == ["A&B", "Testing"]


# ---------------------------------------------------------------------- helpers


def _status(feeds: FeedServer, path: str, headers: dict[str, str] | None = None) -> int:
    return requests.get(feeds.url_for(path), headers=headers, timeout=TIMEOUT).status_code


class _Raw:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.headers = response.headers
        self.body = response.read()


def _raw_get(feeds: FeedServer, path: str, headers: dict[str, str]) -> _Raw:
    """GET without any client-side decoding, to see the bytes on the wire."""
    conn = http.client.HTTPConnection("127.0.0.1", int(feeds.base_url.rsplit(":", 1)[1]))
    try:
        conn.request("GET", path, headers=headers)
        return _Raw(conn.getresponse())
    finally:
        conn.close()


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    # http.client reopens silently after a close; a keep-alive break would show up here.
    assert not response.will_close
    return response.status


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
