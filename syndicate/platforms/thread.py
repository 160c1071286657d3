"""Thread mode: a summary too long for one post becomes a numbered chain ending with the link.

Sentences are packed in order, each part as full as its platform allows. A sentence that fits
no part alone is split at clause boundaries (", ", "; ", ": ", " — ", CJK commas), and a
clause that still does not fit at word boundaries, never inside a URL, hashtag, mention or
grapheme cluster. Every part ends with its number ("2/4"); the first part is the account's
template (title, summary, hashtags; the link held back) and the last adds the link.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import regex

from syndicate.platforms.cuts import (
    UrlFinder,
    join_sentences,
    last_fitting,
    longest_prefix,
    split_points,
)

THREAD_MAX_PARTS = 10
# Sizing parts for the widest number keeps a split unit valid wherever it lands.
_WIDEST_NUMBER = f" {THREAD_MAX_PARTS}/{THREAD_MAX_PARTS}"
_CLAUSE_BREAK = regex.compile(r"(?<=[,;:])\s+|\s+(?=[—–]\s)|(?<=[，、；：])(?=\S)")


@dataclass(frozen=True)
class ThreadShape:
    """How one platform and account shape the parts of a thread."""

    first: Callable[[str, int], str]  # part 1 for its body and a number of hashtags
    middle: Callable[[str], str]  # a part between the first and the last, for its body
    last: Callable[[str], str]  # the last part for its body: the link added
    fits: Callable[[str], bool]  # within the platform's limits
    fits_last: Callable[[str], bool]  # within the limits, with the link intact
    find_urls: UrlFinder
    tags: int  # hashtags on offer for part 1


def split_thread(sentences: Iterable[str], shape: ThreadShape) -> tuple[tuple[str, ...], list[str]]:
    """The parts of the thread, and notes on what was left out; () when no thread can be made."""
    split_notes: list[str] = []
    units = _Replay(_units(sentences, shape, split_notes))
    tags = _first_part_tags(next(iter(units), ""), shape)
    if tags is None:
        return (), ["thread mode: the title leaves no room for a numbered part; posted as one"]
    bodies: list[list[str]] | None = None
    for total in (9, THREAD_MAX_PARTS):  # one-digit numbers, then two
        pack_notes: list[str] = []
        bodies = _pack(iter(units), shape, total, tags, pack_notes)
        if bodies is None or len(bodies) <= 9:
            break
    if bodies is None:
        return (), ["thread mode: the summary does not split into parts; posted as one"]
    n = len(bodies)
    texts = tuple(
        _part(shape, units, i, n, tags, last=i == n) for i, units in enumerate(bodies, start=1)
    )
    return texts, [f"thread of {n} parts", *dict.fromkeys(split_notes + pack_notes)]


class _Replay(Iterable[str]):
    """An iterator's items, produced once on demand and replayed to every later pass."""

    def __init__(self, items: Iterator[str]) -> None:
        self._items = items
        self._seen: list[str] = []

    def __iter__(self) -> Iterator[str]:
        index = 0
        while True:
            if index == len(self._seen):
                item = next(self._items, None)
                if item is None:
                    return
                self._seen.append(item)
            yield self._seen[index]
            index += 1


def _first_part_tags(first_unit: str, shape: ThreadShape) -> int | None:
    """How many hashtags part 1 carries: as many as fit beside its first unit (or the title)."""
    for body in (first_unit, ""):
        fits = functools.partial(_first_fits, shape, (body + _WIDEST_NUMBER).strip())
        if fits(0):
            return longest_prefix(shape.tags, fits)
    return None


def _first_fits(shape: ThreadShape, body: str, tags: int) -> bool:
    return shape.fits(shape.first(body, tags))


def _pack(
    units: Iterator[str], shape: ThreadShape, total: int, tags: int, notes: list[str]
) -> list[list[str]] | None:
    parts: list[list[str]] = [[]]
    for unit in units:
        candidate = [*parts[-1], unit]
        if shape.fits(_part(shape, candidate, len(parts), total, tags, last=False)):
            parts[-1] = candidate
        elif len(parts) == THREAD_MAX_PARTS:
            notes.append(f"thread capped at {THREAD_MAX_PARTS} parts: the rest left out")
            break
        else:
            parts.append([unit])
    return _end_with_link(parts, shape, total, tags, notes)


def _end_with_link(
    parts: list[list[str]], shape: ThreadShape, total: int, tags: int, notes: list[str]
) -> list[list[str]] | None:
    """Make room for the link in the last part: move (or, at the cap, drop) its last units."""
    while True:
        n = len(parts)
        if n >= 2 and shape.fits_last(_part(shape, parts[-1], n, total, tags, last=True)):
            return parts
        if len(parts[-1]) < 2:
            return None
        unit = parts[-1].pop()
        if n < THREAD_MAX_PARTS:
            parts.append([unit])
        else:
            notes.append("the last sentences made way for the link")


def _part(
    shape: ThreadShape, units: list[str], index: int, total: int, tags: int, *, last: bool
) -> str:
    """Part `index` of `total` holding `units`; the `last` one adds the link."""
    body = " ".join(filter(None, [join_sentences(units), f"{index}/{total}"]))
    if index == 1:
        return shape.first(body, tags)
    return shape.last(body) if last else shape.middle(body)


def _units(sentences: Iterable[str], shape: ThreadShape, notes: list[str]) -> Iterator[str]:
    """Sentences, each split into clauses or word runs when it fits no part alone."""

    def fits_alone(unit: str) -> bool:
        return shape.fits_last(shape.last(unit + _WIDEST_NUMBER))

    for sentence in sentences:
        if fits_alone(sentence):
            yield sentence
            continue
        for clause in _clauses(sentence, shape.find_urls):
            if fits_alone(clause):
                yield clause
            else:
                yield from _word_runs(clause, fits_alone, shape.find_urls, notes)


def _clauses(sentence: str, find_urls: UrlFinder) -> list[str]:
    urls = find_urls(sentence)
    starts = [begin for begin, _ in urls]
    pieces: list[str] = []
    start = 0
    for match in _CLAUSE_BREAK.finditer(sentence):
        index = bisect.bisect_left(starts, match.start()) - 1  # the only URL that could hold it
        if index < 0 or urls[index][1] <= match.start():
            pieces.append(sentence[start : match.start()])
            start = match.end()
    pieces.append(sentence[start:])
    return [piece for piece in pieces if piece.strip()]


def _word_runs(
    text: str, fits_alone: Callable[[str], bool], find_urls: UrlFinder, notes: list[str]
) -> Iterator[str]:
    """The longest runs of whole words that fit, in order; a word that fits nowhere is left out."""
    points = [*split_points(text, find_urls(text)), len(text)]
    start = 0
    while start < len(text):
        ends = points[bisect.bisect_right(points, start) :]
        found = last_fitting(len(ends), functools.partial(_run_fits, text, start, ends, fits_alone))
        if found is None:  # the next word alone is too long: leave it out, go on after it
            notes.append("a word too long for any part was left out")
            start = ends[0]
            continue
        if run := text[start : ends[found]].strip():
            yield run
        start = ends[found]


def _run_fits(
    text: str, start: int, ends: list[int], fits_alone: Callable[[str], bool], index: int
) -> bool:
    return fits_alone(text[start : ends[index]].strip())
