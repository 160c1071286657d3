"""X's weighted length (twitter-text v3, through twitter-text-parser) and the URLs X links.

Re-exported by `textlen`, which holds the other platforms' counters. The composer measures many
candidate texts per post, so the library's per-character loop and whole-text URL scan are
replaced by equivalents that cost a fraction: weights summed span by span, the URL pattern run
only over the words that can hold a URL, the emoji pattern only over words with an emoji.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import regex

from syndicate.platforms.wordscan import WordScanner

Span = tuple[int, int]

_LINE_ENDS = regex.compile(r"\r\n|\r|\n")
_NON_SPACE_RUN = regex.compile(r"\S+")
# twitter-text's spaces_group. No URL holds one: its domain characters exclude them, and its
# path and query characters are lists without them.
_SPACES = r"\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SPACE = re.compile(f"[{_SPACES}]")
_SPACE_BEFORE = regex.compile(f"(?r)[{_SPACES}]")  # searched backwards


@dataclass(frozen=True)
class TweetParse:
    """twitter-text's `parseTweet` result; ranges are inclusive UTF-16 offsets."""

    weighted_length: int
    valid: bool
    permillage: int
    valid_range: tuple[int, int]
    display_range: tuple[int, int]


def x_length(text: str) -> int:
    """X's weighted length (config v3): URLs 23, emoji sequences 2, CJK and `…` 2.

    `x_parse(text).weighted_length`, summed span by span: the composer counts hundreds of
    candidates per post, and the per-character loop is most of the cost of a render.
    """
    normalized = _normalized(text)
    return _weighted_length(normalized, x_find_urls(normalized))


def x_measure(text: str) -> tuple[int, list[Span]]:
    """`x_length(text)` and `x_find_urls(text)` at once: one URL scan when NFC and line ends
    leave the text as it is (the composer needs both for every candidate it keeps)."""
    normalized = _normalized(text)
    urls = x_find_urls(normalized)
    return _weighted_length(normalized, urls), urls if normalized == text else x_find_urls(text)


def x_parse(text: str, *, discount_emoji: bool = True) -> TweetParse:
    """twitter-text's `parseTweet`; `discount_emoji=False` is config v2 (emoji per code point).

    The loop is `twitter_text.parse_tweet`'s own, over the library's URL extractor, emoji
    pattern, weights and invalid characters; it differs only in running the emoji pattern
    (~2 ms per 500 characters, most of a render's time) over the words that hold an emoji
    character instead of over the whole text.
    """
    lib, config = _twitter_text(), x_config()
    scale, max_length = config["scale"], config["max_weighted_tweet_length"]
    normalized = _normalized(text)
    entities = _x_entities(normalized, x_find_urls(normalized), discount_emoji=discount_emoji)
    weighted, valid, valid_index, index = 0, True, 0, 0
    while index < len(normalized):
        if index in entities:
            weighted += entities[index][1]
            index = entities[index][0] - 1
        else:
            weighted += lib.get_character_weight(normalized[index], config)
        valid = valid and not lib.has_invalid_characters(normalized[index])
        if valid and weighted <= max_length * scale:
            valid_index = index
        index += 1
    length = int(weighted / scale)
    shrink = _utf16_length(text) - _utf16_length(normalized)
    return TweetParse(
        weighted_length=length,
        valid=valid and 0 < length <= max_length,
        permillage=math.floor(length / max_length * 1000),
        valid_range=(0, _utf16_length(normalized[: valid_index + 1]) - 1 + shrink),
        display_range=(0, max(0, _utf16_length(text) - 1)),
    )


def x_config() -> Mapping[str, Any]:
    """The twitter-text configuration X counts with (v3, as in conformance/config-v3.json)."""
    config: Mapping[str, Any] = _twitter_text().config["defaults"]
    return config


def x_find_urls(text: str) -> list[Span]:
    """(start, end) offsets of every URL X counts as 23, scheme-less ones (`example.com`) too.

    Offsets are code points into `text` as given; X counts the NFC form, so callers pass text
    that NFC leaves alone where the offsets matter (URLs are ASCII or already NFC in practice).

    The same as twitter-text's scan of the whole text, word by word: a URL holds no space and a
    "." before its TLD, so only words with a "." inside can hold one. Each is scanned from the
    space before it (the pattern's "preceding character"), as the whole scan would reach it. A
    post's candidates share their words, so each word's URLs are kept.
    """
    urls: list[Span] = []
    position = 0
    while (dot := text.find(".", position)) >= 0:
        space = _SPACE.search(text, dot)
        position = len(text) if space is None else space.start()
        if dot + 1 < position:  # a "." with more of its word after it
            before = _SPACE_BEFORE.search(text, 0, dot)
            start = 0 if before is None else before.start()
            urls.extend((start + s, start + e) for s, e in _word_urls(text[start:position]))
    return urls


def _scan_word(piece: str) -> tuple[Span, ...]:
    found = _twitter_text().extract_urls_with_indices(piece)
    return tuple((int(url["indices"][0]), int(url["indices"][1])) for url in found)


_word_urls = WordScanner(_scan_word)


def _normalized(text: str) -> str:
    """The text X counts: NFC, with every line end a "\\n"."""
    normalized = unicodedata.normalize("NFC", text)
    return _LINE_ENDS.sub("\n", normalized) if "\r" in normalized else normalized


def _weighted_length(normalized: str, urls: list[Span]) -> int:
    entities = _x_entities(normalized, urls, discount_emoji=True)
    weighted = position = 0
    for start, (end, weight) in sorted(entities.items()):
        if start >= position:  # one starting inside an earlier entity is skipped, as in the loop
            weighted += _span_weight(normalized[position:start]) + weight
            position = end
    weighted += _span_weight(normalized[position:])
    return int(weighted / x_config()["scale"])


def _x_entities(text: str, urls: list[Span], *, discount_emoji: bool) -> dict[int, Span]:
    """start -> (end, weight) of the URLs and (config v3) emoji sequences of `text`."""
    config = x_config()
    entities: dict[int, Span] = {}
    if discount_emoji and not _emoji_characters().isdisjoint(text):
        # No emoji sequence holds whitespace: only words with an emoji character are scanned.
        for word in _NON_SPACE_RUN.finditer(text):
            if not _emoji_characters().isdisjoint(word.group()):
                for match in _twitter_text().emoji.finditer(text, word.start(), word.end()):
                    entities[match.start()] = (match.end(), config["default_weight"])
    # URLs win over emoji at the same position, as in parse_tweet.
    url_weight = config["transformed_url_length"] * config["scale"]
    for start, end in urls:
        entities[start] = (end, url_weight)
    return entities


def _span_weight(span: str) -> int:
    """The weights of the span's characters: the default, less each range's discount."""
    if span.isascii():
        return len(span) * _char_weight("a")  # config v3 weighs all of U+0000-U+10FF alike
    weight: int = len(span) * x_config()["default_weight"]
    for discount, characters in _weight_ranges():
        weight -= discount * sum(map(len, characters.findall(span)))
    return weight


@functools.lru_cache(maxsize=4096)
def _char_weight(char: str) -> int:
    return int(_twitter_text().get_character_weight(char, x_config()))


@functools.cache
def _weight_ranges() -> tuple[tuple[int, re.Pattern[str]], ...]:
    """(discount from the default weight, runs of the characters it applies to) per weight of
    the config's ranges, which do not overlap. The stdlib `re` matches a small class ~10 times
    faster than a loop over the characters."""
    config = x_config()
    classes: dict[int, str] = defaultdict(str)
    for span in config["ranges"]:
        low, high = re.escape(chr(span["start"])), re.escape(chr(span["end"]))
        classes[span["weight"]] += f"{low}-{high}"
    return tuple(
        (config["default_weight"] - weight, re.compile(f"[{characters}]+"))
        for weight, characters in classes.items()
    )


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@functools.cache
def _twitter_text() -> Any:
    """The parts of twitter-text-parser we use, imported on first use (~0.2 s)."""
    # It reads its emoji table through pkg_resources, which setuptools 81 deprecates loudly
    # (and 82 removed: hence setuptools<82 in the dependencies).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources", category=UserWarning)
        from twitter_text.config import config
        from twitter_text.extract_urls import extract_urls_with_indices
        from twitter_text.get_character_weight import get_character_weight
        from twitter_text.has_invalid_characters import has_invalid_characters
        from twitter_text.regexp import emoji as emoji_table
    return SimpleNamespace(
        config=config,
        extract_urls_with_indices=extract_urls_with_indices,
        get_character_weight=get_character_weight,
        has_invalid_characters=has_invalid_characters,
        emoji=emoji_table.emoji,
        emoji_table=emoji_table,
    )


@functools.cache
def _emoji_characters() -> frozenset[str]:
    """Characters without which twitter-text's emoji pattern cannot match.

    Every single-code-point emoji, and the non-ASCII code points of every sequence (each
    sequence has one: keycaps end in U+20E3). ASCII digits, "#" and "*" are left out, or every
    number would send the text through the emoji regex, which costs ~2 ms per 500 characters.
    A set, not a character class: `isdisjoint` over a text is several times faster.
    """
    table = _twitter_text().emoji_table
    points: set[int] = set()
    for low, high in table.single_codepoint_emoji_ranges:
        points.update(range(low, high + 1))
    for entry in table.emoji_list:
        sequence = [int(code, 16) for code in entry.codepoint.split()]
        wide = [point for point in sequence if point > 0x7F]
        points.update(wide or sequence)
    return frozenset(map(chr, points))
