"""Exact length counters for platform limits.

`mastodon_length` mirrors Mastodon's server-side `StatusLengthValidator#countable_text`: URLs
found by twitter-text's extractor (with Mastodon's regex overrides) count as a fixed length,
remote mentions count as their local part, and everything else counts grapheme clusters. The
URL pattern is ported piece by piece so our count and the server's agree on the edge cases
(trailing punctuation, balanced parentheses, unknown TLDs) that decide whether a post is
accepted or refused with a 422.

The other platforms' counters sit beside it (reference/platforms.md §1, feeds.md §8.1): X's
weighted length comes from twitter-text-parser, the port of twitter-text v3 that passes the
shared conformance suite; Bluesky counts graphemes and UTF-8 bytes; LinkedIn counts UTF-16
units of the text after its reserved characters are escaped; Facebook UTF-16 units
(conservative, the unit is undocumented); Tumblr code points.
"""

from __future__ import annotations

import functools
import math
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, NamedTuple

import regex

from syndicate.platforms.tlds import COUNTRY_TLDS, GENERIC_TLDS

MASTODON_URL_LENGTH = 23
# twitter-text refuses URLs longer than this (its backend limit); Mastodon inherits the check.
_MAX_URL_LENGTH = 4096
# A t.co slug longer than this is not a t.co URL to twitter-text.
_MAX_TCO_SLUG_LENGTH = 40

_GRAPHEME = regex.compile(r"\X")
_LINE_ENDS = regex.compile(r"\r\n|\r|\n")
_NON_SPACE_RUN = regex.compile(r"\S+")
_BLANK = regex.compile(r"\p{White_Space}*")


_Trie = dict[str, "_Trie"]


class _Entity(NamedTuple):
    start: int
    end: int
    replacement: str | None  # None: a URL, counted as the URL length


def grapheme_length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Mastodon and Bluesky count."""
    return len(_GRAPHEME.findall(text))


def utf8_length(text: str) -> int:
    """UTF-8 bytes: Bluesky's lexicon `maxLength` unit."""
    return len(text.encode("utf-8", "surrogatepass"))


def utf16_length(text: str) -> int:
    """UTF-16 code units: what JavaScript's `length` says (LinkedIn, Facebook)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def code_point_length(text: str) -> int:
    """Unicode code points: Tumblr's unit for a text block (a ZWJ emoji counts per code point)."""
    return len(text)


def bluesky_length(text: str) -> int:
    """Bluesky's `maxGraphemes` unit; the 3,000-byte cap is checked with `utf8_length`."""
    return grapheme_length(text)


def linkedin_length(escaped: str) -> int:
    """LinkedIn's `commentary` length: UTF-16 units of the text *after* `linkedin_escape`."""
    return utf16_length(escaped)


def facebook_length(text: str) -> int:
    """Facebook's message length, counted conservatively in UTF-16 units."""
    return utf16_length(text)


# --- X: twitter-text v3 through twitter-text-parser.


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
    normalized = _LINE_ENDS.sub("\n", unicodedata.normalize("NFC", text))
    entities = _x_entities(_twitter_text(), normalized, discount_emoji=True)
    weighted = position = 0
    for start, (end, weight) in sorted(entities.items()):
        if start >= position:  # one starting inside an earlier entity is skipped, as in the loop
            weighted += _span_weight(normalized[position:start]) + weight
            position = end
    weighted += _span_weight(normalized[position:])
    return int(weighted / x_config()["scale"])


def _span_weight(span: str) -> int:
    if span.isascii():
        return len(span) * _char_weight("a")  # config v3 weighs all of U+0000-U+10FF alike
    return sum(map(_char_weight, span))


@functools.lru_cache(maxsize=4096)
def _char_weight(char: str) -> int:
    return int(_twitter_text().get_character_weight(char, x_config()))


def x_parse(text: str, *, discount_emoji: bool = True) -> TweetParse:
    """twitter-text's `parseTweet`; `discount_emoji=False` is config v2 (emoji per code point).

    The loop is `twitter_text.parse_tweet`'s own, over the library's URL extractor, emoji
    pattern, weights and invalid characters; it differs only in running the emoji pattern
    (~2 ms per 500 characters, most of a render's time) over the words that hold an emoji
    character instead of over the whole text.
    """
    lib, config = _twitter_text(), x_config()
    scale, max_length = config["scale"], config["max_weighted_tweet_length"]
    normalized = _LINE_ENDS.sub("\n", unicodedata.normalize("NFC", text))
    entities = _x_entities(lib, normalized, discount_emoji=discount_emoji)
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
    shrink = utf16_length(text) - utf16_length(normalized)
    return TweetParse(
        weighted_length=length,
        valid=valid and 0 < length <= max_length,
        permillage=math.floor(length / max_length * 1000),
        valid_range=(0, utf16_length(normalized[: valid_index + 1]) - 1 + shrink),
        display_range=(0, max(0, utf16_length(text) - 1)),
    )


def _x_entities(lib: Any, text: str, *, discount_emoji: bool) -> dict[int, tuple[int, int]]:
    """start -> (end, weight) of the URLs and (config v3) emoji sequences of `text`."""
    config = x_config()
    entities: dict[int, tuple[int, int]] = {}
    if discount_emoji and _emoji_characters().search(text):
        # No emoji sequence holds whitespace: only words with an emoji character are scanned.
        for word in _NON_SPACE_RUN.finditer(text):
            if _emoji_characters().search(word.group()):
                for match in lib.emoji.finditer(text, word.start(), word.end()):
                    entities[match.start()] = (match.end(), config["default_weight"])
    # URLs win over emoji at the same position, as in parse_tweet.
    url_weight = config["transformed_url_length"] * config["scale"]
    for start, end in x_find_urls(text):
        entities[start] = (end, url_weight)
    return entities


def x_config() -> Mapping[str, Any]:
    """The twitter-text configuration X counts with (v3, as in conformance/config-v3.json)."""
    config: Mapping[str, Any] = _twitter_text().config["defaults"]
    return config


def x_find_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every URL X counts as 23, scheme-less ones (`example.com`) too.

    Offsets are code points into `text` as given; X counts the NFC form, so callers pass text
    that NFC leaves alone where the offsets matter (URLs are ASCII or already NFC in practice).
    """
    found = _twitter_text().extract_urls_with_indices(text)
    return [(int(url["indices"][0]), int(url["indices"][1])) for url in found]


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
def _emoji_characters() -> regex.Pattern[str]:
    """Characters without which twitter-text's emoji pattern cannot match.

    Every single-code-point emoji, and the non-ASCII code points of every sequence (each
    sequence has one: keycaps end in U+20E3). ASCII digits, "#" and "*" are left out, or every
    number would send the text through the emoji regex, which costs ~2 ms per 500 characters.
    """
    table = _twitter_text().emoji_table
    points: set[int] = set()
    for low, high in table.single_codepoint_emoji_ranges:
        points.update(range(low, high + 1))
    for entry in table.emoji_list:
        sequence = [int(code, 16) for code in entry.codepoint.split()]
        wide = [point for point in sequence if point > 0x7F]
        points.update(wide or sequence)
    return regex.compile("[" + "".join(_char_ranges(sorted(points))) + "]")


def _char_ranges(points: list[int]) -> list[str]:
    ranges: list[str] = []
    start = previous = points[0]
    for point in [*points[1:], -1]:
        if point != previous + 1:
            ranges.append(f"\\U{start:08x}" + (f"-\\U{previous:08x}" if previous > start else ""))
            start = point
        previous = point
    return ranges


# --- LinkedIn's "little" text format.

# Reserved characters of the little format; unescaped, LinkedIn silently cuts the post there.
_LITTLE_RESERVED = regex.compile(r"[|{}@\[\]()<>#\\*_~]")
# An intended hashtag in literal template text: kept clickable, not escaped.
_LITTLE_HASHTAG = regex.compile(r"(?<![\w#])#[\p{L}\p{M}\p{Nd}_]*\p{L}[\p{L}\p{M}\p{Nd}_]*")


def linkedin_escape(text: str, *, keep_hashtags: bool = False) -> str:
    """Backslash-escape LinkedIn's reserved characters outside URLs (and, when asked, outside
    `#hashtags`), so that the post is shown whole and links and tags stay clickable."""
    kept = find_urls(text)
    if keep_hashtags:
        kept = sorted(kept + [m.span() for m in _LITTLE_HASHTAG.finditer(text)])
    pieces: list[str] = []
    position = 0
    for start, end in kept:
        if start < position:  # a hashtag inside a URL: the URL already keeps it
            continue
        pieces.append(_LITTLE_RESERVED.sub(r"\\\g<0>", text[position:start]))
        pieces.append(text[start:end])
        position = end
    pieces.append(_LITTLE_RESERVED.sub(r"\\\g<0>", text[position:]))
    return "".join(pieces)


def mastodon_length(text: str, url_length: int = MASTODON_URL_LENGTH) -> int:
    """Length of a status as Mastodon's validator counts it (spoiler text not included)."""
    # Ruby's `str.blank?` short-circuits countable_text: whitespace-only text counts 0.
    if _BLANK.fullmatch(text):
        return 0
    pieces: list[str] = []
    position = 0
    for entity in _entities(text):
        pieces.append(text[position : entity.start])
        pieces.append("x" * url_length if entity.replacement is None else entity.replacement)
        position = entity.end
    pieces.append(text[position:])
    # Count the rewritten text as a whole, as the server does: a combining mark after a URL
    # joins the placeholder's last cluster rather than counting on its own.
    return grapheme_length("".join(pieces))


def find_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every URL Mastodon would count at the URL length, in order."""
    return [(e.start, e.end) for e in _entities(text) if e.replacement is None]


def _entities(text: str) -> list[_Entity]:
    """URLs and remote mentions, overlaps removed the way twitter-text does it."""
    candidates = sorted(_url_entities(text) + _mention_entities(text), key=lambda e: e.start)
    kept: list[_Entity] = []
    for entity in candidates:
        if not kept or kept[-1].end <= entity.start:
            kept.append(entity)
    return kept


def _url_entities(text: str) -> list[_Entity]:
    # Mastodon counts only URLs with a protocol, so without "://" there are none. This also
    # keeps the (quadratic, as in Ruby) scan of long dotted words off the common path.
    if "://" not in text:
        return []
    found: list[_Entity] = []
    # No match spans ASCII whitespace except the preceding character it consumes, so the scan
    # can be confined to the words holding "://" (and the character before each): the other
    # words only ever yield scheme-less matches, which are skipped.
    for word in _PROTOCOL_WORD.finditer(text):
        found.extend(_url_entities_in(text, max(0, word.start() - 1), word.end()))
    return found


def _url_entities_in(text: str, pos: int, endpos: int) -> list[_Entity]:
    found: list[_Entity] = []
    # Scheme-less matches are still scanned (and skipped) so that, as in Ruby's `scan`, they
    # consume their text: "example.com/https://x.org" holds no countable URL.
    for match in _url_pattern().finditer(text, pos, endpos):
        if match.group("protocol") is None:
            continue
        start, end = match.span("url")
        tco = _TCO.match(match.group("url"))
        if tco is not None:
            if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
                continue
            end = start + len(tco.group(0))
        if _is_valid_domain(end - start, match.group("domain")):
            found.append(_Entity(start, end, None))
    return found


def _is_valid_domain(url_length: int, domain: str) -> bool:
    """twitter-text's `is_valid_domain`: IDNA-encodable and within the URL length cap."""
    try:
        encoded = domain.encode("idna")
    except UnicodeError:
        return False
    return url_length + max(0, len(encoded) - len(domain)) <= _MAX_URL_LENGTH


def _mention_entities(text: str) -> list[_Entity]:
    if "@" not in text:
        return []
    found: list[_Entity] = []
    for match in _MENTION.finditer(text):
        if _END_MENTION.match(text, match.end()):
            continue
        screen_name: str = match.group(1)
        local = "@" + screen_name.split("@", 1)[0]
        found.append(_Entity(match.start(1) - 1, match.end(1), local))
    return found


# --- Mastodon's mention pattern (Account::MENTION_RE) and twitter-text's end_mention_match.

_WORD_CHARS = r"\p{L}\p{M}\p{Nd}\p{Pc}"  # Ruby's [[:word:]]
_WORD = f"[{_WORD_CHARS}]"
_LATIN_ACCENTS = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    r"\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_MENTION = regex.compile(
    rf"(?<![=/{_WORD_CHARS}])@((?i:[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@{_WORD}+(?:[.-]+{_WORD}+)*)?)"
)
_END_MENTION = regex.compile(rf"(?:[@＠]|[{_LATIN_ACCENTS}]+|://)", regex.IGNORECASE)
# A word for the URL scan: queries may hold Unicode spaces (U+00A0 and up), never these.
_PROTOCOL_WORD = regex.compile(r"[^\t-\r \x85]*://[^\t-\r \x85]*")
_TCO = regex.compile(r"https?://t\.co/([a-z0-9]+)", regex.IGNORECASE)


# --- twitter-text's valid_url with Mastodon's overrides (config/initializers/twitter_regex.rb).

_DIRECTIONAL = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVALID = r"\ufffe\ufeff\uffff"
_UNICODE_SPACES = r"\t-\r\x20\u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# twitter-text's PUNCTUATION_CHARS: ASCII punctuation except the backslash.
_PUNCTUATION = regex.escape("!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~", special_only=False)
_CONTROL = r"\x00-\x1f\x7f"
_UCHARS = (
    r"\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    r"\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    r"\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    r"\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)


def _balanced_parens(chars: str) -> str:
    # One nested level, as in Wikipedia links like /Primer_(film).
    return rf"\((?:{chars}+|(?:{chars}*\({chars}+\){chars}*))\)"


@functools.cache
def _url_pattern() -> regex.Pattern[str]:
    """twitter-text's valid_url; built on first use, as the TLD tree is large."""
    preceding = rf"(?:[^A-Z0-9@＠$#＃{_INVALID}]|[{_DIRECTIONAL}]|^)"
    protocol = r"(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
    query = rf"(?:\?[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^{_UCHARS}]*[a-z0-9_&=#/\-{_UCHARS}])"
    url = (
        rf"(?P<url>(?P<protocol>{protocol})?(?P<domain>{_domain_pattern()})"
        rf"(?::[0-9]+)?(?:/{_path_pattern()}*)?{query}?)"
    )
    return regex.compile(preceding + url, regex.IGNORECASE | regex.MULTILINE)


def _domain_pattern() -> str:
    char = f"[^{_DIRECTIONAL}{_PUNCTUATION}{_CONTROL}{_INVALID}{_UNICODE_SPACES}]"
    subdomain = rf"(?:(?:{char}(?:[_-]|{char})*)?{char}\.)"
    domain_name = rf"(?:(?:{char}(?:-|{char})*)?{char}\.)"
    tld_end = r"(?=[^0-9a-z@+-]|$)"
    gtld = rf"(?:(?:{_alternation(GENERIC_TLDS)}){tld_end})"
    cctld = rf"(?:(?:{_alternation(COUNTRY_TLDS)}){tld_end})"
    return rf"(?:{subdomain}*{domain_name}(?:{gtld}|{cctld}|xn--[0-9a-z]+))"


def _path_pattern() -> str:
    char = r"[^\p{White_Space}<>()?]"
    # Mastodon redefines the path characters after the ending characters were built, so
    # the parentheses allowed at the end of a path still use twitter-text's original set.
    original_char = rf"[a-z\p{{Cyrillic}}0-9!*';:=+,.$/%#\[\]\p{{Pd}}_~&|@{_LATIN_ACCENTS}]"
    ending = (
        r"""(?:[^\p{White_Space}()?!*"'「」<>;:=,.$%\[\]~&|@]|"""
        rf"{_balanced_parens(original_char)})"
    )
    parens = _balanced_parens(char)
    return rf"(?:(?:{char}*(?:{parens}{char}*)*{ending})|(?:{char}+/))"


def _alternation(words: str) -> str:
    """The words as a prefix tree: one step per character instead of one try per TLD.

    The domain pattern tries the TLDs after every label, so a plain alternation of ~1,600
    words made long dotted words slow. The tree tries longer words first (greedy `?`), which
    is what twitter-text's list order achieves: "嘉里大酒店" before "嘉里".
    """
    trie: _Trie = {}
    for word in words.split():
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _trie_pattern(trie)


def _trie_pattern(node: _Trie) -> str:
    branches = [regex.escape(char) + _trie_pattern(child) for char, child in node.items() if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body
