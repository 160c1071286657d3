"""Exact length counting: graphemes, and Mastodon's URL and mention rules."""

from __future__ import annotations

import pytest

from syndicate.platforms.textlen import (
    MASTODON_URL_LENGTH,
    find_urls,
    grapheme_length,
    mastodon_length,
)

LONG_URL = "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"


def test_grapheme_length_counts_user_perceived_characters() -> None:
    assert grapheme_length("abc") == 3
    assert grapheme_length("👨‍👩‍👧") == 1  # ZWJ family
    assert grapheme_length("🇫🇷🇯🇵") == 2  # two flags
    assert grapheme_length("e\u0301") == 1  # combining acute
    assert grapheme_length("👍🏽") == 1  # skin tone modifier
    assert grapheme_length("日本語") == 3
    assert grapheme_length("") == 0


def test_mastodon_counts_a_long_url_as_23() -> None:
    assert mastodon_length("hello " + LONG_URL) == 29


def test_mastodon_counts_a_remote_mention_as_its_local_part() -> None:
    assert mastodon_length("@alice@mastodon.social hi") == 9


def test_mastodon_counts_scheme_less_text_in_full() -> None:
    assert mastodon_length("see example.com/post") == 20
    assert find_urls("see example.com/post") == []


def test_url_length_is_configurable() -> None:
    assert MASTODON_URL_LENGTH == 23
    assert mastodon_length(LONG_URL, url_length=30) == 30


def test_short_urls_count_as_the_url_length_too() -> None:
    assert mastodon_length("https://a.co") == 23


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("Read https://example.com/post.", "https://example.com/post"),
        ("Read https://example.com/post, then", "https://example.com/post"),
        ("(see https://example.com/post)", "https://example.com/post"),
        ("Wow https://example.com/post!", "https://example.com/post"),
        ("Really https://example.com/post?", "https://example.com/post"),
        ("At https://example.com/a?b=1&c=2.", "https://example.com/a?b=1&c=2"),
        (
            "(https://en.wikipedia.org/wiki/Primer_(film))",
            "https://en.wikipedia.org/wiki/Primer_(film)",
        ),
        ("HTTPS://EXAMPLE.COM/Path", "HTTPS://EXAMPLE.COM/Path"),
        ("x https://例え.jp/パス y", "https://例え.jp/パス"),
    ],
)
def test_find_urls_leaves_out_trailing_punctuation_as_mastodon_does(text: str, url: str) -> None:
    (span,) = find_urls(text)
    assert text[span[0] : span[1]] == url
    assert mastodon_length(text) == grapheme_length(text) - grapheme_length(url) + 23


@pytest.mark.parametrize(
    "text",
    [
        "http://no-tld here",
        "https://example.notarealtld/page",
        "ftp://example.com/file",
        "mailto:bob@example.com",
        "example.com/https://example.org",  # the scheme-less match swallows the rest
    ],
)
def test_text_mastodon_does_not_link_counts_in_full(text: str) -> None:
    assert find_urls(text) == []
    assert mastodon_length(text) == grapheme_length(text)


def test_find_urls_reports_offsets_in_order() -> None:
    text = "a https://x.org b http://y.com/z"
    assert find_urls(text) == [(2, 15), (18, 32)]


def test_other_protocols_mastodon_links_count_as_urls() -> None:
    assert mastodon_length("gemini://example.com/a-long-capsule-path/index.gmi") == 23


def test_a_local_mention_counts_in_full() -> None:
    assert mastodon_length("@alice hi") == 9


def test_an_email_address_is_neither_url_nor_mention() -> None:
    assert mastodon_length("mail bob@example.com") == 20


def test_whitespace_only_text_counts_zero_like_rubys_blank() -> None:
    assert mastodon_length("   \n ") == 0
    assert mastodon_length("") == 0


def test_a_combining_mark_after_a_url_joins_the_placeholder() -> None:
    # The server counts graphemes of the rewritten text, where the mark joins the last "x".
    assert mastodon_length("https://example.com\u0301") == 23


def test_emoji_sequences_count_once_beside_urls() -> None:
    assert mastodon_length("👨‍👩‍👧 " + LONG_URL + " 🇫🇷") == 1 + 1 + 23 + 1 + 1
