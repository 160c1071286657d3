"""Where text may be cut, and searches for the longest piece that fits. Pure.

A cut falls only where a word ends (before whitespace, or between two CJK clusters), never
inside a grapheme cluster, a URL, a hashtag or a mention. Searches gallop from the short end,
so the cost follows the size of the answer, not of the text: a 100 kB sentence cut to fit 280
characters is measured a dozen times on short prefixes, never whole.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise

import regex

from syndicate.platforms.textlen import clusters_are_code_points

ELLIPSIS = "…"

UrlFinder = Callable[[str], list[tuple[int, int]]]

_GRAPHEME = regex.compile(r"\X")
_BEFORE_SPACE = re.compile(r"\S(?=\s)")
# Scripts written without spaces between words: a cut may fall between two of their clusters.
_NO_SPACE_SCRIPT = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")
# Text a cut leaves dangling before the ellipsis ("Hello, world,…").
_DANGLING = ",;:-–—"
_TOKEN_PREFIXES = ("#", "＃", "@", "＠")
_CJK_END = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}。！？、，；：」』）]$")
_CJK_START = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}「『（]")
# The first character a cut must keep for the cut to say anything.
_SUBSTANCE = regex.compile(rf"[^\s{regex.escape(_DANGLING)}]")


def join_sentences(sentences: Iterable[str]) -> str:
    """Sentences joined by a space, except where Chinese and Japanese write none ("。次")."""
    return "".join(joined_pieces(list(sentences)))


def joined_pieces(sentences: Sequence[str]) -> list[str]:
    """The sentences with what joins them, "" or " ", between: `join_sentences` of the first n
    is "".join of the first 2n - 1 pieces."""
    pieces = [*sentences[:1]]
    for before, sentence in pairwise(sentences):
        pieces.append("" if _ends_cjk(before) and _CJK_START.match(sentence) else " ")
        pieces.append(sentence)
    return pieces


def _ends_cjk(text: str) -> bool:
    # `$` matches at the end or before a final "\n": only the last two characters can match,
    # and searching from there spares a scan of the whole sentence.
    return not text[-2:].isascii() and _CJK_END.search(text, max(0, len(text) - 2)) is not None


def word_ends(text: str) -> list[int]:
    """Offsets (inside `text`) at which a word ends."""
    if clusters_are_code_points(text) and not _NO_SPACE_SCRIPT.search(text):
        # Most text: no cluster to keep whole, no script without spaces. A word ends where a
        # space follows something else (`re`'s \s is `str.isspace`).
        return [match.end() for match in _BEFORE_SPACE.finditer(text)]
    clusters: list[tuple[int, str]] = [(m.start(), m.group()) for m in _GRAPHEME.finditer(text)]
    ends: list[int] = []
    token_start = 0
    for (_, cluster), (position, following) in pairwise(clusters):
        if cluster.isspace():
            token_start = position
        elif following.isspace() or _ideographic_break(cluster, following, text[token_start]):
            ends.append(position)
    return ends


def split_points(text: str, urls: list[tuple[int, int]]) -> list[int]:
    """Word ends of `text` outside its `urls` spans (sorted and disjoint, as finders give them)."""
    starts = [start for start, _ in urls]
    points: list[int] = []
    for end in word_ends(text):
        # The last URL starting before `end` is the only one that could hold it.
        index = bisect.bisect_left(starts, end) - 1
        if index < 0 or urls[index][1] <= end:
            points.append(end)
    return points


def cut_points(text: str, urls: list[tuple[int, int]]) -> list[int]:
    """Split points that leave something besides punctuation before the ellipsis."""
    substance = _SUBSTANCE.search(text)
    first = len(text) if substance is None else substance.start()
    return [end for end in split_points(text, urls) if end > first]


def cut_at(text: str, end: int) -> str:
    """`text` up to `end`, without dangling punctuation, ending in an ellipsis."""
    return text[:end].rstrip(_DANGLING).rstrip() + ELLIPSIS


def keeps_urls(urls: list[tuple[int, int]], cut: str, find_urls: UrlFinder) -> bool:
    """Whether the URLs in `cut` (a shortened text whose URLs were `urls`) are unchanged.

    An ellipsis is a valid URL character: after "…/a." it would become part of the link.
    """
    inside = len(cut) - len(ELLIPSIS)
    return find_urls(cut) == [url for url in urls if url[1] <= inside]


def last_fitting(size: int, fits: Callable[[int], bool]) -> int | None:
    """The largest index i < size with fits(i), for a `fits` that holds on a prefix of indexes.

    Gallops (0, 1, 3, 7, …) and then bisects, so probes stay near the answer.
    """
    if size == 0 or not fits(0):
        return None
    low, step = 0, 1
    while low + step < size and fits(low + step):
        low, step = low + step, step * 2
    high = min(low + step, size)  # fits(high) is false, or high is past the end
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low


def longest_prefix(size: int, fits: Callable[[int], bool]) -> int:
    """The largest n <= size such that fits(n) holds (n items taken in order); 0 if none."""
    found = last_fitting(size, lambda i: fits(i + 1))
    return 0 if found is None else found + 1


def _ideographic_break(cluster: str, following: str, token_first: str) -> bool:
    """Between two CJK clusters, unless inside a hashtag or mention ("#東京タワー")."""
    if token_first in _TOKEN_PREFIXES:
        return False
    return bool(_NO_SPACE_SCRIPT.match(cluster)) and bool(_NO_SPACE_SCRIPT.match(following))
