"""URL scans word by word, each word's result kept: a post's candidate texts share their words.

Both URL patterns (twitter-text's for X, Mastodon's for the others) match within one word and
look at most one character before it, the pattern's "preceding character". So a text's URLs
are those of its words, each scanned together with the character before it; and since every
ASCII space serves alike as that character, words are kept under one key: " " + word.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

Span = tuple[int, int]
Scan = Callable[[str], tuple[Span, ...]]

# Words longer than this are scanned each time rather than kept.
_CACHED_WORD = 400
# Spaces to both patterns, which no URL starts with (unlike, for X, the controls U+001C-1F).
_SPACES = frozenset(" \t\n\x0b\x0c\r\x85")


class WordScanner:
    """`scan` of a word and the character before it (a space, or none at the text's start)."""

    def __init__(self, scan: Scan) -> None:
        self._scan = scan
        self._kept = functools.lru_cache(maxsize=4096)(scan)

    def __call__(self, piece: str) -> tuple[Span, ...]:
        key, shift = _key(piece)
        spans = self._kept(key) if len(key) <= _CACHED_WORD else self._scan(key)
        return tuple((start - shift, end - shift) for start, end in spans) if shift else spans


def _key(piece: str) -> tuple[str, int]:
    """The word under its key, and how far the key's offsets are ahead of the piece's."""
    first = piece[:1]
    if first and first in _SPACES:
        return " " + piece[1:], 0
    if first.isascii() and first.isalnum():
        # A word at the text's start: a letter or digit cannot be the preceding character
        # either, so both patterns first try a URL right there, as after a space.
        return " " + piece, 1
    return piece, 0
