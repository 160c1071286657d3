"""HTML to clean text: paragraphs, entities, widgets, feed boilerplate, sentence splitting."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.feeds.parse import parse_feed
from syndicate.model import FeedEntry
from syndicate.summarise.text import (
    clean_paragraphs,
    clean_text,
    html_to_paragraphs,
    inline_text,
    read_content,
    split_sentences,
)

FOUNDING_FEED = Path(__file__).resolve().parents[2] / "config" / "demo" / "feed.atom"


def founding_entry() -> FeedEntry:
    """The founding sample post, read the way the watcher reads it."""
    (entry,) = parse_feed(FOUNDING_FEED.read_bytes()).entries
    return entry


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
    # Deeper than Python's recursion limit; within libxml2's 2048 levels (huge_tree).
    assert html_to_paragraphs("<div>" * 1500 + "deep" + "</div>" * 1500) == ["deep"]


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
        "Then left.",
        "(An aside.)",  # "(" before a capital opens a sentence; ".)" closes one
        "Next",
    ]


def test_a_bracket_before_lower_case_does_not_open_a_sentence() -> None:
    assert split_sentences("It works. (mostly) Fine.") == ["It works. (mostly) Fine."]


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
        "Cats vs. Dogs is a film.",
        "Martin Luther King Jr. Day and John Smith Sr. Retired.",
        "See Fig. 3 and No. 5 on the map.",
        "Fruit, e.g. Apples, i.e. Red ones.",
        "The U.S. Army marched.",
        "J. R. R. Tolkien wrote it.",
    ],
)
def test_does_not_split_inside_abbreviations_or_initials(text: str) -> None:
    assert split_sentences(text) == [text]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        # "etc.", "Inc." and "Ltd." before a capital end a sentence far more often than not.
        ("Pears etc. Nothing else.", ["Pears etc.", "Nothing else."]),
        (
            "Made by MOS Technology, Inc. BSO copied it.",
            ["Made by MOS Technology, Inc.", "BSO copied it."],
        ),
        # "No." is an abbreviation only before a number.
        ("I said no. Then it rained.", ["I said no.", "Then it rained."]),
        ("See No. 5 and p. 12 now.", ["See No. 5 and p. 12 now."]),
    ],
)
def test_abbreviations_that_often_end_a_sentence(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_a_list_number_is_not_a_sentence() -> None:
    assert split_sentences("35. Jacques Laffite") == ["35. Jacques Laffite"]
    assert split_sentences("(2). Second place") == ["(2). Second place"]


def test_a_quotation_of_several_sentences_stays_whole() -> None:
    text = "The founders “hacked it together. Then they built more. Voilà.” It was a moment."
    assert split_sentences(text) == [
        "The founders “hacked it together. Then they built more. Voilà.”",
        "It was a moment.",
    ]
    assert split_sentences('He said "Go. Now." She went.') == ['He said "Go. Now."', "She went."]


def test_an_unclosed_quotation_does_not_glue_the_paragraph() -> None:
    text = "He said “wait. " + "More words here. " * 40
    assert len(split_sentences(text)) > 30


def test_a_word_with_inner_capitals_can_open_a_sentence() -> None:
    assert split_sentences("Sales fell. iPhone sales rose.") == [
        "Sales fell.",
        "iPhone sales rose.",
    ]


def test_cjk_full_stops_end_sentences_without_a_space() -> None:
    assert split_sentences("日本語です。次の文です！最後？") == [
        "日本語です。",
        "次の文です！",
        "最後？",
    ]


def test_does_not_split_decimals_or_urls() -> None:
    text = "Version 3.5 is out at https://example.com/a.b.c now."
    assert split_sentences(text) == [text]


def test_a_url_can_end_a_sentence() -> None:
    assert split_sentences("See https://example.com/a.b. Then go.") == [
        "See https://example.com/a.b.",
        "Then go.",
    ]


def test_does_not_split_file_extensions_or_domains() -> None:
    text = "Delete the .vs folder next to the .sln file on example.com today."
    assert split_sentences(text) == [text]


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


# --- widgets, hidden elements and pictures


@pytest.mark.parametrize(
    "widget",
    [
        '<div class="sharedaddy sd-sharing-enabled"><h3>Share this:</h3><a>Twitter</a></div>',
        '<div id="jp-relatedposts" class="jp-relatedposts"><h3>Related</h3><p>Other</p></div>',
        '<div class="addtoany_share_save_container"><a>Share</a></div>',
        '<div class="post-share-buttons"><a>Email This</a><a>BlogThis!</a></div>',
        '<div class="wp-block-buttons"><a class="wp-block-button">Subscribe</a></div>',
        '<div class="social-links"><a>Mastodon</a></div>',
        '<section id="comments"><h4>2 Comments</h4><p>Nice post!</p></section>',
        '<div class="feedflare"><a>Email this</a></div>',
        '<p class="wp-caption-text">A caption under a picture</p>',
        "<div hidden>hidden text</div>",
        '<p style="display: none">hidden text</p>',
        "<video>Your browser does not support the video tag.</video>",
    ],
)
def test_widgets_and_hidden_elements_are_dropped(widget: str) -> None:
    assert clean_paragraphs(f"<p>The post itself.</p>{widget}<p>Its end.</p>") == [
        "The post itself.",
        "Its end.",
    ]


@pytest.mark.parametrize(
    "html",
    [
        '<body class="single comments-open"><p>Body text.</p></body>',
        '<article class="post category-social-media"><p>Body text.</p></article>',
        '<div class="shareholders"><p>Body text.</p></div>',
        '<pre><span class="hljs-comment">Body text.</span></pre>',
    ],
)
def test_content_with_widget_like_class_names_is_kept(html: str) -> None:
    assert clean_paragraphs(html) == ["Body text."]


def test_first_picture_skips_pixels_emoji_and_trackers() -> None:
    html = (
        '<img src="https://feeds.feedburner.com/~r/blog/~4/x" width="1" height="1">'
        '<img class="wp-smiley emoji" src="https://s.w.org/images/core/emoji/1f600.png" alt="😀">'
        '<img src="data:image/gif;base64,R0lGOD" data-src="https://blog.example/cat.jpg"'
        ' alt=" A  cat &amp; a hat ">'
        '<img src="https://blog.example/second.jpg">'
    )
    content = read_content(html)
    assert (content.image_url, content.image_alt) == (
        "https://blog.example/cat.jpg",
        "A cat & a hat",
    )


def test_no_picture_gives_empty_strings() -> None:
    assert (read_content("<p>text</p>").image_url, read_content("").image_alt) == ("", "")


def test_headings_list_items_and_code_are_not_prose() -> None:
    blocks = read_content(
        "<h2>Title</h2><p>Prose.</p><ul><li>item</li></ul><pre>x = 1</pre>"
    ).blocks
    assert [(b.text, b.prose) for b in blocks] == [
        ("Title", False),
        ("Prose.", True),
        ("item", False),
        ("x = 1", False),
    ]


def test_inline_text_decodes_and_flattens() -> None:
    assert inline_text("  Q&amp;A:\n <em>new</em>&nbsp;tips ") == "Q&A: new tips"
    assert inline_text("plain   title") == "plain title"


# --- feed boilerplate (reference/feeds.md §6.3; issue 4 "Clean text")


@pytest.mark.parametrize(
    ("html", "kept"),
    [
        (
            "<p>Body.</p><p>The post Squid: Midnight Chats appeared first on Loud And Quiet.</p>",
            ["Body."],
        ),
        (
            "<p>Excerpt ends here. The post Title appeared first on Blog.</p>",
            ["Excerpt ends here."],
        ),
        ('<p>Body.</p><p><a href="#">Continue reading <span>→</span></a></p>', ["Body."]),
        ("<p>Body text. Continue reading “My Post” →</p>", ["Body text."]),
        ("<p>Body.</p><p>Continue Reading</p>", ["Body."]),
        ("<p>Body text. Read more</p>", ["Body text."]),
        ("<p>Body text… Read More »</p>", ["Body text…"]),
        ("<p>Body.</p><p>Read more: Part 2 of the series</p>", ["Body."]),
        ("<p>Body.</p><p>[…]</p>", ["Body."]),
        (
            "<p>A sentence. Another that was cut, [&hellip;]</p>",
            ["A sentence. Another that was cut…"],
        ),
        ("<p>Whole sentences. [...]</p>", ["Whole sentences."]),
        ("<p>Body.</p><h3>Share this:</h3><p>Like this:</p><p>Like Loading...</p>", ["Body."]),
        ("<p>Body.</p><h3>Related</h3>", ["Body."]),
        ("<p>Body.</p><h4>0 comments:</h4><p>3 Comments</p><p>Post a Comment</p>", ["Body."]),
        (
            "<p>Body.</p><p>Twitter Delicious Facebook Digg Stumbleupon Favorites More</p>",
            ["Body."],
        ),
        ("<p>Body.</p><p>Email This BlogThis! Share to Twitter Share to Facebook</p>", ["Body."]),
        ("<p>Body.</p><p>[contact-form][/contact-form]</p>", ["Body."]),
    ],
)
def test_feed_boilerplate_never_reaches_the_text(html: str, kept: list[str]) -> None:
    assert clean_paragraphs(html) == kept


@pytest.mark.parametrize(
    "prose",
    [
        "You can read more about both in my guide.",
        "Read more books, she said, and you will write better ones.",
        "The loop operator [...] can be written another way.",
        "Twitter is where I post.",
        "It looks something like this: a box.",
        "There are 3 comments in the code.",
        "The related work is older.",
    ],
)
def test_the_same_words_inside_prose_are_kept(prose: str) -> None:
    assert clean_paragraphs(f"<p>{prose}</p>") == [prose]
