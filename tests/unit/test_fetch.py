"""The fetcher over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicate.errors import FeedGone, FetchError
from syndicate.feeds.fetch import Fetcher
from tests.fakes.feedserver import FeedServer

BODY = b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>t</title></feed>"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.publish("/feed.atom", BODY)
        yield s


def fetcher(max_bytes: int = 1_000_000, timeout: float = 2.0) -> Fetcher:
    return Fetcher(timeout=timeout, max_bytes=max_bytes, user_agent="syndicate-test")


def test_conditional_get_turns_an_unchanged_feed_into_not_modified(server: FeedServer) -> None:
    first = fetcher().fetch(server.url_for("/feed.atom"))
    assert first.body == BODY and first.etag
    second = fetcher().fetch(
        server.url_for("/feed.atom"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.not_modified and second.body == b""
    headers = server.last_request_headers("/feed.atom")
    assert headers["if-none-match"] == first.etag
    assert headers["user-agent"] == "syndicate-test"


def test_permanent_redirect_reports_the_new_url(server: FeedServer) -> None:
    server.redirect("/old.atom", "/feed.atom", status=301)
    result = fetcher().fetch(server.url_for("/old.atom"))
    assert result.body == BODY
    assert result.moved_to == server.url_for("/feed.atom")


def test_temporary_redirect_does_not_move_the_feed(server: FeedServer) -> None:
    server.redirect("/tmp.atom", "/feed.atom", status=302)
    result = fetcher().fetch(server.url_for("/tmp.atom"))
    assert result.body == BODY and result.moved_to is None


def test_redirect_loop_is_an_error(server: FeedServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    with pytest.raises(FetchError, match="redirects"):
        fetcher().fetch(server.url_for("/a"))


def test_gone_is_its_own_error(server: FeedServer) -> None:
    server.fail_next("/feed.atom", 410)
    with pytest.raises(FeedGone):
        fetcher().fetch(server.url_for("/feed.atom"))


def test_body_over_the_cap_is_refused(server: FeedServer) -> None:
    server.publish("/big.atom", b"x" * 5000)
    with pytest.raises(FetchError, match="cap"):
        fetcher(max_bytes=1000).fetch(server.url_for("/big.atom"))


def test_gzip_bomb_is_stopped_by_the_decoded_size_cap(server: FeedServer) -> None:
    server.gzip_responses = True
    server.publish("/bomb.atom", b"\0" * 5_000_000)  # ~5 kB on the wire
    with pytest.raises(FetchError, match="cap"):
        fetcher(max_bytes=100_000).fetch(server.url_for("/bomb.atom"))


def test_non_http_schemes_are_refused() -> None:
    with pytest.raises(FetchError, match="only http and https"):
        fetcher().fetch("file:///etc/passwd")


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
