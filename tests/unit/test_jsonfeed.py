"""JSON Feed 1.0 and 1.1, read through parse_feed like any other feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.errors import ParseError
from syndicate.feeds.jsonfeed import is_json_feed, looks_like_json
from syndicate.feeds.parse import parse_feed
from syndicate.model import FeedEntry, ParsedFeed

V1 = "https://jsonfeed.org/version/1"
V11 = "https://jsonfeed.org/version/1.1"
FEED_URL = "https://blog.example.com/feed.json"


def feed(*items: Any, **fields: Any) -> bytes:
    return json.dumps({"version": V11, "title": "Blog", "items": list(items), **fields}).encode()


def one(item: dict[str, Any], **fields: Any) -> FeedEntry:
    [entry] = parse_feed(feed(item, **fields), FEED_URL).entries
    return entry


def test_a_full_json_feed_1_1_is_read() -> None:
    parsed = parse_feed(
        feed(
            {
                "id": "https://blog.example.com/1",
                "url": "https://blog.example.com/posts/1",
                "title": "First",
                "content_html": "<p>Hello <b>world</b>.</p>",
                "date_published": "2026-01-02T03:04:05+01:00",
                "date_modified": "2026-01-03T00:00:00Z",
                "tags": ["Python", "Feeds"],
                "authors": [{"name": "Ann"}, {"name": "Bo"}],
                "image": "https://blog.example.com/1.png",
            },
            home_page_url="https://blog.example.com/",
            feed_url=FEED_URL,
            hubs=[
                {"type": "rssCloud", "url": "https://cloud.example"},
                {"type": "WebSub", "url": "https://hub.example/"},
            ],
        ),
        FEED_URL,
    )
    assert parsed == ParsedFeed(
        title="Blog",
        link="https://blog.example.com/",
        hub="https://hub.example/",
        self_url=FEED_URL,
        entries=(
            FeedEntry(
                identity="https://blog.example.com/1",
                link="https://blog.example.com/posts/1",
                title="First",
                content_html="<p>Hello <b>world</b>.</p>",
                published=datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC),
                updated=datetime(2026, 1, 3, tzinfo=UTC),
                categories=("Python", "Feeds"),
                author="Ann, Bo",
                image_url="https://blog.example.com/1.png",
            ),
        ),
    )


def test_json_feed_1_0_author_object_and_banner_image_are_read() -> None:
    body = json.dumps(
        {
            "version": V1,
            "title": "Old",
            "author": {"name": "Feed Author"},
            "items": [{"id": "1", "content_text": "Hi", "banner_image": "/banner.jpg"}],
        }
    ).encode()
    [entry] = parse_feed(body, FEED_URL).entries
    assert entry.author == "Feed Author"
    assert entry.image_url == "https://blog.example.com/banner.jpg"


def test_an_item_without_authors_takes_the_feeds() -> None:
    entry = one({"id": "1", "content_text": "x"}, authors=[{"name": "Ann"}])
    assert entry.author == "Ann"


@pytest.mark.parametrize(
    ("item", "identity"),
    [
        ({"id": "abc", "url": "https://b.example/x"}, "abc"),
        ({"id": 42, "url": "https://b.example/x"}, "42"),
        ({"id": "  ", "url": "HTTPS://B.example/x?utm_source=feed"}, "https://b.example/x"),
        ({"url": "https://b.example/x"}, "https://b.example/x"),
        ({"external_url": "https://elsewhere.example/y"}, "https://elsewhere.example/y"),
        ({"id": True, "url": "https://b.example/x"}, "https://b.example/x"),
    ],
)
def test_identity_is_id_then_url_then_external_url(item: dict[str, Any], identity: str) -> None:
    assert one({"content_text": "x", **item}).identity == identity


def test_items_with_neither_id_nor_link_are_told_apart_by_title_date_or_content() -> None:
    entries = parse_feed(
        feed(
            {"content_text": "One note."},
            {"content_text": "Another note."},
            {"title": "Titled", "content_text": "One note."},
        )
    ).entries
    identities = [e.identity for e in entries]
    assert all(i.startswith("sha256:") for i in identities)
    assert len(set(identities)) == 3


def test_an_external_url_is_the_link_when_there_is_no_url() -> None:
    assert one({"id": "1", "external_url": "https://e.example/a"}).link == "https://e.example/a"


def test_content_html_is_sanitised_and_its_relative_links_resolved() -> None:
    entry = one(
        {
            "id": "1",
            "url": "https://blog.example.com/posts/1/",
            "content_html": '<p onclick="x()">Hi<script>alert(1)</script> <a href="../2/">next</a>'
            '<img src="pic.png"></p>',
        }
    )
    assert entry.content_html == (
        '<p>Hi <a href="https://blog.example.com/posts/2/">next</a>'
        '<img src="https://blog.example.com/posts/1/pic.png" /></p>'
    )


def test_content_text_is_escaped_into_paragraphs() -> None:
    entry = one({"id": "1", "content_text": "a < b & c\nsame paragraph\r\n\r\n  Second.\n\n\n"})
    assert entry.content_html == "<p>a &lt; b &amp; c<br>same paragraph</p><p>Second.</p>"
    assert not entry.content_is_summary


def test_content_html_wins_over_content_text() -> None:
    entry = one({"id": "1", "content_html": "<p>html</p>", "content_text": "text"})
    assert entry.content_html == "<p>html</p>"


def test_only_a_summary_means_the_page_may_say_more() -> None:
    entry = one({"id": "1", "summary": "Just the gist."})
    assert entry.content_html == "<p>Just the gist.</p>"
    assert entry.content_is_summary


def test_content_that_stops_at_a_read_more_marker_is_a_summary() -> None:
    entry = one(
        {"id": "1", "content_html": '<p>Start.</p><p><a href="/1">Continue reading</a></p>'}
    )
    assert entry.content_is_summary


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02t03:04:05.123z", datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
        ("2026-01-02T03:04:05-05:00", datetime(2026, 1, 2, 8, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("Fri, 02 Jan 2026 03:04:05 +0000", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("yesterday", None),
        ("0001-01-01T00:00:00+01:00", None),
        (1767323045, None),
    ],
)
def test_dates_are_rfc_3339_in_utc(value: object, expected: datetime | None) -> None:
    entry = one({"id": "1", "date_published": value})
    assert entry.published == expected
    if expected:
        assert entry.published and entry.published.utcoffset() == timedelta(0)


def test_fields_of_the_wrong_type_are_ignored() -> None:
    body = feed(
        {
            "id": ["x"],
            "url": 5,
            "title": {"a": 1},
            "content_html": None,
            "content_text": 3,
            "summary": ["s"],
            "date_published": [],
            "tags": "not-a-list",
            "authors": "me",
            "author": 7,
            "image": False,
        },
        "not an item",
        title=1,
        home_page_url=[],
        feed_url={},
        hubs={"type": "WebSub"},
    )
    parsed = parse_feed(body)
    assert parsed.title == parsed.link == parsed.hub == parsed.self_url == ""
    [entry] = parsed.entries
    assert entry.identity.startswith("sha256:")
    assert (entry.link, entry.title, entry.content_html, entry.categories) == ("", "", "", ())
    assert entry.content_is_summary


def test_tags_that_are_not_strings_are_skipped() -> None:
    assert one({"id": "1", "tags": ["a", 1, None, " ", " b "]}).categories == ("a", "b")


def test_control_characters_and_lone_surrogates_are_removed() -> None:
    body = b'{"version": "%s", "items": [{"id": "1", "title": "a\\u0000b\\ud800c"}]}' % V11.encode()
    [entry] = parse_feed(body).entries
    assert entry.title == "abc"


def test_items_that_are_not_a_list_give_no_entries() -> None:
    assert parse_feed(json.dumps({"version": V11, "items": {"id": 1}}).encode()).entries == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"title": "no version", "items": []}', "not a JSON Feed"),
        (b'{"version": "https://example.com/v1", "items": []}', "not a JSON Feed"),
        (b"[1, 2]", "not a JSON Feed"),
        (b'{"version": ', "invalid JSON"),
        (b"{" * 100_000, "invalid JSON"),
        (b'{"version": "\xff"}', "invalid JSON"),
    ],
)
def test_json_that_is_not_a_json_feed_is_a_clear_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"https://x.example/f: not a feed: .*{message}"):
        parse_feed(body, "https://x.example/f", {"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'  \n{"version": 1}', "", True),
        (b'\xef\xbb\xbf{"version": 1}', "text/plain", True),
        (b"[]", "application/feed+json; charset=utf-8", True),
        (b"[]", "Application/JSON", True),
        (b"<?xml version='1.0'?><rss/>", "application/json", False),
        (b"<rss/>", "application/rss+xml", False),
        (b"", "", False),
    ],
)
def test_json_is_recognised_by_its_first_byte_or_its_content_type(
    body: bytes, content_type: str, expected: bool
) -> None:
    assert looks_like_json(body, content_type) is expected


def test_an_xml_feed_served_as_json_is_still_read_as_xml() -> None:
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert parse_feed(rss, headers={"Content-Type": "application/json"}).title == "t"


def test_is_json_feed() -> None:
    assert is_json_feed(feed())
    assert not is_json_feed(b'{"items": []}')
    assert not is_json_feed(b"<rss/>")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
item_keys = st.sampled_from(
    [
        "id",
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "image",
        "banner_image",
        "date_published",
        "date_modified",
        "tags",
        "authors",
        "author",
    ]
)


@given(
    st.lists(st.dictionaries(item_keys, json_values), max_size=3),
    st.dictionaries(
        st.sampled_from(["title", "home_page_url", "feed_url", "hubs", "authors"]), json_values
    ),
)
def test_any_json_feed_shape_parses_and_every_entry_has_an_identity(
    items: list[dict[str, Any]], fields: dict[str, Any]
) -> None:
    parsed = parse_feed(feed(*items, **fields), FEED_URL)
    assert len(parsed.entries) == len(items)
    assert all(entry.identity for entry in parsed.entries)
