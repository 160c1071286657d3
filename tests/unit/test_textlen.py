"""Exact length counting: graphemes, and Mastodon's URL and mention rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.platforms.textlen import (
    MASTODON_URL_LENGTH,
    bluesky_length,
    code_point_length,
    facebook_length,
    find_urls,
    grapheme_length,
    linkedin_escape,
    linkedin_length,
    mastodon_length,
    utf8_length,
    utf16_length,
    x_find_urls,
    x_length,
    x_parse,
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


# --- X (twitter-text v3)


def test_x_counts_urls_as_23_however_long() -> None:
    assert x_length("Read " + LONG_URL) == 5 + 23
    assert x_length("https://a.co") == 23


def test_x_counts_scheme_less_urls_with_a_real_tld_as_23() -> None:
    assert x_length("blog.example.dev/post") == 23
    assert x_find_urls("see blog.example.dev/post now") == [(4, 25)]


def test_x_counts_cjk_emoji_and_the_ellipsis_double() -> None:
    assert x_length("日本語") == 6
    assert x_length("👨‍👩‍👧") == 2  # one ZWJ sequence
    assert x_length("a…") == 3
    assert x_length("→€") == 4


def test_x_config_v2_counts_emoji_per_code_point() -> None:
    # Three emoji at 2 each, two ZWJs (U+200D) at 1 each.
    assert x_parse("👨‍👩‍👧", discount_emoji=False).weighted_length == 8
    assert x_parse("👨‍👩‍👧").weighted_length == 2


def test_x_counts_the_nfc_form() -> None:
    assert x_length("e\u0301") == x_length("é") == 1


def test_x_marks_refused_characters_invalid() -> None:
    assert not x_parse("ok\ufffe").valid
    assert not x_parse("").valid
    assert x_parse("ok").valid


def test_x_counts_a_local_host_url_as_text() -> None:
    # twitter-text knows no TLD there: the text counts in full (platforms.md §3 trap 10).
    assert x_length("http://127.0.0.1:8000/post") == 26


# --- byte and unit counters


def test_utf8_and_utf16_lengths() -> None:
    assert utf8_length("aé日👍") == 1 + 2 + 3 + 4
    assert utf16_length("aé日👍") == 1 + 1 + 1 + 2
    assert code_point_length("👨‍👩‍👧") == 5


def test_bluesky_counts_graphemes() -> None:
    assert bluesky_length("👨‍👩‍👧 🇫🇷 e\u0301") == 5


def test_facebook_counts_utf16_units() -> None:
    assert facebook_length("👍") == 2


# --- LinkedIn's little format


def test_linkedin_escapes_every_reserved_character() -> None:
    reserved = "| { } @ [ ] ( ) < > # \\ * _ ~"
    escaped = linkedin_escape(reserved)
    assert escaped == "\\| \\{ \\} \\@ \\[ \\] \\( \\) \\< \\> \\# \\\\ \\* \\_ \\~"
    assert linkedin_length(escaped) == len(reserved) + 15


def test_linkedin_leaves_urls_alone() -> None:
    text = "(see https://en.wikipedia.org/wiki/Primer_(film)) now"
    assert linkedin_escape(text) == "\\(see https://en.wikipedia.org/wiki/Primer_(film)\\) now"


def test_linkedin_keeps_intended_hashtags_only_when_asked() -> None:
    assert linkedin_escape("#python rocks") == "\\#python rocks"
    assert linkedin_escape("#python rocks", keep_hashtags=True) == "#python rocks"
    assert linkedin_escape("C# and #1", keep_hashtags=True) == "C\\# and \\#1"


def test_linkedin_plain_text_is_unchanged() -> None:
    assert linkedin_escape("Hello, world! Ça va? 日本") == "Hello, world! Ça va? 日本"


EMOJI_MIX = st.lists(
    st.sampled_from(
        [
            *"ab #1*.:/\r\n",
            *("e\u0301", "\ufffe", "t.co/x ", "日本.jp "),
            *("é", "’", "…", "日", "©", "™", "↔", "\ufe0f", "\u20e3", "\u200d"),
            *("😷", "👨", "👩", "🏽", "🇫", "🇷", "❤", "🔥", "https://example.com ", "#️⃣"),
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=200, deadline=None, database=None)
@given(EMOJI_MIX)
def test_x_length_skips_the_emoji_pass_only_when_it_would_find_nothing(text: str) -> None:
    from twitter_text import parse_tweet

    assert x_length(text) == parse_tweet(text).weightedLength


URL_MIX = st.lists(
    st.sampled_from(
        [
            *("a", "é", "日", " ", "\n", "\t", "\x85", "\u3000", "\u00a0", "\u2028", "\u200f"),
            *(".", "/", "(", ")", "?", "=", "&", "@", "#", "-", "_", ",", "！", "。", "\u0301"),
            *("://", "https://", "http://", "com", "co", "x.org", "example.com", "t.co/abc"),
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(URL_MIX)
def test_scanning_only_the_words_with_a_protocol_finds_what_a_whole_scan_finds(text: str) -> None:
    from syndicate.platforms.textlen import _url_entities, _url_entities_in

    assert _url_entities(text) == _url_entities_in(text, 0, len(text))


def test_every_ascii_character_weighs_the_same_for_x() -> None:
    # x_length counts ASCII runs by their length alone.
    assert {x_parse(chr(c) * 3).weighted_length for c in range(0x80)} == {3}
    assert {x_length(chr(c) * 3) for c in range(0x80)} == {3}
