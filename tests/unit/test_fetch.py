"""The fetcher over real HTTP on 127.0.0.1, and its pure header decisions on plain data.

Refused addresses are literal IPs: they are refused before any lookup or connection, so no
packet ever leaves the loopback interface."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.errors import FeedGone, FetchError
from syndicate.feeds.fetch import Fetcher, HTTPStatusError, RateLimitedFetch, redact_url
from syndicate.feeds.freshness import MAX_RETRY_AFTER, freshness_lifetime, retry_after
from tests.conftest import Clock
from tests.fakes.feedserver import FeedServer, entity_bomb

BODY = b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>t</title></feed>"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def server(clock: Clock) -> Iterator[FeedServer]:
    # The fake's Date and Last-Modified follow the test clock: Retry-After and Expires are
    # measured against Date, so every expected instant below is exact.
    with FeedServer(clock=lambda: clock().timestamp()) as s:
        s.publish("/feed.atom", BODY)
        yield s


def fetcher(
    max_bytes: int = 1_000_000,
    timeout: float = 2.0,
    clock: Clock | None = None,
    block_private: bool = False,
) -> Fetcher:
    return Fetcher(
        timeout=timeout,
        max_bytes=max_bytes,
        user_agent="syndicate-test",
        block_private_networks=block_private,
        now=clock or Clock(NOW),
    )


# ------------------------------------------------------------- caching and redirects


def test_conditional_get_turns_an_unchanged_feed_into_not_modified(server: FeedServer) -> None:
    first = fetcher().fetch(server.url_for("/feed.atom"))
    assert first.body == BODY and first.etag
    second = fetcher().fetch(
        server.url_for("/feed.atom"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.not_modified and second.body == b""
    assert second.etag == first.etag  # a 304 restates its validators
    headers = server.last_request_headers("/feed.atom")
    assert headers["if-none-match"] == first.etag
    assert headers["user-agent"] == "syndicate-test"


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_reports_the_new_url(server: FeedServer, status: int) -> None:
    server.redirect("/old.atom", "/feed.atom", status=status)
    result = fetcher().fetch(server.url_for("/old.atom"))
    assert result.body == BODY
    assert result.moved_to == server.url_for("/feed.atom")


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_does_not_move_the_feed(server: FeedServer, status: int) -> None:
    server.redirect("/tmp.atom", "/feed.atom", status=status)
    result = fetcher().fetch(server.url_for("/tmp.atom"))
    assert result.body == BODY and result.moved_to is None


def test_a_temporary_hop_anywhere_in_the_chain_keeps_the_feed_where_it_is(
    server: FeedServer,
) -> None:
    server.redirect("/a", "/b", status=301)
    server.redirect("/b", "/feed.atom", status=307)
    assert fetcher().fetch(server.url_for("/a")).moved_to is None
    server.redirect("/b", "/feed.atom", status=308)
    assert fetcher().fetch(server.url_for("/a")).moved_to == server.url_for("/feed.atom")


def test_redirect_loop_is_an_error(server: FeedServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    with pytest.raises(FetchError, match="redirects"):
        fetcher().fetch(server.url_for("/a"))


@pytest.mark.parametrize(
    ("headers", "max_age"),
    [
        ({"Cache-Control": "public, max-age=600"}, 600.0),
        ({"Cache-Control": "max-age=600, no-cache"}, None),
        ({"Cache-Control": "no-store"}, None),
        ({"Expires": formatdate((NOW + timedelta(minutes=5)).timestamp(), usegmt=True)}, 300.0),
        ({"Cache-Control": "max-age=60", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT"}, 60.0),
        ({}, None),
    ],
)
def test_max_age_comes_from_cache_control_then_expires(
    server: FeedServer, clock: Clock, headers: dict[str, str], max_age: float | None
) -> None:
    server.publish("/cached.atom", BODY, headers=headers)
    assert fetcher().fetch(server.url_for("/cached.atom")).max_age == max_age
    etag = server.etag("/cached.atom")
    assert fetcher().fetch(server.url_for("/cached.atom"), etag=etag).max_age == max_age


# ------------------------------------------------------------------ error statuses


def test_gone_is_its_own_error(server: FeedServer) -> None:
    server.fail_next("/feed.atom", 410)
    with pytest.raises(FeedGone):
        fetcher().fetch(server.url_for("/feed.atom"))


@pytest.mark.parametrize(("path", "status"), [("/missing.atom", 404), ("/feed.atom", 500)])
def test_other_error_statuses_carry_their_code(server: FeedServer, path: str, status: int) -> None:
    if status == 500:
        server.fail_next(path, 500)
    with pytest.raises(HTTPStatusError) as info:
        fetcher().fetch(server.url_for(path))
    assert info.value.status == status and isinstance(info.value, FetchError)
    assert not isinstance(info.value, RateLimitedFetch)


def test_429_with_delta_seconds_says_when_to_come_back(server: FeedServer, clock: Clock) -> None:
    server.rate_limit_next("/feed.atom", 120)
    with pytest.raises(RateLimitedFetch) as info:
        fetcher(clock=clock).fetch(server.url_for("/feed.atom"))
    assert info.value.status == 429
    assert info.value.retry_after == clock.now + timedelta(seconds=120)


def test_503_with_an_http_date_is_measured_against_the_server_clock(clock: Clock) -> None:
    server_clock = Clock(NOW + timedelta(hours=1))  # a server one hour ahead of us
    with FeedServer(clock=lambda: server_clock().timestamp()) as skewed:
        skewed.publish("/feed.atom", BODY)
        skewed.rate_limit_next("/feed.atom", server_clock.now + timedelta(seconds=90), status=503)
        with pytest.raises(RateLimitedFetch) as info:
            fetcher(clock=clock).fetch(skewed.url_for("/feed.atom"))
    assert info.value.status == 503
    assert info.value.retry_after == clock.now + timedelta(seconds=90)


def test_rate_limit_without_retry_after_leaves_it_to_the_backoff(server: FeedServer) -> None:
    server.fail_next("/feed.atom", 503)
    with pytest.raises(RateLimitedFetch) as info:
        fetcher().fetch(server.url_for("/feed.atom"))
    assert info.value.retry_after is None


# ------------------------------------------------------------- hostile servers


def test_body_over_the_cap_is_refused(server: FeedServer) -> None:
    server.publish("/big.atom", b"x" * 5000)
    with pytest.raises(FetchError, match="cap"):
        fetcher(max_bytes=1000).fetch(server.url_for("/big.atom"))


def test_declared_oversize_is_refused_before_the_body_is_read(server: FeedServer) -> None:
    server.oversize("/huge.atom", 1 << 30)  # a gigabyte, were it read
    with pytest.raises(FetchError, match="Content-Length 1073741824 exceeds"):
        fetcher(max_bytes=100_000).fetch(server.url_for("/huge.atom"))


def test_streamed_oversize_is_stopped_by_counting(server: FeedServer) -> None:
    server.oversize("/huge.atom", 1 << 30, declared=False)
    with pytest.raises(FetchError, match="body exceeds the 100000 byte cap"):
        fetcher(max_bytes=100_000).fetch(server.url_for("/huge.atom"))


def test_gzip_bomb_is_stopped_by_the_decoded_size_cap(server: FeedServer) -> None:
    server.gzip_bomb("/bomb.atom", decoded_size=50_000_000)  # ~50 kB on the wire
    with pytest.raises(FetchError, match="body exceeds"):
        fetcher(max_bytes=1_000_000).fetch(server.url_for("/bomb.atom"))


def test_gzip_responses_are_decoded_and_counted_decoded(server: FeedServer) -> None:
    server.gzip_responses = True
    server.publish("/zeros.atom", b"\0" * 5_000_000)  # ~5 kB on the wire
    assert fetcher().fetch(server.url_for("/feed.atom")).body == BODY
    with pytest.raises(FetchError, match="cap"):
        fetcher(max_bytes=100_000).fetch(server.url_for("/zeros.atom"))


def test_slow_drip_is_cut_off_at_the_total_time_cap(server: FeedServer) -> None:
    server.drip("/slow.atom", b"x" * 4000, chunk=10, interval=0.02)  # 8 s to send it all
    started = time.monotonic()
    with pytest.raises(FetchError, match="after the time cap"):
        fetcher(timeout=0.25).fetch(server.url_for("/slow.atom"))  # cap: 4 x 0.25 s
    assert time.monotonic() - started < 2.5


def test_a_drip_that_ends_in_time_is_read_whole(server: FeedServer) -> None:
    server.drip("/slow.atom", BODY, chunk=20, interval=0.01)
    assert fetcher(timeout=1.0).fetch(server.url_for("/slow.atom")).body == BODY


def test_entity_bomb_is_fetched_as_bytes_and_never_expanded(server: FeedServer) -> None:
    bomb = entity_bomb()
    assert len(bomb) < 120_000 and bomb.count(b"&big;") == 2000
    assert b'<!DOCTYPE rss [<!ENTITY big "' + b"A" * 100_000 + b'">]>' in bomb
    server.publish("/bomb.rss", bomb, content_type="application/rss+xml")
    assert fetcher().fetch(server.url_for("/bomb.rss")).body == bomb


# ------------------------------------------------------------ schemes and paths


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/feed", "gopher://x/"])
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        fetcher().fetch(url)


def test_an_unparseable_url_is_a_fetch_error() -> None:
    with pytest.raises(FetchError):
        fetcher().fetch("http://[::1/feed")


def test_local_path_is_read_only_when_configured_as_a_path(tmp_path: Path) -> None:
    path = tmp_path / "feed.atom"
    path.write_bytes(BODY)
    assert fetcher().fetch(str(path), is_path=True).body == BODY
    with pytest.raises(FetchError, match="No such file"):
        fetcher().fetch(str(tmp_path / "missing.atom"), is_path=True)


def test_connection_refused_is_a_fetch_error(server: FeedServer) -> None:
    url = server.url_for("/feed.atom")
    server.stop()
    with pytest.raises(FetchError, match="ConnectionError"):
        fetcher().fetch(url)


def test_cookies_a_feed_server_sets_are_sent_back_on_the_next_poll(server: FeedServer) -> None:
    # Some hosts set a cookie and redirect to themselves to check it (a cookie wall); the
    # session's jar carries it, as requests' Session.get did.
    server.publish("/feed.atom", BODY, headers={"Set-Cookie": "visited=1; Path=/"})
    f = fetcher()
    f.fetch(server.url_for("/feed.atom"))
    assert "cookie" not in server.requests[-1][2]
    f.fetch(server.url_for("/feed.atom"))
    assert server.requests[-1][2]["cookie"] == "visited=1"


def test_credentials_in_a_feed_url_are_sent_as_basic_auth_on_every_poll(
    server: FeedServer,
) -> None:
    # A private feed at https://user:secret@host/feed: each poll sends the same Authorization
    # header (the request is prepared once per URL and copied), and only to that URL.
    server.publish("/feed.atom", BODY)
    server.publish("/other.atom", BODY)
    url = server.url_for("/feed.atom").replace("://", "://reader:s%40cret@", 1)
    f = fetcher()
    expected = "Basic " + base64.b64encode(b"reader:s@cret").decode()
    for _ in range(2):
        f.fetch(url, etag='"x"')
        assert server.requests[-1][2]["authorization"] == expected
        assert server.requests[-1][2]["if-none-match"] == '"x"'
    f.fetch(server.url_for("/other.atom"))
    assert "authorization" not in server.requests[-1][2]
    assert "if-none-match" not in server.requests[-1][2]


# ------------------------------------------------------------------- proxies


def test_proxy_variables_apply_without_trust_env_and_are_read_once_per_host(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", server.base_url)
    f = fetcher()
    assert f.session.trust_env is False
    # Nothing listens on port 9: the answer can only come through the proxy, and the proxy
    # sees the absolute URL a client sends to a proxy.
    assert f.fetch("http://localhost:9/feed.atom").body == BODY
    assert server.requests[-1][1] == "http://localhost:9/feed.atom"
    monkeypatch.setenv("http_proxy", "http://localhost:9")  # read once: not seen by f
    assert f.fetch("http://localhost:9/feed.atom").body == BODY


def test_no_proxy_still_exempts_a_host(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://localhost:9")  # a proxy that is not there
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert fetcher().fetch(server.url_for("/feed.atom")).body == BODY


# --------------------------------------------------------------------- SSRF


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/feed",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "https://169.254.10.20/feed",
    ],
)
def test_metadata_and_link_local_are_refused_even_with_private_networks_allowed(url: str) -> None:
    with pytest.raises(FetchError, match="refusing to connect to"):
        fetcher(block_private=False).fetch(url)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.1", "127.0.0.1"])
def test_private_networks_are_refused_when_blocked(server: FeedServer, host: str) -> None:
    url = server.url_for("/feed.atom").replace("127.0.0.1", host)
    with pytest.raises(FetchError, match=f"refusing to connect to {host}: a "):
        fetcher(block_private=True).fetch(url)
    assert server.hits("/feed.atom") == 0


def test_loopback_is_fetched_when_private_networks_are_allowed(server: FeedServer) -> None:
    assert fetcher(block_private=False).fetch(server.url_for("/feed.atom")).body == BODY


def test_redirect_to_a_refused_host_is_refused_at_that_hop(server: FeedServer) -> None:
    server.redirect("/feed.atom", "http://169.254.169.254/latest/meta-data/iam/", status=302)
    with pytest.raises(FetchError, match=r"169\.254\.169\.254: a cloud metadata address"):
        fetcher().fetch(server.url_for("/feed.atom"))
    assert server.hits("/feed.atom") == 1


def test_a_refusal_names_the_host_and_never_the_credentials() -> None:
    with pytest.raises(FetchError) as info:
        fetcher().fetch("http://admin:hunter2@169.254.169.254/?token=hunter2")
    assert "169.254.169.254" in str(info.value) and "hunter2" not in str(info.value)


def test_errors_never_show_credentials_or_query_values(server: FeedServer) -> None:
    secret_url = (
        server.url_for("/missing.atom").replace("http://", "http://user:hunter2@")
        + "?token=hunter2&page=1"
    )
    with pytest.raises(FetchError) as info:
        fetcher().fetch(secret_url)
    assert "hunter2" not in str(info.value)
    assert "token=***" in str(info.value)
    server.stop()
    with pytest.raises(FetchError) as info:
        fetcher().fetch(secret_url)
    assert "hunter2" not in str(info.value)


# ------------------------------------------------------------ pure decisions

_date = formatdate((NOW + timedelta(minutes=2)).timestamp(), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "120"}, NOW + timedelta(seconds=120)),
        ({"retry-after": " 0 "}, NOW),
        ({"retry-after": _date}, NOW + timedelta(minutes=2)),
        ({"retry-after": "Sun, 06 Nov 1994 08:49:37 GMT"}, NOW),  # past: ask again now
        ({"retry-after": "99999999"}, NOW + MAX_RETRY_AFTER),
        ({"retry-after": "9" * 5000}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "1.5"}, None),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_both_forms(headers: dict[str, str], expected: datetime | None) -> None:
    assert retry_after(headers, NOW) == expected


def test_retry_after_date_counts_from_the_servers_date_header() -> None:
    server_now = NOW - timedelta(minutes=30)  # a server half an hour behind
    headers = {
        "retry-after": formatdate((server_now + timedelta(seconds=45)).timestamp(), usegmt=True),
        "date": formatdate(server_now.timestamp(), usegmt=True),
    }
    assert retry_after(headers, NOW) == NOW + timedelta(seconds=45)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": 'max-age="30"'}, 30.0),
        ({"cache-control": "MAX-AGE=0"}, 0.0),
        ({"cache-control": "max-age=abc"}, None),
        ({"cache-control": "private, no-cache", "expires": _date}, None),
        ({"expires": "0"}, None),
        ({"expires": "Sun, 06 Nov 1994 08:49:37 GMT"}, 0.0),
        ({"expires": _date, "date": formatdate(NOW.timestamp(), usegmt=True)}, 120.0),
    ],
)
def test_freshness_lifetime(headers: dict[str, str], expected: float | None) -> None:
    assert freshness_lifetime(headers, NOW) == expected


_secrets = st.text(min_size=1, max_size=20).map(lambda s: "SeCrEt" + s)


@given(
    user=_secrets,
    password=_secrets,
    values=st.lists(_secrets, min_size=1, max_size=4),
    key=st.text(max_size=10).filter(lambda k: "secret" not in k.lower()),
    port=st.none() | st.integers(min_value=1, max_value=65535),
)
def test_redact_url_never_shows_userinfo_or_query_values(
    user: str, password: str, values: list[str], key: str, port: int | None
) -> None:
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@Example.com"
    netloc += f":{port}" if port else ""
    query = "&".join(f"{quote_plus(key)}={quote_plus(v)}" for v in values)
    redacted = redact_url(f"https://{netloc}/feed?{query}#frag")
    assert "secret" not in redacted.lower()
    parts = urlsplit(redacted)
    assert parts.username is None and parts.password is None
    assert parts.hostname == "example.com" and parts.port == port
    assert [v for _, v in parse_qsl(parts.query, keep_blank_values=True)] == ["***"] * len(values)
