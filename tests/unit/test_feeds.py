"""Parsing, identity and the new-entry decision: pure functions on plain data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.errors import ParseError
from syndicate.feeds.identity import entry_identity, normalise_url
from syndicate.feeds.parse import parse_feed, strip_doctype
from syndicate.feeds.watcher import entry_hash, plan_poll
from syndicate.model import FeedEntry, KnownEntry
from tests.conftest import SEED_FEED

SEED_ID = "tag:blogger.com,1999:blog-4471503410120186342.post-2760129340215634781"
SEED_LINK = "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"


def test_founding_sample_parses_to_one_entry() -> None:
    feed = parse_feed(SEED_FEED.read_bytes(), "https://blog.example.com/feeds/posts/default")
    [entry] = feed.entries
    assert entry.identity == SEED_ID
    assert entry.link == SEED_LINK
    assert entry.title == "Social Media 2.0 - Day 1 at OMS 2011"
    assert entry.categories == ("OMS 2011", "Social Media", "Web 2.0")
    assert entry.published == datetime(2011, 2, 8, 5, 14, tzinfo=UTC)
    assert entry.content_html.startswith("<p>As I sit here in Conference room B")
    assert feed.hub == "https://pubsubhubbub.appspot.com/"
    assert feed.self_url == "https://blog.example.com/feeds/posts/default"


@pytest.mark.parametrize(
    "body",
    [b"", b"not a feed at all", b"<html><body><p>a web page</p></body></html>", b"\x00\xff\xfe"],
)
def test_something_that_is_not_a_feed_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(body, "https://blog.example.com/feed")


def test_rss_item_without_guid_is_identified_by_its_normalised_link() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><title>A</title><link>HTTPS://Blog.Example.com:443/a?utm_source=x#top</link></item>
    </channel></rss>"""
    [entry] = parse_feed(rss).entries
    assert entry.identity == "https://blog.example.com/a"


def test_duplicate_guids_in_one_feed_are_told_apart_by_link() -> None:
    a = entry(1, identity="same", link="https://b.example.com/a")
    b = entry(2, identity="same", link="https://b.example.com/b")
    plan = plan_poll([b, a], {}, first_poll=False)
    assert sorted(e.identity for e in plan.new) == ["same", "same|https://b.example.com/b"]


def test_reordering_items_that_share_a_guid_posts_nothing_new() -> None:
    a = entry(1, identity="same", link="https://b.example.com/a")
    b = entry(2, identity="same", link="https://b.example.com/b")
    first = plan_poll([a, b], {}, first_poll=False)
    stored = {
        e.identity: KnownEntry(i, first.hashes[e.identity], e.link) for i, e in enumerate(first.new)
    }
    again = plan_poll([b, a], stored, first_poll=False)
    assert again.new == () and again.changed == ()


def test_exact_duplicate_items_are_stored_once() -> None:
    a = entry(1, identity="same")
    plan = plan_poll([a, a, entry(1, identity="same")], {}, first_poll=False)
    assert [e.identity for e in plan.new] == ["same"]


def test_a_link_change_under_the_same_id_is_an_edit() -> None:
    old = entry(1)
    moved = entry(1, link="https://new.example.com/1")
    plan = plan_poll([moved], known(old), first_poll=False)
    assert plan.new == ()
    assert [e.link for _, e in plan.changed] == ["https://new.example.com/1"]


def test_a_failure_while_cleaning_is_a_parse_error_naming_the_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Cleaning used to run inside feedparser.parse, whose failures were already ParseErrors;
    # it now runs after, and `inspect-feed` must still never crash.
    from syndicate.feeds import markup

    def broken(*args: object) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(markup, "_sanitize_html", broken)
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><guid>1</guid><description>&lt;p&gt;Hi&lt;/p&gt;</description></item></channel></rss>"""
    with pytest.raises(ParseError, match=r"https://b.example.com/feed: cleaning failed"):
        parse_feed(rss, "https://b.example.com/feed")
    assert parse_feed(rss, "https://b.example.com/feed", clean=False).entries  # raw: no cleaning


def test_control_characters_never_reach_the_ledger() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><guid>1</guid><title>Bad &#0;byte &#7;bell</title></item></channel></rss>"""
    [item] = parse_feed(rss).entries
    assert "\x00" not in item.title and "\x07" not in item.title


def test_entity_declarations_are_stripped_before_parsing() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 10000 + b'">]>'
        b'<rss version="2.0"><channel><title>t</title><item><title>'
        + b"&a;" * 200
        + b"</title><guid>1</guid></item></channel></rss>"
    )
    assert b"<!ENTITY" not in strip_doctype(bomb)
    [entry] = parse_feed(bomb).entries
    assert len(entry.title) < 10000


def test_normalised_url_examples() -> None:
    assert normalise_url("HTTP://Example.COM:80/a?b=1&utm_medium=x#f") == "http://example.com/a?b=1"
    assert normalise_url("https://example.com") == "https://example.com/"
    assert normalise_url("https://example.com:8443/x") == "https://example.com:8443/x"


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}\.(com|org|example)", fullmatch=True),
    path=st.from_regex(r"(/[a-z0-9_.-]{0,10}){0,4}", fullmatch=True),
    query=st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.text("abc123", max_size=5), max_size=3
    ),
    tracking=st.booleans(),
)
def test_normalising_is_idempotent_and_ignores_tracking(
    host: str, path: str, query: dict[str, str], tracking: bool
) -> None:
    from urllib.parse import urlencode

    q = {k: v for k, v in query.items() if not k.startswith("utm_") and k not in {"ref", "source"}}
    base = f"https://{host}{path}" + (f"?{urlencode(q)}" if q else "")
    noisy = (
        f"HTTPS://{host.upper()}:443{path}?"
        + urlencode({**q, **({"utm_source": "feed"} if tracking else {})})
        + "#frag"
    )
    once = normalise_url(base)
    assert normalise_url(once) == once
    assert normalise_url(noisy) == once


def test_identity_falls_back_to_a_hash_of_title_and_date() -> None:
    a = entry_identity("", "", "Title", "2026-01-01")
    assert a.startswith("sha256:")
    assert a == entry_identity("  ", "", "Title", "2026-01-01")
    assert a != entry_identity("", "", "Title", "2026-01-02")


def entry(n: int, **changes: object) -> FeedEntry:
    values: dict[str, object] = {
        "identity": f"id-{n}",
        "link": f"https://b.example.com/{n}",
        "title": f"Post {n}",
        "content_html": f"<p>Body {n}.</p>",
        "published": datetime(2026, 1, n, tzinfo=UTC),
    }
    values.update(changes)
    return FeedEntry(**values)  # type: ignore[arg-type]


def known(*entries: FeedEntry) -> dict[str, KnownEntry]:
    return {
        e.identity: KnownEntry(i, entry_hash(e), e.link, e.source_hash)
        for i, e in enumerate(entries, 1)
    }


def test_first_poll_is_a_baseline_that_posts_nothing() -> None:
    plan = plan_poll([entry(1), entry(2), entry(3)], {}, first_poll=True)
    assert plan.new == ()
    assert len(plan.baseline) == 3


def test_first_poll_with_backfill_posts_the_newest_only() -> None:
    plan = plan_poll([entry(1), entry(3), entry(2)], {}, first_poll=True, backfill=2)
    assert [e.identity for e in plan.new] == ["id-3", "id-2"]
    assert [e.identity for e in plan.baseline] == ["id-1"]


def test_an_unseen_entry_is_new_and_seen_ones_are_not() -> None:
    plan = plan_poll([entry(1), entry(2)], known(entry(1)), first_poll=False)
    assert [e.identity for e in plan.new] == ["id-2"]
    assert plan.changed == ()


def test_edits_redates_and_reorders_never_make_a_new_delivery() -> None:
    old = [entry(1), entry(2)]
    edited = [
        entry(2, published=datetime(2030, 1, 1, tzinfo=UTC)),
        entry(1, title="Post 1 (fixed)"),
    ]
    plan = plan_poll(edited, known(*old), first_poll=False)
    assert plan.new == ()
    assert [e.title for _, e in plan.changed] == ["Post 1 (fixed)"]


def test_summary_only_feed_is_marked_so_the_page_can_be_read() -> None:
    from tests.conftest import SHARED

    body = (SHARED / "fixtures" / "seed-blogger-summary-only.atom").read_bytes()
    [entry] = parse_feed(body).entries
    assert entry.content_is_summary
    assert entry.content_html.startswith("As I sit here")
    [full] = parse_feed(SEED_FEED.read_bytes()).entries
    assert not full.content_is_summary


def test_truncated_content_counts_as_summary_only() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"
    xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>
    <item><guid>1</guid><title>A</title><link>https://b.example.com/a</link>
    <content:encoded><![CDATA[<p>The start of it.</p>
    <p><a href="/a">Continue reading &rarr;</a></p>]]></content:encoded>
    </item></channel></rss>"""
    [entry] = parse_feed(rss).entries
    assert entry.content_is_summary


def test_image_comes_from_media_thumbnail_or_an_image_enclosure() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
    <channel><title>t</title>
    <item><guid>1</guid><title>A</title><media:thumbnail url="https://b.example.com/a.jpg"/></item>
    <item><guid>2</guid><title>B</title>
      <enclosure url="https://b.example.com/b.png" type="image/png" length="10"/></item>
    <item><guid>3</guid><title>C</title>
      <enclosure url="https://b.example.com/c.mp3" type="audio/mpeg" length="10"/></item>
    </channel></rss>"""
    assert [e.image_url for e in parse_feed(rss).entries] == [
        "https://b.example.com/a.jpg",
        "https://b.example.com/b.png",
        "",
    ]
