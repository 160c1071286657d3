"""Render a `Summary` into a `Post` for one platform, within its limits. Pure.

Every platform renders through `render`, for preview and publish alike, so a dry run shows
exactly what would be sent. The length is whatever the platform's counter says about the whole
candidate text: counters are not additive (URLs count as a fixed length, clusters can join at
the seams), so candidates are measured, never estimated; a `Meter` measures each distinct
candidate of a render once.

Degrading, from the first thing given up to the last: hashtags (from the end), sentences (from
the end), the first sentence cut at a word boundary with "…", the summary, the title cut at a
word boundary with "…", the title. The URL and the template's literal text are never given up
({author} and {categories} only when not even they fit beside the URL). A model-written
abstract is used only whole, with as many hashtags as still fit; otherwise the sentences are.

Per platform (`rules.PlatformRules`): LinkedIn's text is escaped before it is counted; Bluesky
gets link and tag facets and a link card; thread mode (x, mastodon, bluesky) turns a summary
that lost sentences into a numbered chain (`thread.py`). With `link = "when_truncated"` the
link is left out of a post that carries the whole summary.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import regex

from syndicate.errors import ConfigError, PermanentError
from syndicate.model import LINK_ALWAYS, LINK_WHEN_TRUNCATED, ComposeOptions, Post, Summary
from syndicate.platforms.cuts import (
    ELLIPSIS,
    cut_at,
    cut_points,
    joined_pieces,
    keeps_urls,
    last_fitting,
    longest_prefix,
)
from syndicate.platforms.facets import card_for, facets_for
from syndicate.platforms.hashtags import allowed_categories, hashtags_from
from syndicate.platforms.meter import Meter
from syndicate.platforms.rules import Counter, PlatformRules
from syndicate.platforms.textlen import find_urls, linkedin_escape
from syndicate.platforms.thread import ThreadShape, split_thread

__all__ = ["ELLIPSIS", "PLACEHOLDERS", "parse_template", "render", "render_text"]

PLACEHOLDERS = ("title", "summary", "url", "hashtags", "author", "categories")

_BLANK_LINES = regex.compile(r"\n{3,}")
_SPACE_RUNS = regex.compile(r" {2,}")
_LINE_BREAKS = regex.compile(r"\r\n?")
# A BOM and the noncharacters X refuses mean nothing in a post anywhere.
_UNWANTED = regex.compile(r"[\ufffe\ufeff\uffff]")
_SURROGATE = regex.compile(r"[\ud800-\udfff]")
# Anything `_clean` changes besides the outer whitespace (the stdlib `re` finds a plain class
# faster than `regex`).
_UNCLEAN = re.compile("[\r\ufffe\ufeff\uffff\ud800-\udfff]")


def render(
    summary: Summary, options: ComposeOptions, rules: PlatformRules, *, limit: int | None = None
) -> Post:
    """The post for `summary` on the platform of `rules`, shaped by the account's `options`.

    `limit` overrides the platform's (a Mastodon instance's max_characters). Raises
    ConfigError for a bad template or option, and PermanentError when not even the URL and
    the template's literal text fit.
    """
    if options.link not in (LINK_ALWAYS, LINK_WHEN_TRUNCATED):
        raise ConfigError(
            f"link = {options.link!r}: use {LINK_ALWAYS!r} or {LINK_WHEN_TRUNCATED!r}"
        )
    rules = rules if limit is None else replace(rules, limit=limit)
    content = _content(summary, options)
    meter = Meter(rules)
    outcome = _compose(content, parse_template(options.template), meter, link=options.link)
    notes = outcome.composer.notes
    thread: tuple[str, ...] = ()
    if options.thread and rules.threads and outcome.dropped:
        thread, thread_notes = split_thread(content.sentences, outcome.composer.thread_shape())
        notes.extend(thread_notes)
    text = thread[0] if thread else outcome.text
    if not text.strip():
        raise PermanentError("nothing to post: the entry has no title, text or link")
    return Post(
        platform=rules.name,
        text=text,
        length=meter.count(text),
        limit=rules.limit,
        facets=facets_for(text, content.url) if rules.facets else (),
        card=card_for(summary) if rules.card and (thread or outcome.shows_url) else None,
        thread=thread,
        notes=tuple(notes),
    )


def render_text(summary: Summary, template: str, limit: int, count: Counter) -> str:
    """The text alone, for any counter (`count(text) <= limit`), finding URLs as Mastodon does."""
    rules = PlatformRules("custom", limit, count, find_urls)
    return render(summary, ComposeOptions(template=template), rules).text


def parse_template(template: str) -> list[tuple[str, str]]:
    """(literal text, placeholder name or "") pairs; `{{` and `}}` are literal braces."""
    return list(_parse_template(template))


@functools.lru_cache(maxsize=64)  # an account's template is parsed for every post
def _parse_template(template: str) -> tuple[tuple[str, str], ...]:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ConfigError(f"template {template!r} is malformed: {e}") from e
    layout: list[tuple[str, str]] = []
    for literal, name, spec, conversion in fields:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ConfigError(f"template placeholder {shown} is not supported; use {known}")
        layout.append((literal, name or ""))
    return tuple(layout)


@dataclass(frozen=True)
class _Content:
    """The summary's pieces, cleaned, and what the options make of its categories."""

    title: str
    sentences: tuple[str, ...]
    abstract: str
    url: str
    hashtags: tuple[str, ...]
    author: str
    categories: str
    pieces: tuple[str, ...]  # the sentences with what joins them (`cuts.joined_pieces`)

    def summary_of(self, n: int) -> str:
        """The first `n` sentences joined, as `cuts.join_sentences` joins them."""
        return "".join(self.pieces[: 2 * n - 1]) if n else ""


# An entry is rendered for every account in a row: its pieces are cleaned once.
@functools.lru_cache(maxsize=16)
def _content(summary: Summary, options: ComposeOptions) -> _Content:
    sentences = tuple(s for s in map(_clean, summary.sentences) if s)
    return _Content(
        title=_clean(summary.title),
        sentences=sentences,
        abstract=_clean(summary.abstract),
        url=summary.link.strip(),
        hashtags=hashtags_from(summary.categories, options),
        author=_clean(summary.author),
        categories=", ".join(map(_clean, allowed_categories(summary.categories, options))),
        pieces=tuple(joined_pieces(sentences)),
    )


def _clean(text: str) -> str:
    """One form for line breaks; no BOM, no noncharacters, no surrogates left unpaired."""
    if not _UNCLEAN.search(text):
        return text.strip()
    if _SURROGATE.search(text):
        # Pairs left as two code points (a 'surrogatepass' decode) join; lone ones become U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _UNWANTED.sub("", _LINE_BREAKS.sub("\n", text)).strip()


def _tidy(text: str) -> str:
    """Remove what empty placeholders leave behind: trailing spaces, doubled blank lines."""
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    # Most candidates have neither: a look for the plain string is cheaper than a scan.
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    if "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    return text.strip()


@dataclass(frozen=True)
class _Parts:
    """What fills the variable placeholders of one candidate post."""

    title: str
    summary: str = ""
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Outcome:
    composer: _Composer
    text: str
    shows_url: bool
    truncated: bool  # the post does not carry the whole summary: the link is worth showing
    dropped: bool  # sentences were left out or cut: thread mode has more to say


def _compose(
    content: _Content, layout: list[tuple[str, str]], meter: Meter, *, link: str
) -> _Outcome:
    if link == LINK_WHEN_TRUNCATED:
        outcome = _Composer(content, layout, meter, show_url=False).compose()
        if outcome.text and not outcome.truncated:  # the whole summary, and something to say
            return outcome
    return _Composer(content, layout, meter, show_url=True).compose()


@dataclass
class _Composer:
    """Budget filling for one template on one platform, with or without the link."""

    content: _Content
    layout: list[tuple[str, str]]
    meter: Meter
    show_url: bool
    notes: list[str] = field(default_factory=list)
    show_extras: bool = True  # {author} and {categories}

    def __post_init__(self) -> None:
        self.rules = self.meter.rules
        self.placeholders = {name for _, name in self.layout}
        self.url = self.content.url if self.show_url else ""
        # Only a template that shows the link promises it; a detected URL must stay one URL.
        self.promises_url = self.shows("url") and bool(self.url)
        self.url_is_link = _is_link(self.content.url, self.rules)
        self.literals = [(self.escape(literal, tags=True), name) for literal, name in self.layout]

    def compose(self) -> _Outcome:
        self.check_floor()
        strategies = (
            self.abstract_whole,
            self.whole_sentences,
            self.cut_summary,
            self.title_only,
            self.cut_title,
        )
        parts = next((p for p in (s() for s in strategies) if p is not None), _Parts(""))
        return self.outcome(parts)

    def check_floor(self) -> None:
        """The URL and literal text must fit; {author} and {categories} go if they do not."""
        floor = _Parts(title="")
        if not self.fits(floor) and (self.shows("author") or self.shows("categories")):
            self.show_extras = False
            self.notes.append("no room for {author} or {categories}: left out")
        text = self.render(floor)
        if not self.meter.fits(text):
            raise PermanentError(
                f"the link and the template's literal text count {self.meter.count(text)},"
                f" over the limit of {self.rules.limit}"
            )
        if not self.link_intact(text):
            raise PermanentError(
                f"the template joins other text to the link {self.url!r}, which would change it"
            )

    def abstract_whole(self) -> _Parts | None:
        """The model-written abstract, whole, beside the whole title and the hashtags that fit."""
        if not self.content.abstract or not self.shows("summary"):
            return None
        parts = self.with_hashtags(_Parts(self.content.title, self.content.abstract))
        if parts is None:
            self.notes.append("the abstract does not fit whole: used the extractive sentences")
        return parts

    def whole_sentences(self) -> _Parts | None:
        """As many whole sentences as fit, then as many hashtags as still fit."""
        sentences = self.content.sentences if self.shows("summary") else ()
        n = longest_prefix(len(sentences), lambda n: self.fits(self.with_sentences(n)))
        if n == 0 and sentences:  # not one whole sentence fits: on to the cuts
            return None
        return self.with_hashtags(self.with_sentences(n))

    def cut_summary(self) -> _Parts | None:
        """The first sentence cut at a word boundary, ending in an ellipsis."""
        if not self.content.sentences or not self.shows("summary"):
            return None
        title = self.content.title
        cut = self.longest_cut(self.content.sentences[0], lambda text: _Parts(title, text))
        return None if cut is None else _Parts(title, cut)

    def title_only(self) -> _Parts | None:
        parts = _Parts(self.content.title)
        return parts if self.fits(parts) else None

    def cut_title(self) -> _Parts | None:
        cut = self.longest_cut(self.content.title, _Parts)
        return None if cut is None else _Parts(cut)

    def longest_cut(self, text: str, parts_of: Callable[[str], _Parts]) -> str | None:
        """The longest word-boundary cut of `text` (URLs kept) whose post fits."""
        find = self.meter.find_urls
        urls = find(text)
        points = cut_points(text, urls)

        def fits(index: int) -> bool:
            cut = cut_at(text, points[index])
            return keeps_urls(urls, cut, find) and self.fits(parts_of(cut))

        found = last_fitting(len(points), fits)
        return None if found is None else cut_at(text, points[found])

    def with_sentences(self, n: int) -> _Parts:
        return _Parts(self.content.title, self.content.summary_of(n))

    def with_hashtags(self, parts: _Parts) -> _Parts | None:
        """`parts` with as many hashtags as fit, or None when not even `parts` fits."""
        tags = self.content.hashtags if self.shows("hashtags") else ()
        k = longest_prefix(len(tags), lambda k: self.fits(self.tagged(parts, k)))
        return self.tagged(parts, k) if k or self.fits(parts) else None

    def tagged(self, parts: _Parts, k: int) -> _Parts:
        return _Parts(parts.title, parts.summary, self.content.hashtags[:k])

    def fits(self, parts: _Parts) -> bool:
        return self.text_fits(self.render(parts))

    def text_fits(self, text: str) -> bool:
        return self.meter.fits(text) and self.link_intact(text)

    def link_intact(self, text: str) -> bool:
        return not self.promises_url or self.link_intact_in(text)

    def link_intact_in(self, text: str) -> bool:
        """Whether the entry's link stands in `text` as the very link the platform will see."""
        url = self.content.url
        if not self.url_is_link:
            return url in text  # not a URL to this platform: it only has to be there, unchanged
        # Text glued to the link ("{url}{hashtags}", "…" after it) would change what it opens.
        return any(text[start:end] == url for start, end in self.meter.find_urls(text))

    def shows(self, name: str) -> bool:
        return name in self.placeholders

    def escape(self, text: str, *, tags: bool = False) -> str:
        return linkedin_escape(text, keep_hashtags=tags) if self.rules.escape else text

    def render(self, parts: _Parts) -> str:
        values = {"title": parts.title, "summary": parts.summary}
        if self.show_extras:
            values |= {"author": self.content.author, "categories": self.content.categories}
        if self.rules.escape:
            values = {name: self.escape(value) for name, value in values.items()}
        values["url"] = self.url
        values["hashtags"] = " ".join(["#" + tag for tag in parts.hashtags])
        return _tidy("".join([literal + values.get(name, "") for literal, name in self.literals]))

    def outcome(self, parts: _Parts) -> _Outcome:
        whole = "".join(self.content.pieces)
        abstract = bool(self.content.abstract) and parts.summary == self.content.abstract
        truncated = parts.title != self.content.title or parts.summary != whole
        dropped = parts.summary != whole and not abstract and self.shows("summary")
        return _Outcome(self, self.render(parts), self.promises_url, truncated, dropped)

    def thread_shape(self) -> ThreadShape:
        """Part 1 is this template with the link held back; the last part ends with the link."""
        first = _Composer(self.content, self.layout, self.meter, show_url=False)
        first.show_extras = self.show_extras
        url, fits = self.content.url, self.meter.fits
        return ThreadShape(
            first=lambda body, k: first.render(first.tagged(_Parts(self.content.title, body), k)),
            middle=self.escape,
            last=lambda body: _tidy(f"{self.escape(body)}\n\n{url}"),
            fits=fits,
            fits_last=lambda text: fits(text) and self.link_intact_in(text),
            find_urls=self.meter.find_urls,
            tags=len(self.content.hashtags) if self.shows("hashtags") else 0,
        )


def _is_link(url: str, rules: PlatformRules) -> bool:
    """Whether the platform sees `url`, standing alone, as one whole link."""
    return rules.find_urls(url) == [(0, len(url))]
