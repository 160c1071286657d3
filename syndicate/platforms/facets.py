"""Bluesky rich text: link and #tag facets in UTF-8 byte offsets, and the external link card.

The PDS neither links URLs nor builds cards (reference/platforms.md §6.2-6.3): without facets a
URL is plain text. Tags are found the way the Bluesky app finds them when a person types a
post (`TAG_REGEX` of @atproto/api's rich-text detection), so a posted text and a typed one link
the same words; URLs are the ones the composer keeps intact, plus the entry's link itself.
"""

from __future__ import annotations

import regex

from syndicate.model import Facet, LinkCard, Summary
from syndicate.platforms.cuts import cut_at, cut_points, join_sentences, last_fitting
from syndicate.platforms.textlen import find_urls, grapheme_length, utf8_length

CARD_DESCRIPTION_GRAPHEMES = 300
_MAX_TAG_GRAPHEMES = 64
_MAX_TAG_BYTES = 640
_INVISIBLE = r"\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG = regex.compile(
    rf"(?:^|\s)([#＃]((?!\ufe0f)[^\s{_INVISIBLE}]*[^\d\s\p{{P}}{_INVISIBLE}]+[^\s{_INVISIBLE}]*))"
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")

_Span = tuple[int, int, str]  # start, end (code points), value


def facets_for(text: str, link: str = "") -> tuple[Facet, ...]:
    """Link facets for the URLs of `text` (and `link` wherever it stands), tag facets for its
    #tags outside them; offsets are UTF-8 bytes, in text order."""
    links = _link_spans(text, link)
    tags = [tag for tag in _tag_spans(text) if not any(_overlap(tag, span) for span in links)]
    facets = [("link", span) for span in links] + [("tag", span) for span in tags]
    facets.sort(key=lambda facet: facet[1][0])
    return tuple(
        Facet(kind, utf8_length(text[:start]), utf8_length(text[:end]), value)
        for kind, (start, end, value) in facets
    )


def card_for(summary: Summary) -> LinkCard | None:
    """The external card for the entry's link: its title, a short description, its image."""
    url = summary.link.strip()
    if not url:
        return None
    return LinkCard(
        url=url,
        title=" ".join(summary.title.split()),
        description=_description(summary),
        image_url=summary.image_url.strip(),
    )


def _link_spans(text: str, link: str) -> list[_Span]:
    spans = [(start, end, text[start:end]) for start, end in find_urls(text)]
    link = link.strip()
    if link and not any(value == link for _, _, value in spans):
        # A link the URL finder does not know (an unlisted TLD, an IP host) is still the link.
        start = text.rfind(link)
        own = (start, start + len(link), link)
        if start >= 0 and not any(_overlap(own, span) for span in spans):
            spans.append(own)
    return sorted(spans)


def _tag_spans(text: str) -> list[_Span]:
    spans: list[_Span] = []
    for match in _TAG.finditer(text):
        tag = _TRAILING_PUNCTUATION.sub("", match.group(2))
        if (
            not tag
            or grapheme_length(tag) > _MAX_TAG_GRAPHEMES
            or utf8_length(tag) > _MAX_TAG_BYTES
        ):
            continue
        start = match.start(1)
        spans.append((start, start + 1 + len(tag), tag))
    return spans


def _overlap(a: _Span, b: _Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _description(summary: Summary) -> str:
    """The abstract, or the leading sentences that fit the card, or the first one cut."""
    if summary.abstract.strip():
        return _fit_description(" ".join(summary.abstract.split()))
    # Only the leading sentences are read: a long post's others never reach the card.
    sentences = (" ".join(s.split()) for s in summary.sentences if s.strip())
    taken: list[str] = []
    for sentence in sentences:
        if grapheme_length(join_sentences([*taken, sentence])) > CARD_DESCRIPTION_GRAPHEMES:
            return join_sentences(taken) if taken else _fit_description(sentence)
        taken.append(sentence)
    return join_sentences(taken)


def _fit_description(text: str) -> str:
    if grapheme_length(text) <= CARD_DESCRIPTION_GRAPHEMES:
        return text
    points = cut_points(text, find_urls(text))
    found = last_fitting(
        len(points),
        lambda i: grapheme_length(cut_at(text, points[i])) <= CARD_DESCRIPTION_GRAPHEMES,
    )
    return "" if found is None else cut_at(text, points[found])
