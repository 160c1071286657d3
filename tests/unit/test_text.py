"""HTML to clean text, sentence splitting, and the extractive (lead) summariser."""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import pytest

from syndicate.model import FeedEntry
from syndicate.summarise.extractive import hashtags_from, summarise
from syndicate.summarise.text import clean_text, html_to_paragraphs, split_sentences

FOUNDING_FEED = Path(__file__).parents[2] / "config" / "demo" / "feed.atom"


def founding_entry() -> FeedEntry:
    """The founding sample post, read the way the feed parser reads it: feedparser from bytes."""
    parsed = feedparser.parse(io.BytesIO(FOUNDING_FEED.read_bytes()))
    (entry,) = parsed.entries
    return FeedEntry(
        identity=entry.id,
        link=entry.link,
        title=entry.title,
        content_html=entry.content[0].value,
        categories=tuple(tag.term for tag in entry.tags),
    )


# --- html_to_paragraphs and clean_text


def test_founding_sample_gives_six_clean_paragraphs() -> None:
    paragraphs = html_to_paragraphs(founding_entry().content_html)

    assert len(paragraphs) == 6
    text = "\n\n".join(paragraphs)
    assert "Macbook Air's" in text
    assert "O'Rielly" in text
    for leftover in ("&#x27;", "&amp;", "<p>", "</p>", "\xa0", "  "):
        assert leftover not in text
    assert paragraphs[0].startswith("As I sit here in Conference room B")
    assert paragraphs[-1].endswith("as OMS 2011 rolls on!!!")


def test_clean_text_separates_paragraphs_with_a_blank_line() -> None:
    assert clean_text("<p>One.</p><p>Two.</p>") == "One.\n\nTwo."


def test_every_html5_entity_is_decoded() -> None:
    html = "<p>Tom &apos;n&apos; Jerry &NotEqualTilde; &hellip; &mdash; &#x27;x&#39; &euro;</p>"
    assert html_to_paragraphs(html) == ["Tom 'n' Jerry ≂̸ … — 'x' €"]


def test_entities_are_decoded_once_as_a_browser_would() -> None:
    assert html_to_paragraphs("Q&amp;A &amp;amp; &amp;lt;p&amp;gt;") == ["Q&A &amp; &lt;p&gt;"]
    assert html_to_paragraphs("&lt;p&gt; is a tag") == ["<p> is a tag"]


def test_legacy_character_references_map_like_a_browser() -> None:
    # Windows-1252 numbers (common in old blog exports) and entities without a semicolon.
    assert html_to_paragraphs("&#150; &#147;quoted&#148; &copy 2011") == ["– “quoted” © 2011"]


def test_non_breaking_and_unicode_spaces_become_plain_spaces() -> None:
    assert html_to_paragraphs("a&nbsp;&nbsp;b\u2003c\u3000d") == ["a b c d"]


def test_whitespace_runs_collapse_and_paragraphs_are_stripped() -> None:
    assert html_to_paragraphs("<p>  lots \n\t of   space  </p>") == ["lots of space"]


def test_invisible_characters_are_removed() -> None:
    assert html_to_paragraphs("soft&shy;hyphen zero&#8203;width bom\ufeff ctrl\x01") == [
        "softhyphen zerowidth bom ctrl"
    ]


@pytest.mark.parametrize(
    "tag",
    [
        "script",
        "style",
        "iframe",
        "noscript",
        "object",
        "embed",
        "figcaption",
        "form",
        "button",
        "svg",
    ],
)
def test_non_content_elements_are_dropped(tag: str) -> None:
    # A <div>, not a <p>: the parser closes an open <p> before a <form>, as browsers do.
    assert html_to_paragraphs(f"<div>kept <{tag}>dropped</{tag}>text</div>") == ["kept text"]


def test_comments_are_not_text() -> None:
    assert html_to_paragraphs("<p>a<!-- hidden -->b</p>") == ["ab"]


@pytest.mark.parametrize(
    "html",
    [
        "<p>one</p><p>two</p>",
        "<div>one</div><div>two</div>",
        "<ul><li>one</li><li>two</li></ul>",
        "<h1>one</h1>two",
        "one<br>two",
        "<blockquote>one</blockquote>two",
        "<pre>one</pre>two",
        "<table><tr><td>one</td></tr><tr><td>two</td></tr></table>",
        "<section>one</section><article>two</article>",
    ],
)
def test_block_elements_break_paragraphs(html: str) -> None:
    assert html_to_paragraphs(html) == ["one", "two"]


def test_inline_elements_do_not_split_words() -> None:
    assert html_to_paragraphs("<p><b>bold</b>er and <a href='x'>linked</a>.</p>") == [
        "bolder and linked."
    ]


def test_nested_blocks_keep_document_order() -> None:
    assert html_to_paragraphs("<div>a<div>b</div>c</div>") == ["a", "b", "c"]


def test_table_cells_in_a_row_are_set_apart() -> None:
    assert html_to_paragraphs("<table><tr><td>a</td><td>b</td></tr></table>") == ["a b"]


def test_empty_input_and_empty_blocks_give_no_paragraphs() -> None:
    assert html_to_paragraphs("") == []
    assert html_to_paragraphs("<p> </p><div>&nbsp;</div><br><br>") == []


def test_deeply_nested_markup_does_not_hit_the_recursion_limit() -> None:
    assert html_to_paragraphs("<div>" * 3000 + "deep" + "</div>" * 3000) == ["deep"]


def test_plain_text_that_looks_like_a_url_is_text() -> None:
    assert html_to_paragraphs("https://example.com/post") == ["https://example.com/post"]


# --- split_sentences


def test_splits_after_terminal_punctuation_before_a_capital() -> None:
    assert split_sentences("One here. Two there! Three? Four") == [
        "One here.",
        "Two there!",
        "Three?",
        "Four",
    ]


def test_punctuation_runs_stay_with_their_sentence() -> None:
    assert split_sentences("Rolls on!!! Really?! Yes.") == ["Rolls on!!!", "Really?!", "Yes."]


def test_closing_quotes_and_brackets_stay_with_their_sentence() -> None:
    assert split_sentences('He said "Stop." Then left. (An aside.) Next') == [
        'He said "Stop."',
        "Then left. (An aside.)",  # "(" does not open a sentence; ".)" closes one
        "Next",
    ]


def test_splits_before_a_digit_or_an_opening_quote() -> None:
    assert split_sentences('It ended. 2011 began. "Quoted" start.') == [
        "It ended.",
        "2011 began.",
        '"Quoted" start.',
    ]


def test_does_not_split_before_lower_case() -> None:
    assert split_sentences("Wait... and then. ok") == ["Wait... and then. ok"]


def test_ellipsis_before_a_capital_ends_a_sentence() -> None:
    assert split_sentences("Wait… Then it came.") == ["Wait…", "Then it came."]


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Smith and Mrs. Jones met Dr. Who at St. Paul.",
        "Buy apples, pears etc. Nothing else.",
        "Cats vs. Dogs is a film.",
        "Acme Inc. And Widgets Ltd. Merged.",
        "Martin Luther King Jr. Day and John Smith Sr. Retired.",
        "See Fig. 3 and No. 5 on the map.",
        "Fruit, e.g. Apples, i.e. Red ones.",
        "The U.S. Army marched.",
        "J. R. R. Tolkien wrote it.",
    ],
)
def test_does_not_split_inside_abbreviations_or_initials(text: str) -> None:
    assert split_sentences(text) == [text]


def test_does_not_split_decimals_or_urls() -> None:
    text = "Version 3.5 is out at https://example.com/a.b.c now."
    assert split_sentences(text) == [text]


def test_a_url_can_end_a_sentence() -> None:
    assert split_sentences("See https://example.com/a.b. Then go.") == [
        "See https://example.com/a.b.",
        "Then go.",
    ]


def test_founding_sample_sentences_are_whole() -> None:
    paragraph = html_to_paragraphs(founding_entry().content_html)[1]
    assert split_sentences(paragraph) == [
        "The training today is titled Social Media 2.0.",
        "We have all heard of Web 2.0, and most believe it is all about Social Media.",
        "When O'Rielly media came up with that name for their conference in 2004, it was "
        "supposed to describe the re-birth of the web after the Dot Com crash.",
        "This was to showcase the transformation of a static web to that of a dynamic and "
        "contributory web experience.",
    ]


def test_blank_paragraph_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences("   ") == []


# --- extractive summarise


def test_summary_of_the_founding_sample() -> None:
    entry = founding_entry()
    summary = summarise(entry)

    assert summary.title == "Social Media 2.0 - Day 1 at OMS 2011"
    assert summary.link == "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"
    assert summary.text == clean_text(entry.content_html)
    assert summary.text.count("\n\n") == 5
    assert summary.sentences[0].startswith("As I sit here in Conference room B")
    assert summary.sentences[-1].endswith("as OMS 2011 rolls on!!!")
    assert len(summary.sentences) == 24
    assert summary.hashtags == ("OMS2011", "SocialMedia", "Web20")


def test_sentences_follow_document_order_across_paragraphs() -> None:
    entry = FeedEntry("id", "https://x.org/a", "T", "<p>A one. A two.</p><p>B one.</p>")
    assert summarise(entry).sentences == ("A one.", "A two.", "B one.")


def test_title_entities_are_decoded_and_whitespace_normalised() -> None:
    entry = FeedEntry("id", "https://x.org/a", "  Q&amp;A:\n  <em>new</em>&nbsp;tips ", "")
    assert summarise(entry).title == "Q&A: new tips"


def test_missing_title_falls_back_to_the_first_words() -> None:
    html = "<p>One two three four five six seven eight nine ten. Second.</p>"
    entry = FeedEntry("id", "https://x.org/a", "", html)
    assert summarise(entry).title == "One two three four five six seven eight…"


def test_missing_title_and_short_first_sentence_uses_the_sentence() -> None:
    entry = FeedEntry("id", "https://x.org/a", " ", "<p>Short note. More.</p>")
    assert summarise(entry).title == "Short note."


def test_empty_entry_summarises_to_empty_parts() -> None:
    summary = summarise(FeedEntry("id", "https://x.org/a", "", ""))
    assert (summary.title, summary.text, summary.sentences) == ("", "", ())


@pytest.mark.parametrize(
    ("category", "tag"),
    [
        ("Social Media", "SocialMedia"),
        ("Web 2.0", "Web20"),
        ("OMS 2011", "OMS2011"),
        ("social media", "SocialMedia"),
        ("iPad tips", "iPadTips"),
        ("don't panic", "DontPanic"),
        ("C++ & Rust", "CRust"),
        ("snake_case", "Snake_case"),
        ("Café crème", "CaféCrème"),
        ("日本 旅行", "日本旅行"),
    ],
)
def test_categories_become_camel_case_hashtags(category: str, tag: str) -> None:
    assert hashtags_from([category]) == (tag,)


def test_hashtags_drop_empty_and_digit_only_and_repeats_keeping_order() -> None:
    categories = ["2011", "Web 2.0", "!!!", "web 2.0", "Python", "PYTHON", "", "Go"]
    assert hashtags_from(categories) == ("Web20", "Python", "Go")
