"""Composing a post from a Summary: budget filling, degrading order, templates, invariants."""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.errors import ConfigError, PermanentError
from syndicate.model import FeedEntry, Summary
from syndicate.platforms.compose import ELLIPSIS, render_text
from syndicate.platforms.textlen import find_urls, mastodon_length
from syndicate.summarise.extractive import summarise

FOUNDING_FEED = Path(__file__).parents[2] / "config" / "demo" / "feed.atom"
FOUNDING_URL = "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"
TEMPLATE = "{title}\n\n{summary}\n\n{url}"
GRAPHEME = regex.compile(r"\X")


def founding_summary() -> Summary:
    """The founding sample post, read with feedparser from bytes and summarised."""
    (entry,) = feedparser.parse(io.BytesIO(FOUNDING_FEED.read_bytes())).entries
    return summarise(
        FeedEntry(
            identity=entry.id,
            link=entry.link,
            title=entry.title,
            content_html=entry.content[0].value,
            categories=tuple(tag.term for tag in entry.tags),
        )
    )


def make_summary(
    title: str = "A title",
    sentences: tuple[str, ...] = ("First sentence here.", "Second one."),
    link: str = "https://example.com/post",
    hashtags: tuple[str, ...] = (),
) -> Summary:
    return Summary(title, "\n\n".join(sentences), sentences, link, hashtags)


def url_intact(text: str, url: str) -> bool:
    return any(text[start:end] == url for start, end in find_urls(text))


# --- the founding sample


def test_founding_sample_fits_500_with_whole_sentences_and_the_url_intact() -> None:
    summary = founding_summary()

    text = render_text(summary, TEMPLATE, 500, mastodon_length)

    assert mastodon_length(text) <= 500
    title, body, url = text.split("\n\n")
    assert title == "Social Media 2.0 - Day 1 at OMS 2011"
    assert url == FOUNDING_URL and url_intact(text, FOUNDING_URL)
    assert ELLIPSIS not in text
    # The body is the first sentences, whole, and the next one would not have fitted.
    n = len(body.split(". ")) if body else 0
    assert body == " ".join(summary.sentences[:n])
    longer = text.replace(body, " ".join(summary.sentences[: n + 1]))
    assert mastodon_length(longer) > 500


def test_a_small_limit_cuts_the_first_sentence_at_a_word_boundary() -> None:
    summary = founding_summary()

    text = render_text(summary, TEMPLATE, 140, mastodon_length)

    assert mastodon_length(text) <= 140
    title, body, url = text.split("\n\n")
    assert title == summary.title and url == FOUNDING_URL
    assert body.endswith(ELLIPSIS)
    kept = body.removesuffix(ELLIPSIS)
    first = summary.sentences[0]
    assert first.startswith(kept) and first[len(kept)] == " "
    assert body == "As I sit here in Conference room B at the Westin Gaslamp I look around to…"


def test_a_smaller_limit_drops_the_summary_then_cuts_the_title() -> None:
    summary = founding_summary()

    text = render_text(summary, TEMPLATE, 60, mastodon_length)

    assert text == "Social Media 2.0 - Day 1 at OMS…\n\n" + FOUNDING_URL
    assert mastodon_length(text) <= 60


def test_the_summary_goes_before_the_title_is_cut() -> None:
    summary = make_summary(title="Twelve chars", sentences=("Longsentencewithoutanybreak.",))
    # Title (12) + blank line (2) + URL (23) = 37: room for the title, not for any summary.
    assert render_text(summary, TEMPLATE, 40, mastodon_length) == (
        "Twelve chars\n\nhttps://example.com/post"
    )


def test_only_the_url_is_left_when_nothing_else_fits() -> None:
    summary = make_summary(title="Unbreakabletitle")
    assert render_text(summary, TEMPLATE, 30, mastodon_length) == "https://example.com/post"


# --- degrading order


def test_hashtags_are_dropped_from_the_end_before_the_summary_shrinks() -> None:
    summary = make_summary(hashtags=("One", "Two", "Three"))
    template = "{title}\n\n{summary}\n\n{url}\n\n{hashtags}"
    full = render_text(summary, template, 500, mastodon_length)
    assert full.endswith("#One #Two #Three")

    limit = mastodon_length(full) - len(" #Three")
    text = render_text(summary, template, limit, mastodon_length)

    assert text.endswith("https://example.com/post\n\n#One #Two")
    assert "First sentence here. Second one." in text


def test_all_hashtags_go_before_a_sentence_does() -> None:
    summary = make_summary(hashtags=("One",))
    template = "{title} {summary} {url} {hashtags}"
    limit = mastodon_length("A title First sentence here. Second one. https://example.com/post")

    text = render_text(summary, template, limit, mastodon_length)

    assert text == "A title First sentence here. Second one. https://example.com/post"


def test_whole_sentences_are_kept_in_order_and_never_skipped() -> None:
    summary = make_summary(sentences=("Short one.", "A much longer second sentence.", "Third."))
    limit = mastodon_length("A title\n\nShort one.\n\nhttps://example.com/post") + 10

    text = render_text(summary, TEMPLATE, limit, mastodon_length)

    assert text == "A title\n\nShort one.\n\nhttps://example.com/post"


# --- templates


def test_literal_text_and_braces_in_the_template_are_kept() -> None:
    template = "New post: {title} {{draft}}\n{url}"
    assert render_text(make_summary(), template, 500, mastodon_length) == (
        "New post: A title {draft}\nhttps://example.com/post"
    )


@pytest.mark.parametrize("placeholder", ["{content}", "{Title}", "{}", "{title.upper}", "{0}"])
def test_unknown_placeholders_are_a_config_error_naming_them(placeholder: str) -> None:
    with pytest.raises(ConfigError, match=regex.escape(placeholder)):
        render_text(make_summary(), f"{{title}} {placeholder} {{url}}", 500, mastodon_length)


def test_format_specs_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=regex.escape("{title:>10}")):
        render_text(make_summary(), "{title:>10} {url}", 500, mastodon_length)


def test_a_malformed_template_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="malformed"):
        render_text(make_summary(), "{title {url}", 500, mastodon_length)


def test_empty_placeholders_leave_no_blank_lines_or_trailing_spaces() -> None:
    summary = make_summary(title="", sentences=())
    template = "{title}\n\n{summary}\n\n{url} {hashtags}\n\n{hashtags}"
    assert render_text(summary, template, 500, mastodon_length) == "https://example.com/post"


def test_an_empty_title_leaves_no_leading_blank_line() -> None:
    summary = make_summary(title="")
    assert render_text(summary, TEMPLATE, 500, mastodon_length) == (
        "First sentence here. Second one.\n\nhttps://example.com/post"
    )


def test_no_double_spaces_are_left_by_an_empty_placeholder() -> None:
    template = "{title} {hashtags} {url}"
    assert render_text(make_summary(), template, 500, mastodon_length) == (
        "A title https://example.com/post"
    )


# --- the URL and other things that are never split


def test_a_limit_below_the_url_and_literal_text_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="over the limit of 25"):
        render_text(make_summary(), "Read: {url}", 25, mastodon_length)


def test_a_long_url_is_never_cut() -> None:
    link = "https://example.com/" + "long-path-segment/" * 20 + "end"
    text = render_text(make_summary(link=link), TEMPLATE, 60, mastodon_length)
    assert url_intact(text, link)
    assert mastodon_length(text) <= 60


def test_hashtags_glued_to_the_url_are_dropped_to_keep_the_link() -> None:
    summary = make_summary(hashtags=("Tag",))
    text = render_text(summary, "{title} {url}{hashtags}", 500, mastodon_length)
    assert text == "A title https://example.com/post"


def test_a_template_that_glues_text_to_the_url_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="joins other text to the link"):
        render_text(make_summary(), "{url}/more", 500, mastodon_length)


def test_a_cut_never_splits_a_url_inside_the_summary() -> None:
    sentence = "Look at https://example.com/a/very/long/path/that/goes/on/and/on right now."
    summary = make_summary(title="T", sentences=(sentence,))

    text = render_text(summary, TEMPLATE, 60, mastodon_length)

    assert mastodon_length(text) <= 60
    # "Look at <url>…" would count 32 and fit, but the ellipsis would join the URL.
    assert text.split("\n\n")[1] == "Look at…"


def test_the_ellipsis_is_never_glued_onto_a_url() -> None:
    # "…" is a valid URL character: ".../path.…" would change the link.
    sentence = "Read https://example.com/path. It is good and worth reading today."
    summary = make_summary(title="T", sentences=(sentence,))
    limit = mastodon_length("T\n\nRead https://example.com/path.…\n\nhttps://example.com/post")

    text = render_text(summary, TEMPLATE, limit, mastodon_length)

    assert text == "T\n\nRead…\n\nhttps://example.com/post"


def test_cjk_text_is_cut_between_ideographs() -> None:
    summary = make_summary(title="T", sentences=("東京は日本の首都であり、世界最大の都市圏です。",))
    text = render_text(summary, TEMPLATE, 40, mastodon_length)
    body = text.split("\n\n")[1]
    assert body.endswith(ELLIPSIS) and len(body) > 1
    assert mastodon_length(text) <= 40


def test_a_hashtag_in_the_summary_is_never_split() -> None:
    summary = make_summary(title="T", sentences=("#東京タワー is tall and it is very old indeed.",))
    text = render_text(summary, TEMPLATE, 38, mastodon_length)
    body = text.split("\n\n")[1]
    assert body == "#東京タワー is…"


def test_any_counter_can_be_used() -> None:
    text = render_text(make_summary(), TEMPLATE, 40, len)
    assert len(text) <= 40
    assert text.endswith("https://example.com/post")


# --- properties

CLUSTERS = [
    "a", "b", "Z", "é", "e\u0301", "a\u0308\u0301", "👨\u200d👩\u200d👧", "🇫🇷", "🇯🇵",
    "👍🏽", "日", "本", "語", "한", "ß", ",", ".", "!", "-", "'", "’", "#", "@",
]  # fmt: skip
WORDS = st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=12).map("".join)
PHRASES = st.lists(WORDS, min_size=1, max_size=30).map(" ".join)
URLS = st.sampled_from(
    [
        FOUNDING_URL,
        "https://example.com/post",
        "https://en.wikipedia.org/wiki/Primer_(film)",
        "https://例え.jp/パス?q=1",
        "http://a.co",
    ]
)
TEMPLATES = st.sampled_from(
    [
        TEMPLATE,
        "{title}\n\n{summary}\n\n{url}\n\n{hashtags}",
        "{summary} {url} {hashtags}",
        "New: {title} — {summary}\n{url}",
        "{url}\n{title}",
    ]
)
TAGS = st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,15}", fullmatch=True), max_size=5)


@st.composite
def summaries(draw: st.DrawFn, text: st.SearchStrategy[str]) -> Summary:
    sentences = tuple(draw(st.lists(text, max_size=6)))
    return Summary(draw(text), " ".join(sentences), sentences, draw(URLS), tuple(draw(TAGS)))


def clusters_of(text: str) -> set[str]:
    return set(GRAPHEME.findall(text))


@settings(max_examples=300, deadline=None)
@given(summaries(PHRASES), TEMPLATES, st.integers(60, 500))
def test_render_fits_keeps_the_url_and_never_splits_a_grapheme(
    summary: Summary, template: str, limit: int
) -> None:
    text = render_text(summary, template, limit, mastodon_length)

    assert mastodon_length(text) <= limit
    assert url_intact(text, summary.link)
    source = " \n".join((summary.title, *summary.sentences, summary.link, template))
    allowed = clusters_of(source) | {ELLIPSIS, "#", *"".join(summary.hashtags)}
    # Every cluster, the last one included, is a whole cluster of the input.
    assert clusters_of(text) <= allowed


@settings(max_examples=300, deadline=None)
@given(summaries(st.text(max_size=120)), TEMPLATES, st.integers(60, 500))
def test_render_fits_and_keeps_the_url_for_any_text(
    summary: Summary, template: str, limit: int
) -> None:
    text = render_text(summary, template, limit, mastodon_length)

    assert mastodon_length(text) <= limit
    assert url_intact(text, summary.link)
