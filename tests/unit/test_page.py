"""Main text of a web page, for summary-only feeds: the post and nothing around it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from syndicate.feeds.parse import parse_feed
from syndicate.summarise.page import extract_page, fallback_paragraphs
from syndicate.summarise.text import clean_paragraphs

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SEED_PAGE = SHARED / "fixtures" / "seed-post-page.html"
FOUNDING_FEED = ROOT / "config" / "demo" / "feed.atom"
PAGE_FURNITURE = (
    "Post a Comment",
    "0 comments",
    "Twitter Delicious Facebook Digg Stumbleupon Favorites More",
    "Twitter",
    "Blog Archive",
    "Followers",
    "February (1)",
    "Powered by Blogger",
    "Notes from the Road",
    "Monday, February 7, 2011",
)


def seed_page() -> str:
    return SEED_PAGE.read_text(encoding="utf-8")


def founding_paragraphs() -> list[str]:
    """The six paragraphs of the founding post, as its feed entry carries them."""
    (entry,) = parse_feed(FOUNDING_FEED.read_bytes()).entries
    return clean_paragraphs(entry.content_html)


@pytest.mark.parametrize("extract", [extract_page, fallback_paragraphs])
def test_seed_page_gives_exactly_the_six_paragraphs_of_the_post(
    extract: Callable[[str], list[str]],
) -> None:
    paragraphs = extract(seed_page())

    assert paragraphs == founding_paragraphs()
    assert len(paragraphs) == 6
    text = "\n".join(paragraphs)
    for furniture in PAGE_FURNITURE:
        assert furniture not in text


def test_page_url_is_accepted_for_context() -> None:
    url = "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"
    assert extract_page(seed_page(), url) == extract_page(seed_page())


def test_a_fragment_trafilatura_finds_nothing_in_falls_back_to_the_dom() -> None:
    # Too little text for trafilatura's heuristics; the fallback still reads it.
    assert extract_page("<p>A short post.</p>") == ["A short post."]


def test_fallback_prefers_the_post_body_over_the_page_around_it() -> None:
    html = """<html><body>
      <header><h1>My blog</h1><nav><a>Home</a> <a>About</a></nav></header>
      <div id="sidebar"><h2>Archive</h2><p>October (3)</p></div>
      <article><h2 class="entry-title">A title</h2>
        <div class="entry-content"><p>First paragraph.</p><p>Second paragraph.</p></div>
        <div class="sharedaddy"><h3>Share this:</h3></div>
      </article>
      <div class="comments"><p>1 Comment</p><p>Great post!</p></div>
      <footer>© 2024 Someone</footer>
    </body></html>"""
    assert fallback_paragraphs(html) == ["First paragraph.", "Second paragraph."]


def test_fallback_without_a_known_container_reads_the_body_minus_furniture() -> None:
    html = """<body><div class="menu"><a>Home</a></div><div><p>Only text.</p></div>
      <div class="site-footer">Footer</div></body>"""
    assert fallback_paragraphs(html) == ["Only text."]


def test_page_lines_that_are_boilerplate_are_dropped() -> None:
    paragraphs = [
        f"Paragraph {n} of the post is here, and it goes on for a while." for n in range(3)
    ]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = f"<html><body><article>{body}<p>Share this:</p><p>Related</p></article></body></html>"
    assert extract_page(html) == paragraphs


@pytest.mark.parametrize(
    "html", ["", "   ", "<html></html>", "<html><body><script>var x;</script></body></html>"]
)
def test_pages_without_text_give_no_paragraphs(html: str) -> None:
    assert extract_page(html) == []


def test_plain_text_is_its_own_main_text() -> None:
    assert extract_page("not html at all") == ["not html at all"]
