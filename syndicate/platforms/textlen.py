"""Exact length counters for platform limits.

`mastodon_length` mirrors Mastodon's server-side `StatusLengthValidator#countable_text`: URLs
found by twitter-text's extractor (with Mastodon's regex overrides) count as a fixed length,
remote mentions count as their local part, and everything else counts grapheme clusters. The
URL pattern is ported piece by piece so our count and the server's agree on the edge cases
(trailing punctuation, balanced parentheses, unknown TLDs) that decide whether a post is
accepted or refused with a 422.

The other platforms' counters sit beside it (reference/platforms.md §1, feeds.md §8.1): X's
weighted length comes from twitter-text-parser, the port of twitter-text v3 that passes the
shared conformance suite (in `xtext`, re-exported here); Bluesky counts graphemes and UTF-8
bytes; LinkedIn counts UTF-16 units of the text after its reserved characters are escaped;
Facebook UTF-16 units (conservative, the unit is undocumented); Tumblr code points.
"""

from __future__ import annotations

import functools
import sys
from typing import NamedTuple

import regex

from syndicate.platforms.tlds import COUNTRY_TLDS, GENERIC_TLDS
from syndicate.platforms.wordscan import WordScanner
from syndicate.platforms.xtext import (
    TweetParse,
    x_config,
    x_find_urls,
    x_length,
    x_measure,
    x_parse,
)

__all__ = [
    "MASTODON_URL_LENGTH",
    "TweetParse",
    "bluesky_length",
    "clusters_are_code_points",
    "code_point_length",
    "facebook_length",
    "find_urls",
    "grapheme_length",
    "linkedin_escape",
    "linkedin_length",
    "mastodon_length",
    "mastodon_measure",
    "utf8_length",
    "utf16_length",
    "x_config",
    "x_find_urls",
    "x_length",
    "x_measure",
    "x_parse",
]

MASTODON_URL_LENGTH = 23
# twitter-text refuses URLs longer than this (its backend limit); Mastodon inherits the check.
_MAX_URL_LENGTH = 4096
# A t.co slug longer than this is not a t.co URL to twitter-text.
_MAX_TCO_SLUG_LENGTH = 40

_GRAPHEME = regex.compile(r"\X")
# What can join a grapheme cluster to its neighbour (CR joins LF): Hangul jamo and syllables,
# combining marks, ZWJ, prepended concatenation marks and regional indicators.
_CLUSTER_JOINING = regex.compile(
    r"[\r\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=L}\p{GCB=V}"
    r"\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}\p{GCB=Regional_Indicator}]"
)
_BLANK = regex.compile(r"\p{White_Space}*")


_Trie = dict[str, "_Trie"]


class _Entity(NamedTuple):
    start: int
    end: int
    replacement: str | None  # None: a URL, counted as the URL length


def grapheme_length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Mastodon and Bluesky count."""
    if clusters_are_code_points(text):
        return len(text)
    return len(_GRAPHEME.findall(text))


def clusters_are_code_points(text: str) -> bool:
    """Whether every code point of `text` is a grapheme cluster of its own, as in most text:
    then there is nothing to segment (this look is ~15x faster than segmenting)."""
    return _cluster_joining().isdisjoint(text)


@functools.cache
def _cluster_joining() -> frozenset[str]:
    """The characters of `_CLUSTER_JOINING`, taken from the regex module's own Unicode data so
    that they agree with its `\\X` (~0.1 s, once)."""
    found: set[str] = set()
    # Block by block: one string of every code point would take ~100 MB to scan.
    for low in range(0, sys.maxunicode + 1, 4096):
        block = "".join(map(chr, range(low, min(low + 4096, sys.maxunicode + 1))))
        found.update(_CLUSTER_JOINING.findall(block))
    return frozenset(found)


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
    return _countable_length(text, _entities(text), url_length)


def mastodon_measure(text: str) -> tuple[int, list[tuple[int, int]]]:
    """`mastodon_length(text)` and `find_urls(text)` from one scan: the composer needs both."""
    entities = _entities(text)
    urls = [(e.start, e.end) for e in entities if e.replacement is None]
    return _countable_length(text, entities, MASTODON_URL_LENGTH), urls


def _countable_length(text: str, entities: list[_Entity], url_length: int) -> int:
    # Ruby's `str.blank?` short-circuits countable_text: whitespace-only text counts 0.
    if _BLANK.fullmatch(text):
        return 0
    pieces: list[str] = []
    position = 0
    for entity in entities:
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
    for start, end in _protocol_words(text):
        pos = max(0, start - 1)
        found.extend(_Entity(pos + s, pos + e, None) for s, e in _word_urls(text[pos:end]))
    return found


def _protocol_words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word (split at ASCII whitespace) that holds "://"."""
    words: list[tuple[int, int]] = []
    end = 0
    while (found := text.find("://", end)) >= 0:
        before = _WORD_BREAK_BEFORE.search(text, 0, found)
        after = _WORD_BREAK.search(text, found)
        end = len(text) if after is None else after.start()
        words.append((0 if before is None else before.end(), end))
    return words


def _scan_word(piece: str) -> tuple[tuple[int, int], ...]:
    return tuple((e.start, e.end) for e in _url_entities_in(piece, 0, len(piece)))


_word_urls = WordScanner(_scan_word)


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
# Word breaks for the URL scan: queries may hold Unicode spaces (U+00A0 and up), never these.
_WORD_BREAK = regex.compile(r"[\t-\r \x85]")
_WORD_BREAK_BEFORE = regex.compile(r"(?r)[\t-\r \x85]")  # searched backwards
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
