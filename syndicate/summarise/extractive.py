"""The default summariser: extractive, deterministic and offline.

For now this is the "lead" baseline (every sentence in document order, so the composer takes
the opening ones): on news it beats the graph rankers, and the opening of a post is usually
the right hook. Ranking can reorder `Summary.sentences` later without touching the composer.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex

from syndicate.model import FeedEntry, Summary
from syndicate.summarise.text import html_to_paragraphs, split_sentences

# A title made up from the text keeps this many words at most.
_TITLE_WORDS = 8
_ELLIPSIS = "…"
# Hashtag bodies keep letters (with their marks), decimal digits and the underscore.
_TAG_WORD = regex.compile(r"[\p{L}\p{M}\p{Nd}_]+")
_APOSTROPHES = regex.compile(r"['’]")


def summarise(entry: FeedEntry) -> Summary:
    """A platform-neutral summary of `entry`: clean title and text, sentences, hashtags."""
    paragraphs = html_to_paragraphs(entry.content_html)
    sentences = tuple(s for paragraph in paragraphs for s in split_sentences(paragraph))
    return Summary(
        title=_clean_title(entry.title) or _title_from(sentences),
        text="\n\n".join(paragraphs),
        sentences=sentences,
        link=entry.link,
        hashtags=hashtags_from(entry.categories),
    )


def hashtags_from(categories: Iterable[str]) -> tuple[str, ...]:
    """CamelCase hashtag bodies (no "#"), digits-only and repeated ones dropped, order kept."""
    tags: list[str] = []
    seen: set[str] = set()
    for category in categories:
        tag = _camel_case(category)
        if not tag or tag.isdigit() or tag.casefold() in seen:
            continue
        seen.add(tag.casefold())
        tags.append(tag)
    return tuple(tags)


def _clean_title(title: str) -> str:
    # Titles may carry entities or markup ("Q&amp;A", "<em>new</em>"): decode once, as text.
    return " ".join(html_to_paragraphs(title))


def _title_from(sentences: tuple[str, ...]) -> str:
    """The first words of the first sentence, for entries that have no title."""
    if not sentences:
        return ""
    words = sentences[0].split()
    if len(words) <= _TITLE_WORDS:
        return sentences[0]
    return " ".join(words[:_TITLE_WORDS]) + _ELLIPSIS


def _camel_case(category: str) -> str:
    """ "Social Media" -> "SocialMedia", "Web 2.0" -> "Web20", "don't panic" -> "DontPanic"."""
    words: list[str] = _TAG_WORD.findall(_APOSTROPHES.sub("", category))
    # Capitalise only all-lower-case words: "iPad" and "OMS" keep their own capitals.
    return "".join(word[0].upper() + word[1:] if word.islower() else word for word in words)
