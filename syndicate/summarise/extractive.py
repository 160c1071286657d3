"""The default summariser: extractive, deterministic and offline.

Clean paragraphs come from the entry's HTML, or from its web page when the feed carries only a
summary (the caller extracts them with `page.extract_page`). Sentences are ranked (`rank.py`) and
ordered for the composer, which takes the longest prefix that fits: the best sentence first,
then the sentences that follow it, so any prefix reads as connected prose.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

from syndicate.model import FeedEntry, Summary
from syndicate.summarise.boilerplate import remove_boilerplate
from syndicate.summarise.rank import MAX_RANKED, Sentence, order_for_post, rank
from syndicate.summarise.text import (
    Block,
    inline_text,
    normalise_paragraph,
    read_content,
    split_sentences,
)

# A title made up from the text keeps this many words at most.
_TITLE_WORDS = 8
_ELLIPSIS = "…"


def summarise(entry: FeedEntry, page_paragraphs: Sequence[str] | None = None) -> Summary:
    """A platform-neutral summary of `entry`: clean title and text, sentences in post order.

    `page_paragraphs`, the main text of the entry's web page, replaces the feed's content when
    given and not empty (summary-only feeds); the summary's `source` is then "page"."""
    content = read_content(entry.content_html)
    page = remove_boilerplate(p for p in map(normalise_paragraph, page_paragraphs or ()) if p)
    title = inline_text(entry.title)
    blocks = _without_title(title, [Block(p) for p in page] or content.blocks)
    sentences = _sentences(blocks)
    image_url, image_alt = _picture(entry, content.image_url, content.image_alt)
    return Summary(
        title=title or _title_from(sentences),
        text="\n\n".join(block.text for block in blocks),
        sentences=_post_order(sentences, title),
        link=entry.link,
        categories=_categories(entry.categories),
        author=normalise_paragraph(entry.author),
        image_url=image_url,
        image_alt=image_alt,
        source="page" if page else "extractive",
    )


def _without_title(title: str, blocks: Sequence[Block]) -> list[Block]:
    """The blocks without the post's own title, which many feeds repeat as the first heading."""
    key = title.casefold().rstrip(".:!? ")
    for index, block in enumerate(blocks[:3]):
        if key and block.text.casefold().rstrip(".:!? ") == key:
            return [*blocks[:index], *blocks[index + 1 :]]
    return list(blocks)


def _sentences(blocks: Sequence[Block]) -> list[Sentence]:
    return [
        Sentence(text, number, position, block.prose)
        for number, block in enumerate(blocks)
        for position, text in enumerate(split_sentences(block.text))
    ]


def _post_order(sentences: Sequence[Sentence], title: str) -> tuple[str, ...]:
    """Ranked sentences first, in the order `order_for_post` gives; unranked ones follow."""
    head, tail = sentences[:MAX_RANKED], sentences[MAX_RANKED:]
    order = order_for_post(head, rank(head, title))
    return tuple(head[i].text for i in order) + tuple(sentence.text for sentence in tail)


def _title_from(sentences: Sequence[Sentence]) -> str:
    """The first words of the first sentence, for entries that have no title."""
    if not sentences:
        return ""
    first = sentences[0].text
    words = first.split()
    if len(words) <= _TITLE_WORDS:
        return first
    return " ".join(words[:_TITLE_WORDS]) + _ELLIPSIS


def _picture(entry: FeedEntry, src: str, alt: str) -> tuple[str, str]:
    """The first picture in the content, else the feed's enclosure or thumbnail."""
    try:
        url = urljoin(entry.link, src) if src else ""
        usable = urlsplit(url).scheme in {"http", "https"}
    except ValueError:  # a malformed address ("http://[") in someone's HTML
        usable = False
    if usable:
        return url, alt
    return entry.image_url, normalise_paragraph(entry.image_alt)


def _categories(categories: Sequence[str]) -> tuple[str, ...]:
    """Categories with whitespace normalised, empty and repeated ones dropped, order kept."""
    cleaned = (normalise_paragraph(category) for category in categories)
    return tuple(dict.fromkeys(category for category in cleaned if category))
