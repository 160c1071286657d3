"""Composing a post from a Summary: budget filling, degrading order, options, platforms,
threads, facets, and the invariants every rendered post keeps (hypothesis)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate.errors import ConfigError, PermanentError
from syndicate.model import ComposeOptions, Facet, Post, Summary
from syndicate.platforms.compose import ELLIPSIS, render, render_text
from syndicate.platforms.hashtags import hashtags_from
from syndicate.platforms.rules import RULES, UNLIMITED, PlatformRules
from syndicate.platforms.textlen import (
    find_urls,
    grapheme_length,
    mastodon_length,
    utf8_length,
    utf16_length,
    x_length,
)
from syndicate.platforms.thread import THREAD_MAX_PARTS

SEED = Path(__file__).resolve().parents[1] / "data" / "posts" / "seed.entry.json"
FOUNDING_URL = "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"
TEMPLATE = "{title}\n\n{summary}\n\n{url}"
TAGGED = "{title}\n\n{summary}\n\n{url}\n\n{hashtags}"
GRAPHEME = regex.compile(r"\X")
NUMBER = regex.compile(r" (\d+)/(\d+)$")


def founding_summary() -> Summary:
    """The founding sample post: its title, link, categories and the sentences of its text."""
    data = json.loads(SEED.read_text(encoding="utf-8"))["summary"]
    return Summary(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def make_summary(
    title: str = "A title",
    sentences: tuple[str, ...] = ("First sentence here.", "Second one."),
    link: str = "https://example.com/post",
    categories: tuple[str, ...] = (),
    **more: str,
) -> Summary:
    return Summary(title, "\n\n".join(sentences), sentences, link, categories, **more)


def url_intact(text: str, url: str) -> bool:
    return any(text[start:end] == url for start, end in find_urls(text))


def tagged(**options: object) -> ComposeOptions:
    return replace(ComposeOptions(template=TAGGED), **options)  # type: ignore[arg-type]


# --- the founding sample


def test_founding_sample_fits_500_with_whole_sentences_and_the_url_intact() -> None:
    summary = founding_summary()

    text = render_text(summary, TEMPLATE, 500, mastodon_length)

    assert mastodon_length(text) <= 500
    title, body, url = text.split("\n\n")
    assert title == "Social Media 2.0 - Day 1 at OMS 2011"
    assert url == FOUNDING_URL and url_intact(text, FOUNDING_URL)
    assert ELLIPSIS not in text
    n = next(n for n in range(len(summary.sentences)) if " ".join(summary.sentences[:n]) == body)
    longer = text.replace(body, " ".join(summary.sentences[: n + 1]))
    assert mastodon_length(longer) > 500


def test_a_small_limit_cuts_the_first_sentence_at_a_word_boundary() -> None:
    summary = founding_summary()

    text = render_text(summary, TEMPLATE, 140, mastodon_length)

    assert mastodon_length(text) <= 140
    title, body, url = text.split("\n\n")
    assert title == summary.title and url == FOUNDING_URL
    assert body == "As I sit here in Conference room B at the Westin Gaslamp I look around to…"


def test_a_smaller_limit_drops_the_summary_then_cuts_the_title() -> None:
    text = render_text(founding_summary(), TEMPLATE, 60, mastodon_length)
    assert text == "Social Media 2.0 - Day 1 at OMS…\n\n" + FOUNDING_URL


def test_the_founding_sample_on_x_counts_the_long_link_as_23() -> None:
    post = render(founding_summary(), ComposeOptions(), RULES["x"])

    assert post.length == x_length(post.text) <= 280
    assert post.text.endswith("\n\n" + FOUNDING_URL)
    # 71 characters of link count 23, so a whole first sentence (167) fits beside the title.
    assert founding_summary().sentences[0] in post.text


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
    summary = make_summary(categories=("One", "Two", "Three"))
    full = render_text(summary, TAGGED, 500, mastodon_length)
    assert full.endswith("#One #Two #Three")

    limit = mastodon_length(full) - len(" #Three")
    text = render_text(summary, TAGGED, limit, mastodon_length)

    assert text.endswith("https://example.com/post\n\n#One #Two")
    assert "First sentence here. Second one." in text


def test_all_hashtags_go_before_a_sentence_does() -> None:
    summary = make_summary(categories=("One",))
    template = "{title} {summary} {url} {hashtags}"
    limit = mastodon_length("A title First sentence here. Second one. https://example.com/post")

    text = render_text(summary, template, limit, mastodon_length)

    assert text == "A title First sentence here. Second one. https://example.com/post"


def test_whole_sentences_are_kept_in_order_and_never_skipped() -> None:
    summary = make_summary(sentences=("Short one.", "A much longer second sentence.", "Third."))
    limit = mastodon_length("A title\n\nShort one.\n\nhttps://example.com/post") + 10

    text = render_text(summary, TEMPLATE, limit, mastodon_length)

    assert text == "A title\n\nShort one.\n\nhttps://example.com/post"


def test_chinese_and_japanese_sentences_join_without_a_space() -> None:
    summary = make_summary(sentences=("東京です。", "大阪です。", "Then English."))
    text = render_text(summary, TEMPLATE, 500, mastodon_length)
    assert "東京です。大阪です。 Then English." in text


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


def test_an_unknown_link_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sometimes"):
        render(make_summary(), ComposeOptions(link="sometimes"), RULES["mastodon"])


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


def test_author_and_categories_fill_their_placeholders() -> None:
    summary = make_summary(categories=("Web 2.0", "Social Media"), author="Jane Doe")
    options = ComposeOptions(template="{title} by {author} ({categories}) {url}")

    post = render(summary, options, RULES["mastodon"])

    assert post.text == "A title by Jane Doe (Web 2.0, Social Media) https://example.com/post"


def test_author_and_categories_go_when_not_even_they_fit_beside_the_link() -> None:
    summary = make_summary(author="A" * 40)
    options = ComposeOptions(template="{author}: {title} {url}")

    post = render(summary, options, replace(RULES["mastodon"], limit=40))

    assert post.text == ": A title https://example.com/post"
    assert post.notes == ("no room for {author} or {categories}: left out",)


# --- the URL and other things that are never split


def test_a_limit_below_the_url_and_literal_text_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="over the limit of 25"):
        render_text(make_summary(), "Read: {url}", 25, mastodon_length)


def test_a_long_url_is_never_cut() -> None:
    link = "https://example.com/" + "long-path-segment/" * 20 + "end"
    text = render_text(make_summary(link=link), TEMPLATE, 60, mastodon_length)
    assert url_intact(text, link)
    assert mastodon_length(text) <= 60


def test_bluesky_counts_the_whole_url_and_refuses_one_that_cannot_fit() -> None:
    link = "https://example.com/" + "segment/" * 40
    with pytest.raises(PermanentError, match="over the limit of 300"):
        render(make_summary(link=link), ComposeOptions(), RULES["bluesky"])


def test_hashtags_glued_to_the_url_are_dropped_to_keep_the_link() -> None:
    summary = make_summary(categories=("Tag",))
    text = render_text(summary, "{title} {url}{hashtags}", 500, mastodon_length)
    assert text == "A title https://example.com/post"


def test_a_template_that_glues_text_to_the_url_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="joins other text to the link"):
        render_text(make_summary(), "{url}/more", 500, mastodon_length)


def test_a_cut_never_splits_a_url_inside_the_summary() -> None:
    sentence = "Look at https://example.com/a/very/long/path/that/goes/on/and/on right now."
    summary = make_summary(title="T", sentences=(sentence,))

    text = render_text(summary, TEMPLATE, 60, mastodon_length)

    # "Look at <url>…" would count 32 and fit, but the ellipsis would join the URL.
    assert text.split("\n\n")[1] == "Look at…"


def test_the_ellipsis_is_never_glued_onto_a_url() -> None:
    # "…" is a valid URL character: ".../path.…" would change the link.
    sentence = "Read https://example.com/path. It is good and worth reading today."
    summary = make_summary(title="T", sentences=(sentence,))
    limit = mastodon_length("T\n\nRead https://example.com/path.…\n\nhttps://example.com/post")

    text = render_text(summary, TEMPLATE, limit, mastodon_length)

    assert text == "T\n\nRead…\n\nhttps://example.com/post"


def test_x_never_cuts_inside_a_scheme_less_url() -> None:
    sentence = "Everything is on blog.example.dev/posts/2024/a-long-slug today, read it."
    summary = make_summary(title="T", sentences=(sentence,))

    post = render(summary, ComposeOptions(), replace(RULES["x"], limit=60))

    body = post.text.split("\n\n")[1]
    assert body in (
        "Everything is on…",
        "Everything is on blog.example.dev/posts/2024/a-long-slug…",
    )
    assert post.length <= 60


def test_cjk_text_is_cut_between_ideographs() -> None:
    summary = make_summary(title="T", sentences=("東京は日本の首都であり、世界最大の都市圏です。",))
    text = render_text(summary, TEMPLATE, 40, mastodon_length)
    body = text.split("\n\n")[1]
    assert body.endswith(ELLIPSIS) and len(body) > 1
    assert mastodon_length(text) <= 40


def test_a_hashtag_in_the_summary_is_never_split() -> None:
    summary = make_summary(title="T", sentences=("#東京タワー is tall and it is very old indeed.",))
    text = render_text(summary, TEMPLATE, 38, mastodon_length)
    assert text.split("\n\n")[1] == "#東京タワー is…"


def test_a_mention_is_never_split() -> None:
    summary = make_summary(title="T", sentences=("Thanks @someone@example.social for this.",))
    # Mastodon counts the remote mention as "@someone": 44 with it, 48 with "for" too.
    text = render_text(summary, TEMPLATE, 45, mastodon_length)
    assert text.split("\n\n")[1] == "Thanks @someone@example.social…"
    text = render_text(summary, TEMPLATE, 43, mastodon_length)
    assert text.split("\n\n")[1] == "Thanks…"


def test_surrogate_pairs_join_and_lone_surrogates_and_boms_go() -> None:
    halves = "\ud83d\ude00"  # 😀 as two UTF-16 halves, as a 'surrogatepass' decode leaves it
    summary = make_summary(title="Smile " + halves, sentences=("Lone \ud800 here\ufeff.",))

    post = render(summary, ComposeOptions(), RULES["bluesky"])

    assert post.text.startswith("Smile 😀\n\nLone \ufffd here.\n\n")
    post.text.encode("utf-8")  # strict: no surrogate is left to refuse


def test_windows_line_breaks_become_newlines() -> None:
    summary = make_summary(title="Two\r\nlines")
    assert render_text(summary, TEMPLATE, 500, mastodon_length).startswith("Two\nlines\n\n")


def test_any_counter_can_be_used() -> None:
    text = render_text(make_summary(), TEMPLATE, 40, len)
    assert len(text) <= 40
    assert text.endswith("https://example.com/post")


# --- options


def test_link_when_truncated_leaves_out_the_link_of_a_whole_summary() -> None:
    options = ComposeOptions(link="when_truncated")

    post = render(make_summary(), options, RULES["bluesky"])

    assert post.text == "A title\n\nFirst sentence here. Second one."
    assert post.card is None and post.facets == ()


def test_link_when_truncated_adds_the_link_once_something_is_left_out() -> None:
    options = ComposeOptions(link="when_truncated")

    post = render(founding_summary(), options, RULES["x"])

    assert post.text.endswith("\n\n" + FOUNDING_URL)


def test_hashtags_can_be_switched_off() -> None:
    summary = make_summary(categories=("Python",))
    post = render(summary, tagged(hashtags=False), RULES["mastodon"])
    assert "#" not in post.text


def test_max_hashtags_allow_and_deny_lists_choose_the_tags() -> None:
    summary = make_summary(categories=("Uncategorized", "Python", "Web 2.0", "Go", "Rust"))
    options = tagged(max_hashtags=2, categories_deny=("uncategorized",))
    assert render(summary, options, RULES["mastodon"]).text.endswith("#Python #Web20")

    options = tagged(categories_allow=("GO", "rust"))
    assert render(summary, options, RULES["mastodon"]).text.endswith("#Go #Rust")


def test_hashtags_dropped_from_a_long_post_come_back_in_a_roomier_one() -> None:
    summary = founding_summary()
    x = render(summary, tagged(), RULES["x"])
    mastodon = render(summary, tagged(), RULES["mastodon"])
    assert x.text.endswith("#OMS2011 #SocialMedia #Web20")
    assert mastodon.text.endswith("#OMS2011 #SocialMedia #Web20")
    assert len(mastodon.text) > len(x.text)


@pytest.mark.parametrize(
    ("categories", "tags"),
    [
        (("Social Media",), ("SocialMedia",)),
        (("Web 2.0",), ("Web20",)),
        (("don't panic",), ("DontPanic",)),
        (("iPad", "OMS"), ("iPad", "OMS")),
        (("C++", "C#"), ("Cpp", "CSharp")),
        (("2011", "  ", "_"), ()),
        (("Python", "python", "PYTHON"), ("Python",)),
        (("東京", "ウェブ 開発"), ("東京", "ウェブ開発")),
    ],
)
def test_categories_become_camel_case_hashtags(
    categories: tuple[str, ...], tags: tuple[str, ...]
) -> None:
    assert hashtags_from(categories, ComposeOptions(max_hashtags=10)) == tags


def test_without_camel_case_multi_word_categories_are_dropped() -> None:
    options = ComposeOptions(camel_case_tags=False)
    assert hashtags_from(("Social Media", "Python", "Web 2.0"), options) == ("Python",)


def test_an_abstract_that_fits_whole_is_used_with_the_hashtags_that_fit() -> None:
    abstract = "A model wrote this: it says everything in one breath."
    summary = make_summary(categories=("Python",), abstract=abstract)

    post = render(summary, tagged(), RULES["mastodon"])

    assert post.text == f"A title\n\n{abstract}\n\nhttps://example.com/post\n\n#Python"
    assert post.notes == ()


def test_an_abstract_too_long_falls_back_to_the_sentences_with_a_note() -> None:
    summary = make_summary(abstract="word " * 100)

    post = render(summary, ComposeOptions(), RULES["x"])

    assert "First sentence here. Second one." in post.text
    assert post.notes == ("the abstract does not fit whole: used the extractive sentences",)


def test_hashtags_go_before_the_abstract_does() -> None:
    abstract = "An abstract of exactly the right size."
    summary = make_summary(categories=("Python",), abstract=abstract)
    whole = f"A title\n\n{abstract}\n\nhttps://example.com/post"

    post = render(summary, tagged(), replace(RULES["mastodon"], limit=mastodon_length(whole)))

    assert post.text == whole


def test_the_limit_can_be_overridden_per_account() -> None:
    post = render(founding_summary(), ComposeOptions(), RULES["mastodon"], limit=200)
    assert post.limit == 200
    assert post.length == mastodon_length(post.text) <= 200


# --- platforms


def test_every_platform_has_its_rules() -> None:
    names = ["x", "mastodon", "bluesky", "linkedin", "facebook", "tumblr", "threads", "webhook"]
    names.append("log")
    assert sorted(RULES) == sorted(names)
    assert all(rules.name == name for name, rules in RULES.items())
    limits = {name: rules.limit for name, rules in RULES.items()}
    assert limits == {
        **{"x": 280, "mastodon": 500, "bluesky": 300, "linkedin": 3000},
        **{"facebook": 63206, "tumblr": 4096, "threads": 500},
        **{"webhook": UNLIMITED, "log": 500},
    }
    assert RULES["bluesky"].max_bytes == 3000


def test_the_webhook_gets_the_whole_summary() -> None:
    summary = founding_summary()
    post = render(summary, ComposeOptions(), RULES["webhook"])
    assert post.limit == UNLIMITED
    assert summary.sentences[-1] in post.text


def test_tumblr_counts_code_points() -> None:
    family = "👨‍👩‍👧"  # five code points, one grapheme
    summary = make_summary(title=" ".join([family] * 10), sentences=())
    limit = 24 + 2 + len("https://example.com/post")  # 24 code points for the title

    post = render(summary, ComposeOptions(), replace(RULES["tumblr"], limit=limit))

    assert post.text == " ".join([family] * 4) + "…\n\nhttps://example.com/post"
    assert post.length == len(post.text) == limit


def test_linkedin_escapes_text_but_not_the_link_or_the_hashtags() -> None:
    summary = make_summary(
        title="C++ (and C#) tips",
        sentences=("Use [brackets] and *stars* @home.",),
        link="https://en.wikipedia.org/wiki/Primer_(film)",
        categories=("Film",),
    )

    post = render(summary, tagged(), RULES["linkedin"])

    assert post.text == (
        "C++ \\(and C\\#\\) tips\n\nUse \\[brackets\\] and \\*stars\\* \\@home.\n\n"
        "https://en.wikipedia.org/wiki/Primer_(film)\n\n#Film"
    )
    assert post.length == utf16_length(post.text)
    assert post.card is not None and post.card.title == "C++ (and C#) tips"


def test_linkedin_counts_the_escapes() -> None:
    summary = make_summary(title="T", sentences=("(a) (b) (c) (d).", "More."))
    unescaped = "T\n\n(a) (b) (c) (d). More.\n\nhttps://example.com/post"
    limit = len(unescaped) + 2  # room for both sentences, were they not escaped

    post = render(summary, ComposeOptions(), replace(RULES["linkedin"], limit=limit))

    escaped = "T\n\n\\(a\\) \\(b\\) \\(c\\) \\(d\\).\n\nhttps://example.com/post"
    assert post.text == escaped
    assert post.length == len(escaped) == limit


def test_bluesky_facets_point_at_the_link_and_tags_in_utf8_bytes() -> None:
    summary = make_summary(
        title="日本 👨‍👩‍👧",
        sentences=("See https://example.org/a_(b) and #inline tags.",),
        categories=("Python",),
    )

    post = render(summary, tagged(), RULES["bluesky"])

    data = post.text.encode("utf-8")
    spans = {(f.kind, data[f.byte_start : f.byte_end].decode()) for f in post.facets}
    assert spans == {
        ("link", "https://example.org/a_(b)"),
        ("tag", "#inline"),
        ("link", "https://example.com/post"),
        ("tag", "#Python"),
    }
    assert [f.byte_start for f in post.facets] == sorted(f.byte_start for f in post.facets)


def test_bluesky_links_an_entry_url_its_finder_does_not_know() -> None:
    summary = make_summary(link="http://127.0.0.1:8000/post")
    post = render(summary, ComposeOptions(), RULES["bluesky"])
    (facet,) = post.facets
    assert facet == Facet("link", facet.byte_start, facet.byte_end, "http://127.0.0.1:8000/post")
    assert post.text.encode()[facet.byte_start : facet.byte_end] == b"http://127.0.0.1:8000/post"


def test_bluesky_card_has_the_title_a_short_description_and_the_image() -> None:
    summary = replace(founding_summary(), image_url="https://blog.example.com/i.png")

    post = render(summary, ComposeOptions(), RULES["bluesky"])

    assert post.card is not None
    assert (post.card.url, post.card.title, post.card.image_url) == (
        FOUNDING_URL,
        "Social Media 2.0 - Day 1 at OMS 2011",
        "https://blog.example.com/i.png",
    )
    assert post.card.description.startswith(summary.sentences[0])
    assert grapheme_length(post.card.description) <= 300


def test_bluesky_keeps_to_3000_bytes_when_clusters_are_heavy() -> None:
    family = "👨‍👩‍👧‍👦"  # one grapheme, 25 bytes
    summary = make_summary(title="", sentences=(" ".join([family] * 200) + ".",))

    post = render(summary, ComposeOptions(), RULES["bluesky"])

    assert utf8_length(post.text) <= 3000
    assert post.length <= 300
    assert post.text.endswith("…\n\nhttps://example.com/post")


# --- threads


def thread_of(summary: Summary, platform: str, **options: object) -> Post:
    return render(summary, tagged(thread=True, **options), RULES[platform])


def numbered_bodies(post: Post) -> list[tuple[str, str]]:
    """(text, "i/n") of each part: after the title in the first, before the link in the last."""
    bodies = []
    for index, part in enumerate(post.thread):
        body = part.split("\n\n")[1 if index == 0 else 0]
        match = NUMBER.search(body)
        assert match is not None, part
        bodies.append((body[: match.start()], f"{match[1]}/{match[2]}"))
    return bodies


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky"])
def test_a_long_summary_becomes_a_numbered_thread_ending_with_the_link(platform: str) -> None:
    summary = founding_summary()
    rules = RULES[platform]

    post = thread_of(summary, platform)

    n = len(post.thread)
    assert 2 <= n <= THREAD_MAX_PARTS
    assert post.text == post.thread[0]
    assert post.thread[0].startswith(summary.title + "\n\n")
    assert post.thread[-1].endswith("\n\n" + FOUNDING_URL)
    assert FOUNDING_URL not in "".join(post.thread[:-1])
    assert [number for _, number in numbered_bodies(post)] == [f"{i}/{n}" for i in range(1, n + 1)]
    assert all(rules.fits(part) for part in post.thread)


def test_a_thread_keeps_the_sentences_in_order_without_gaps() -> None:
    summary = founding_summary()

    post = thread_of(summary, "mastodon")

    assert " ".join(body for body, _ in numbered_bodies(post)) == " ".join(summary.sentences)
    assert post.notes == (f"thread of {len(post.thread)} parts",)


def test_a_thread_is_capped_and_says_so() -> None:
    summary = founding_summary()

    post = thread_of(summary, "x")

    assert len(post.thread) == THREAD_MAX_PARTS
    assert "thread capped at 10 parts: the rest left out" in post.notes
    bodies = " ".join(body for body, _ in numbered_bodies(post))
    assert " ".join(summary.sentences).startswith(bodies)


def test_a_sentence_too_long_for_a_part_splits_at_its_clauses() -> None:
    sentence = ", ".join(f"clause number {i} goes here" for i in range(20)) + "."
    summary = make_summary(title="T", sentences=(sentence,))

    post = thread_of(summary, "x")

    bodies = [body for body, _ in numbered_bodies(post)]
    assert len(bodies) >= 2
    assert " ".join(bodies) == sentence
    assert all(body.endswith(("here,", "here.")) for body in bodies)


def test_a_clause_too_long_for_a_part_splits_between_words() -> None:
    sentence = " ".join(f"word{i}" for i in range(120)) + "."
    summary = make_summary(title="T", sentences=(sentence,))

    post = thread_of(summary, "x")

    bodies = [body for body, _ in numbered_bodies(post)]
    assert len(bodies) >= 3
    assert " ".join(bodies) == sentence  # no word was split or lost
    assert all(RULES["x"].fits(part) for part in post.thread)


def test_a_word_too_long_for_any_part_is_left_out_with_a_note() -> None:
    sentence = "Before " + "x" * 300 + " after."
    summary = make_summary(title="T", sentences=("Intro sentence.", sentence))

    post = thread_of(summary, "x")

    assert " ".join(body for body, _ in numbered_bodies(post)) == "Intro sentence. Before after."
    assert "a word too long for any part was left out" in post.notes


def test_cjk_sentences_split_after_their_commas() -> None:
    sentence = "、".join(["東京の夜景はとても美しい"] * 30) + "。"
    summary = make_summary(title="夜景", sentences=(sentence,))

    post = thread_of(summary, "x")

    assert len(post.thread) >= 2
    assert all(RULES["x"].fits(part) for part in post.thread)
    assert post.thread[1].startswith("東京の夜景はとても美しい")


def test_no_thread_when_the_summary_fits_one_post() -> None:
    post = thread_of(make_summary(), "x")
    assert post.thread == ()


def test_no_thread_on_platforms_without_replies() -> None:
    post = render(founding_summary(), tagged(thread=True), replace(RULES["linkedin"], limit=500))
    assert post.thread == ()


# --- properties

CLUSTERS = [
    "a", "b", "Z", "é", "e\u0301", "a\u0308\u0301", "ß", "ب", "ش", "ו", "ש", "\u200f",
    "👨\u200d👩\u200d👧", "👩🏽\u200d💻", "🏳️\u200d🌈", "🇫🇷", "🇯🇵", "👍🏽",
    "日", "本", "語", "。", "、", "한", "글",
    ",", ".", "!", "-", "'", "’", "#", "@", "(", ")", "<3", "&", "/",
]  # fmt: skip
WORDS = st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=12).map("".join)
PHRASES = st.lists(WORDS, min_size=1, max_size=30).map(" ".join)
URLS = st.sampled_from(
    [
        FOUNDING_URL,
        "https://example.com/post",
        "https://en.wikipedia.org/wiki/Primer_(film)",
        "https://example.org/a/(b)/c_(d)",
        "https://例え.jp/パス?q=1",
        "http://a.co",
        "http://127.0.0.1:8000/post",
    ]
)
TEMPLATES = st.sampled_from(
    [
        TEMPLATE,
        TAGGED,
        "{summary} {url} {hashtags}",
        "New: {title} — {summary}\n{url}",
        "{url}\n{title}",
        "{title} ({categories}) by {author}\n{summary}\n{url}",
    ]
)
CATEGORIES = st.lists(st.sampled_from(["Web 2.0", "Social Media", "東京", "2011", "C++", "x"]))
PLATFORMS = ("x", "mastodon", "bluesky")
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
# Generated words hold "<" only as "<3" and never ";": tags and entities come from the render.
MARKUP = regex.compile(r"</?[a-z][a-z0-9]*[\s>/]|&(?:[a-z]+|#\d+|#x[0-9a-f]+);", regex.I)


@st.composite
def summaries(draw: st.DrawFn, text: st.SearchStrategy[str]) -> Summary:
    sentences = tuple(draw(st.lists(text, max_size=6)))
    return Summary(
        title=draw(st.one_of(st.just(""), text)),
        text=" ".join(sentences),
        sentences=sentences,
        link=draw(URLS),
        categories=tuple(draw(CATEGORIES)),
        author=draw(st.one_of(st.just(""), WORDS)),
        abstract=draw(st.one_of(st.just(""), text)),
    )


@st.composite
def huge_summaries(draw: st.DrawFn) -> Summary:
    """About 100 kB of body: many sentences, or one sentence with no end in sight."""
    sentence = draw(PHRASES)
    copies = 100_000 // (len(sentence) + 1) + 1
    many = draw(st.booleans())
    sentences = (sentence,) * copies if many else (" ".join([sentence] * copies),)
    return Summary(draw(PHRASES), " ".join(sentences), sentences, draw(URLS))


def check_post(post: Post, summary: Summary, rules: PlatformRules) -> None:
    """Every part within the limits by the platform's own counter, the link intact in the
    part that carries it, facets covering exactly their link or tag, no markup."""
    parts = post.thread or (post.text,)
    assert post.text == parts[0]
    for part in parts:
        assert rules.fits(part, post.limit), (rules.name, part)
        assert not MARKUP.search(part), part
    carrier = parts[-1]
    if rules.find_urls(summary.link) == [(0, len(summary.link))]:
        assert any(carrier[s:e] == summary.link for s, e in rules.find_urls(carrier)), carrier
    else:
        assert summary.link in carrier
    if rules.facets:
        check_facets(post)


def check_facets(post: Post) -> None:
    data = post.text.encode("utf-8")
    for facet in post.facets:
        assert 0 <= facet.byte_start < facet.byte_end <= len(data)
        covered = data[facet.byte_start : facet.byte_end].decode("utf-8")  # on char boundaries
        if facet.kind == "link":
            assert covered == facet.value
        else:
            assert facet.kind == "tag" and covered[1:] == facet.value and covered[0] in "#＃"
    if post.thread == () and post.card is not None:  # the link is in the text
        assert any(f.kind == "link" for f in post.facets)


def clusters_of(text: str) -> set[str]:
    return set(GRAPHEME.findall(text))


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=SLOW)
@given(summaries(PHRASES), TEMPLATES, st.booleans(), st.sampled_from(PLATFORMS))
def test_every_post_fits_keeps_the_link_and_has_valid_facets(
    summary: Summary, template: str, thread: bool, platform: str
) -> None:
    rules = RULES[platform]
    options = ComposeOptions(template=template, thread=thread)

    post = render(summary, options, rules)

    check_post(post, summary, rules)
    source = " \n".join((summary.title, *summary.sentences, summary.abstract, summary.link))
    source += " ".join((template, summary.author, ", ".join(summary.categories)))
    tags = "".join(hashtags_from(summary.categories))
    allowed = clusters_of(source) | {ELLIPSIS, "#", "/", *"0123456789", *tags}
    # Every cluster, the last one included, is a whole cluster of the input.
    for part in post.thread or (post.text,):
        assert clusters_of(part) <= allowed


@settings(max_examples=100, deadline=None, database=None)
@given(summaries(st.text(max_size=120)), TEMPLATES, st.sampled_from(PLATFORMS))
def test_every_post_fits_and_keeps_the_link_for_any_text(
    summary: Summary, template: str, platform: str
) -> None:
    if MARKUP.search(" ".join((summary.title, *summary.sentences, summary.abstract))):
        return  # markup typed into the input is the summariser's business, not ours
    rules = RULES[platform]

    post = render(summary, ComposeOptions(template=template), rules)

    check_post(post, summary, rules)


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=SLOW)
@given(huge_summaries(), st.booleans(), st.sampled_from(PLATFORMS))
def test_a_100_kb_body_still_fits_every_platform(
    summary: Summary, thread: bool, platform: str
) -> None:
    rules = RULES[platform]

    post = render(summary, tagged(thread=thread), rules)

    check_post(post, summary, rules)


LONG_URL = "https://example.com/" + "p" * 600  # counts 23 on X and Mastodon
LONG_PIECES = st.sampled_from(
    [
        *(LONG_URL, LONG_URL, LONG_URL, "blog.example.dev/" + "q" * 400),
        *("word", "日本語", "👨\u200d👩\u200d👧", "e\u0301", "@someone@example.social"),
    ]
)


@settings(max_examples=80, deadline=None, database=None)
@given(st.lists(LONG_PIECES, min_size=4, max_size=16).map(" ".join), st.sampled_from(PLATFORMS))
def test_refusing_a_long_text_by_its_head_agrees_with_counting_it_all(
    text: str, platform: str
) -> None:
    rules = RULES[platform]
    exact = rules.count(text) <= rules.limit and utf8_length(text) <= (rules.max_bytes or 10**9)
    assert rules.fits(text) == exact


def test_a_long_text_of_long_urls_still_fits_x() -> None:
    text = " ".join([LONG_URL] * 10)  # 6,209 characters
    assert x_length(text) == 10 * 23 + 9
    assert RULES["x"].fits(text)
    assert not RULES["x"].fits(text + " " + "word " * 60)


def test_an_entry_with_nothing_in_it_is_refused_not_posted_empty() -> None:
    from syndicate.errors import PermanentError
    from syndicate.model import ComposeOptions
    from syndicate.platforms.rules import RULES

    with pytest.raises(PermanentError, match="nothing to post"):
        render(Summary("", "", (), ""), ComposeOptions(), RULES["mastodon"])
