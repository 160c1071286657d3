"""Feed discovery on a fetched page: advertised links, common paths, sniffing a body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.feeds.discover import (
    COMMON_PATHS,
    FeedLink,
    common_feed_urls,
    discover_feeds,
    looks_like_feed,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
BASE = "https://blog.example.com/"


def page(head: str, charset: str = "utf-8") -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body><p>Hi</p></body></html>".encode(charset)


def test_a_wordpress_page_gives_its_posts_feed_before_its_comments_feed() -> None:
    links = discover_feeds(
        page(
            '<link rel="alternate" type="application/rss+xml" title="Blog &raquo; Comments Feed"'
            ' href="https://blog.example.com/comments/feed/">'
            '<link rel="alternate" type="application/rss+xml" title="Blog &raquo; Feed"'
            ' href="https://blog.example.com/feed/">'
        ),
        BASE,
    )
    assert links == [
        FeedLink("https://blog.example.com/feed/", "rss", "Blog » Feed"),
        FeedLink("https://blog.example.com/comments/feed/", "rss", "Blog » Comments Feed"),
    ]


def test_atom_is_preferred_over_rss_over_json_whatever_the_page_order() -> None:
    links = discover_feeds(
        page(
            '<link rel="alternate" type="application/feed+json" href="/feed.json">'
            '<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
            '<link rel="alternate" type="application/json" href="/other.json">'
            '<link rel="alternate" type="application/atom+xml" href="/atom.xml">'
        ),
        BASE,
    )
    assert [(link.kind, link.url) for link in links] == [
        ("atom", "https://blog.example.com/atom.xml"),
        ("rss", "https://blog.example.com/rss.xml"),
        ("json", "https://blog.example.com/feed.json"),
        ("json", "https://blog.example.com/other.json"),
    ]


def test_relative_links_resolve_against_the_page_or_its_base_element() -> None:
    html = '<link rel="alternate" type="application/atom+xml" href="feed.xml">'
    assert discover_feeds(page(html), "https://e.example/blog/post.html")[0].url == (
        "https://e.example/blog/feed.xml"
    )
    with_base = '<base href="https://cdn.example/site/">' + html
    assert discover_feeds(page(with_base), "https://e.example/blog/")[0].url == (
        "https://cdn.example/site/feed.xml"
    )


def test_the_same_feed_advertised_twice_is_listed_once_under_its_best_type() -> None:
    links = discover_feeds(
        page(
            '<link rel="alternate" type="application/rss+xml" href="/feed" title="RSS">'
            '<link rel="alternate" type="application/atom+xml" href="HTTPS://BLOG.example.com:443/feed#x"'
            ' title="Atom">'
        ),
        BASE,
    )
    assert links == [FeedLink("https://BLOG.example.com:443/feed#x", "atom", "Atom")]


@pytest.mark.parametrize(
    "link",
    [
        '<link rel="stylesheet" type="text/css" href="/style.css">',
        '<link rel="alternate" hreflang="fr" href="/fr/">',
        '<link rel="alternate" type="text/html" href="/amp/">',
        '<link rel="alternate" type="application/rss+xml">',
        '<link rel="alternate" type="application/rss+xml" href="  ">',
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">',
        '<link rel="alternate" type="application/rss+xml" href="mailto:me@example.com">',
        '<link rel="alternate" type="application/rss+xml" href="http://[oops/feed">',
        '<link rel="canonical" type="application/rss+xml" href="/feed">',
    ],
)
def test_links_that_are_not_feeds_are_ignored(link: str) -> None:
    assert discover_feeds(page(link), BASE) == []


def test_rel_and_type_are_matched_without_regard_to_case_or_parameters() -> None:
    link = '<LINK REL="Alternate Home" TYPE="Application/RSS+XML; charset=UTF-8" HREF="/f">'
    assert discover_feeds(page(link), BASE) == [FeedLink("https://blog.example.com/f", "rss")]


def test_feed_scheme_links_become_http() -> None:
    links = discover_feeds(
        page(
            '<link rel="alternate" type="application/rss+xml" href="feed://e.example/rss">'
            '<link rel="alternate" type="application/atom+xml" href="feed:https://e.example/atom">'
        ),
        BASE,
    )
    assert [link.url for link in links] == ["https://e.example/atom", "http://e.example/rss"]


def test_a_decoded_page_is_not_decoded_again_by_its_meta_charset() -> None:
    html = (
        '<meta charset="iso-8859-1">'
        '<link rel="alternate" type="application/rss+xml" title="Café" href="/f">'
    )
    assert discover_feeds(page(html).decode(), BASE)[0].title == "Café"
    latin = page(html, "iso-8859-1")
    assert discover_feeds(latin, BASE)[0].title == "Café"


@pytest.mark.parametrize("html", [b"", "", b"   ", b"\x00\xff", "plain text, no markup"])
def test_a_page_with_nothing_to_offer_gives_no_links(html: bytes | str) -> None:
    assert discover_feeds(html, BASE) == []


@given(st.one_of(st.binary(), st.text()), st.text())
def test_discovery_never_crashes(html: bytes | str, base: str) -> None:
    for link in discover_feeds(html, base):
        assert link.url.startswith(("http://", "https://"))


def test_the_shared_post_page_advertises_its_atom_feed_first() -> None:
    html = (SHARED / "fixtures" / "seed-post-page.html").read_bytes()
    links = discover_feeds(html, "https://blog.example.com/2011/02/post.html")
    assert links == [
        FeedLink(
            "https://blog.example.com/feeds/posts/default", "atom", "Notes from the Road - Atom"
        ),
        FeedLink(
            "https://blog.example.com/feeds/posts/default?alt=rss",
            "rss",
            "Notes from the Road - RSS",
        ),
    ]


def test_common_paths_cover_the_usual_engines() -> None:
    for path in ("/feed", "/rss", "/index.xml", "/feed.xml", "/atom.xml", "/rss.xml"):
        assert path in COMMON_PATHS
    assert "/feeds/posts/default" in COMMON_PATHS and "/feed.json" in COMMON_PATHS


def test_common_feed_urls_try_the_pages_directory_then_the_site_root() -> None:
    urls = common_feed_urls("https://e.example/blog/?page=2#top")
    assert urls[: len(COMMON_PATHS)] == [f"https://e.example/blog{p}" for p in COMMON_PATHS]
    assert urls[len(COMMON_PATHS) :] == [f"https://e.example{p}" for p in COMMON_PATHS]
    assert common_feed_urls("https://e.example") == [f"https://e.example{p}" for p in COMMON_PATHS]
    assert common_feed_urls("https://e.example/") == common_feed_urls("https://e.example")


ATOM = b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>'


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (ATOM, "application/atom+xml", True),
        (ATOM, "text/html", True),
        (
            b'\xef\xbb\xbf\n<?xml version="1.0"?>\n<!-- made by hand -->\n<rss version="2.0">',
            "",
            True,
        ),
        (
            b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91">',
            "",
            True,
        ),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><channel/>', "", True),
        (b"<rss><channel><title a=b>broken later", "text/xml", True),
        ('<?xml version="1.0" encoding="utf-16"?><rss/>'.encode("utf-16"), "", True),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "application/json", True),
        (b'{"version": "https://jsonfeed.org/version/1", "items": []}', "text/plain", True),
        (b'{"name": "not a feed"}', "application/feed+json", False),
        (
            b"<!DOCTYPE html><html><head><title>404</title></head></html>",
            "application/rss+xml",
            False,
        ),
        (b"<html><body>&nbsp;soft 404", "text/html", False),
        (b"<!DOCTYPE html><html lang=en><p>unquoted", "text/html", False),
        (b"<!DOCTYPE html><html lang=en><p>unquoted", "application/rss+xml", False),
        (b"<!-- junk first --><?xml?xml ??>\n<rss rss:version=2.0>", "text/xml", True),
        (b'<?xml version="1.0" encoding="utf-16"?><rss version="2.0">', "", True),
        (b"\x00\x01 binary", "application/rss+xml", True),
        (b"\x00\x01 binary", "application/octet-stream", False),
        (b" \n", "application/atom+xml", False),
        (b"", "", False),
        (b"Not found", "text/plain", False),
    ],
)
def test_looks_like_feed_goes_by_the_body_and_by_the_type_only_to_break_a_tie(
    body: bytes, content_type: str, expected: bool
) -> None:
    assert looks_like_feed(body, content_type) is expected


def test_every_real_feed_looks_like_a_feed() -> None:
    corpus = SHARED / "corpus" / "real-feeds"
    names = json.loads((corpus / "index.json").read_text())
    assert [name for name in names if not looks_like_feed((corpus / name).read_bytes(), "")] == []


def test_an_entity_bomb_is_sniffed_without_expanding_it() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 10_000 + b'">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss version="2.0">' + b"&b;" * 1000
    )
    assert looks_like_feed(bomb, "")
