"""Render a `Summary` into the text of one post, within a platform's limit. Pure.

Every platform renders through `render_text`, for preview and publish alike, so a dry run shows
exactly what would be sent. The length is whatever the platform's `count` says about the whole
candidate text: counters are not additive (URLs count as a fixed length, clusters can join at
the seams), so candidates are measured, never estimated.

Degrading, from the first thing given up to the last: hashtags (from the end), sentences (from
the end), the first sentence cut at a word boundary with "…", the summary, the title cut at a
word boundary with "…", the title. The URL and the template's literal text are never given up.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

import regex

from syndicate.errors import ConfigError, PermanentError
from syndicate.model import Summary
from syndicate.platforms.textlen import find_urls

Counter = Callable[[str], int]

ELLIPSIS = "…"
PLACEHOLDERS = ("title", "summary", "url", "hashtags")

_T = TypeVar("_T")
_GRAPHEME = regex.compile(r"\X")
# Scripts written without spaces between words: a cut may fall between two of their clusters.
_NO_SPACE_SCRIPT = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")
# Text a cut leaves dangling before the ellipsis ("Hello, world,…").
_DANGLING = ",;:-–—"
_TOKEN_PREFIXES = ("#", "＃", "@")
_BLANK_LINES = regex.compile(r"\n{3,}")
_SPACE_RUNS = regex.compile(r" {2,}")


@dataclass(frozen=True)
class _Parts:
    """What fills the placeholders of one candidate post."""

    title: str
    summary: str = ""
    hashtags: tuple[str, ...] = ()


def render_text(summary: Summary, template: str, limit: int, count: Counter) -> str:
    """The post text for `summary`, shaped by `template`, with `count(text) <= limit`.

    Raises ConfigError for an unknown or malformed placeholder, and PermanentError when not
    even the URL and the template's literal text fit.
    """
    return _Composer(summary, _parse_template(template), limit, count).compose()


class _Composer:
    def __init__(
        self, summary: Summary, layout: list[tuple[str, str]], limit: int, count: Counter
    ) -> None:
        self.layout = layout
        self.limit = limit
        self.count = count
        self.url = summary.link.strip()
        self.title = summary.title.strip()
        self.sentences = tuple(s.strip() for s in summary.sentences if s.strip())
        self.hashtags = tuple(t.strip().lstrip("#＃") for t in summary.hashtags if t.strip("#＃ "))
        # Only a template that shows the link promises it; a detected URL must stay one URL.
        self.shows_url = any(name == "url" for _, name in layout) and bool(self.url)
        self.url_is_url = find_urls(self.url) == [(0, len(self.url))]

    def compose(self) -> str:
        floor = _Parts(title="")
        text = self.render(floor)
        if self.count(text) > self.limit:
            raise PermanentError(
                f"the link and the template's literal text count {self.count(text)},"
                f" over the limit of {self.limit}"
            )
        if not self.link_intact(text):
            raise PermanentError(
                f"the template joins other text to the link {self.url!r}, which would change it"
            )
        for strategy in (self.whole_sentences, self.cut_summary, self.title_only, self.cut_title):
            parts = strategy()
            if parts is not None:
                return self.render(parts)
        return self.render(floor)

    def whole_sentences(self) -> _Parts | None:
        """As many whole sentences as fit, then as many hashtags as still fit."""
        n = _longest_prefix(len(self.sentences), lambda n: self.fits(self.with_sentences(n)))
        base = self.with_sentences(n)
        # No sentence fits (or, with none to offer, not even the title): on to the cuts.
        if n == 0 and (self.sentences or not self.fits(base)):
            return None
        k = _longest_prefix(len(self.hashtags), lambda k: self.fits(self.with_hashtags(base, k)))
        return self.with_hashtags(base, k)

    def cut_summary(self) -> _Parts | None:
        """The first sentence cut at a word boundary, ending in an ellipsis."""
        if not self.sentences:
            return None
        first = self.sentences[0]
        cut = _last_fitting(
            _cuts(first),
            lambda text: (
                _keeps_urls(first, text) and self.fits(_Parts(title=self.title, summary=text))
            ),
        )
        return None if cut is None else _Parts(title=self.title, summary=cut)

    def title_only(self) -> _Parts | None:
        parts = _Parts(title=self.title)
        return parts if self.fits(parts) else None

    def cut_title(self) -> _Parts | None:
        cut = _last_fitting(
            _cuts(self.title),
            lambda text: _keeps_urls(self.title, text) and self.fits(_Parts(title=text)),
        )
        return None if cut is None else _Parts(title=cut)

    def with_sentences(self, n: int) -> _Parts:
        return _Parts(title=self.title, summary=" ".join(self.sentences[:n]))

    def with_hashtags(self, parts: _Parts, k: int) -> _Parts:
        return _Parts(title=parts.title, summary=parts.summary, hashtags=self.hashtags[:k])

    def fits(self, parts: _Parts) -> bool:
        text = self.render(parts)
        return self.count(text) <= self.limit and self.link_intact(text)

    def link_intact(self, text: str) -> bool:
        if not self.shows_url:
            return True
        if not self.url_is_url:
            return self.url in text
        # Text glued to the link ("{url}{hashtags}", "…" after it) would change what it opens.
        return any(text[start:end] == self.url for start, end in find_urls(text))

    def render(self, parts: _Parts) -> str:
        values = {
            "title": parts.title,
            "summary": parts.summary,
            "url": self.url,
            "hashtags": " ".join("#" + tag for tag in parts.hashtags),
        }
        return _tidy("".join(literal + values.get(name, "") for literal, name in self.layout))


def _parse_template(template: str) -> list[tuple[str, str]]:
    """(literal text, placeholder name or "") pairs; `{{` and `}}` are literal braces."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ConfigError(f"template {template!r} is malformed: {e}") from e
    layout: list[tuple[str, str]] = []
    for literal, name, spec, conversion in fields:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise ConfigError(
                f"template placeholder {shown} is not supported; use {{title}}, {{summary}},"
                " {url} or {hashtags}"
            )
        layout.append((literal, name or ""))
    return layout


def _tidy(text: str) -> str:
    """Remove what empty placeholders leave behind: trailing spaces, doubled blank lines."""
    lines = [line.rstrip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines))
    collapsed: str = _SPACE_RUNS.sub(" ", text)
    return collapsed.strip()


def _cuts(text: str) -> list[str]:
    """Shortened versions of `text` ending in an ellipsis, shortest first.

    Cuts fall only where a word ends (before a space, or between two CJK clusters), never
    inside a grapheme cluster, a URL, a hashtag or a mention.
    """
    urls = find_urls(text)
    shortened: list[str] = []
    for end in _word_ends(text):
        prefix = text[:end].rstrip(_DANGLING)
        if prefix and not any(start < end < stop for start, stop in urls):
            shortened.append(prefix + ELLIPSIS)
    return shortened


def _keeps_urls(text: str, cut: str) -> bool:
    """Whether the URLs in `cut` (a shortened `text`) are the ones `text` has there.

    An ellipsis is a valid URL character: after "…/a." it would become part of the link.
    """
    inside = len(cut) - len(ELLIPSIS)
    return find_urls(cut) == [url for url in find_urls(text) if url[1] <= inside]


def _word_ends(text: str) -> list[int]:
    """Offsets (inside `text`) at which a word ends."""
    clusters: list[tuple[int, str]] = [(m.start(), m.group()) for m in _GRAPHEME.finditer(text)]
    ends: list[int] = []
    token_start = 0
    for (_, cluster), (position, following) in pairwise(clusters):
        if cluster.isspace():
            token_start = position
        elif following.isspace() or _ideographic_break(cluster, following, text[token_start]):
            ends.append(position)
    return ends


def _ideographic_break(cluster: str, following: str, token_first: str) -> bool:
    """Between two CJK clusters, unless inside a hashtag or mention ("#東京タワー")."""
    if token_first in _TOKEN_PREFIXES:
        return False
    return bool(_NO_SPACE_SCRIPT.match(cluster)) and bool(_NO_SPACE_SCRIPT.match(following))


def _longest_prefix(size: int, fits: Callable[[int], bool]) -> int:
    """The largest n <= size such that fits(1) … fits(n) all hold, taken in order."""
    n = 0
    while n < size and fits(n + 1):
        n += 1
    return n


def _last_fitting(candidates: Sequence[_T], fits: Callable[[_T], bool]) -> _T | None:
    """The longest fitting candidate by bisection (candidates grow); the answer is checked."""
    low, high = 0, len(candidates) - 1
    best: _T | None = None
    while low <= high:
        middle = (low + high) // 2
        if fits(candidates[middle]):
            best, low = candidates[middle], middle + 1
        else:
            high = middle - 1
    return best
