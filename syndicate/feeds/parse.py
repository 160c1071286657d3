"""Bytes -> ParsedFeed: RSS, Atom and RDF via feedparser, JSON Feed via jsonfeed.

feedparser never sees a URL or a path, only bytes.
"""

from __future__ import annotations

import calendar
import dataclasses
import html
import io
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from syndicate.errors import ParseError
from syndicate.feeds.identity import content_hash, entry_identity
from syndicate.feeds.jsonfeed import looks_like_json, parse_json_feed
from syndicate.feeds.markup import clean_html
from syndicate.model import FeedEntry, ParsedFeed

# An internal DTD subset can declare entities that expand quadratically in feedparser's
# lenient fallback; legitimate feeds do not need one.
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>", re.S | re.I)
_ENTITY = re.compile(rb"<!ENTITY[^>]*>", re.S | re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TAGS = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRUNCATION_MARKERS = ("…", "[…]", "[...]", "read more", "continue reading", "continue reading →")


def strip_doctype(body: bytes) -> bytes:
    body = _DOCTYPE.sub(b"", body, count=1)
    return _ENTITY.sub(b"", body)


def parse_feed(
    body: bytes, url: str = "", headers: Mapping[str, str] | None = None, *, clean: bool = True
) -> ParsedFeed:
    """Raises ParseError, saying why, when the bytes are not a feed of any kind we read.

    Bodies are cleaned the way feedparser cleans them (relative URIs resolved against the
    element's base, then sanitised), but by us, after parsing: `clean=False` leaves each
    RSS/Atom body raw, marked with `raw_content`, for `finish` to clean when it is needed. The
    watcher cleans only the entries that are new or whose source changed; on a typical poll of
    a changed feed that is one in ten, and cleaning is most of feedparser's time."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if looks_like_json(body, response_headers.get("content-type", "")):
        return _mark_truncated(parse_json_feed(body, url))
    if url:
        response_headers["content-location"] = url
    try:
        result: Any = feedparser.parse(
            io.BytesIO(strip_doctype(body)),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as e:  # feedparser's internals fail in many ways on bad input
        raise ParseError(f"{url or 'input'}: feedparser failed: {type(e).__name__}: {e}") from e
    if not result.get("version"):
        reason = result.get("bozo_exception") or "no RSS, Atom or RDF document found"
        raise ParseError(f"{url or 'input'}: not a feed: {reason}")
    encoding = result.get("encoding") or "utf-8"
    try:
        # Cleaning ran inside feedparser before; its failures still say which feed failed.
        title = _text(_detail(result.feed, "title", encoding))
        entries = tuple(_entry(raw, encoding) for raw in result.entries)
        if clean:
            entries = tuple(finish(e) for e in entries)
    except Exception as e:
        raise ParseError(f"{url or 'input'}: cleaning failed: {type(e).__name__}: {e}") from e
    return ParsedFeed(
        title=title,
        link=_text(result.feed.get("link")),
        # Items sharing an id are told apart later, by the watcher, which knows the ledger.
        entries=entries,
        hub=_link(result.feed, "hub"),
        self_url=_link(result.feed, "self"),
        ttl=_minutes(result.feed.get("ttl")),
    )


def _mark_truncated(feed: ParsedFeed) -> ParsedFeed:
    """A full body that stops at a read-more marker is a summary, whatever the format."""
    entries = tuple(
        dataclasses.replace(e, content_is_summary=True)
        if not e.content_is_summary and _looks_truncated(e.content_html)
        else e
        for e in feed.entries
    )
    return dataclasses.replace(feed, entries=entries)


def finish(entry: FeedEntry) -> FeedEntry:
    """The entry with its body cleaned, if `parse_feed(clean=False)` left it raw."""
    if entry.raw_content is None:
        return entry
    content = _clean(entry.content_html, *entry.raw_content)
    return dataclasses.replace(
        entry,
        content_html=content,
        content_is_summary=_is_summary_only(content, description=entry.content_is_summary),
        raw_content=None,
    )


def _entry(raw: Any, encoding: str) -> FeedEntry:
    link = _text(raw.get("link"))
    title = _text(_detail(raw, "title", encoding))  # short: cleaned at once, like the feed's
    published = _date(raw.get("published_parsed"))
    body, base, kind = _content(raw)
    categories = tuple(_text(t.get("term")) for t in raw.get("tags", []) if t.get("term"))
    raw_content = (base, kind, encoding) if kind in _HTML_TYPES else None
    entry_id = _text(raw.get("id"))
    dated = published.isoformat() if published else ""
    if not (entry_id or link or title or dated) and raw_content:
        body, raw_content = _clean(body, *raw_content), None  # the body is the identity
    description = not raw.get("content")  # no full-body element, only a description
    return FeedEntry(
        identity=entry_identity(entry_id, link, title, dated, body),
        link=link,
        title=title,
        content_html=body,
        published=published,
        # feedparser maps a missing 'updated' to 'published'; look before reading.
        updated=_date(raw.get("updated_parsed")) if "updated" in raw else None,
        categories=categories,
        author=_text(raw.get("author")),
        # While the body is raw: whether it came from a description, judged once clean.
        content_is_summary=description if raw_content else _is_summary_only(body, description),
        image_url=_image(raw),
        # What decides whether the entry changed: the feed's own text and how to clean it.
        source_hash=content_hash(title, link, body, base, kind, "\x1f".join(categories)),
        raw_content=raw_content,
    )


def _content(raw: Any) -> tuple[str, str, str]:
    """(body, base URL, content type): the first HTML content, else the first, else summary."""
    contents = raw.get("content") or []
    chosen = next((c for c in contents if c.get("type") in _HTML_TYPES), None)
    detail = chosen or (contents[0] if contents else raw.get("summary_detail") or {})
    body = detail.get("value") if (chosen or contents) else raw.get("summary")
    return _text(body), str(detail.get("base") or ""), str(detail.get("type") or "text/html")


def _detail(obj: Any, key: str, encoding: str) -> Any:
    """A text construct (a title) as feedparser would have cleaned it."""
    detail = obj.get(f"{key}_detail") or {}
    value = obj.get(key)
    kind = detail.get("type")
    if isinstance(value, str) and kind in _HTML_TYPES:
        return _clean(value, str(detail.get("base") or ""), kind, encoding)
    return value


def _clean(markup: str, base: str, kind: str, encoding: str = "utf-8") -> str:
    return _text(clean_html(markup, base, kind, encoding))


# RSS carries whole posts in <description> too (Tumblr, Hugo): only a short one is a teaser.
SUMMARY_MAX_CHARS = 600


def _is_summary_only(content_html: str, description: bool) -> bool:
    """A body that stops with a read-more, or a short description standing in for a body."""
    if _looks_truncated(content_html):
        return True
    return (
        description and len(html.unescape(_TAGS.sub(" ", content_html)).strip()) < SUMMARY_MAX_CHARS
    )


def _looks_truncated(content_html: str) -> bool:
    tail = html.unescape(_TAGS.sub(" ", content_html[-400:])).strip().rstrip(".").casefold()
    return tail.endswith(_TRUNCATION_MARKERS)


def _image(raw: Any) -> str:
    """The entry's picture: media:thumbnail, else media:content, else an image enclosure."""
    for item in [*raw.get("media_thumbnail", []), *raw.get("media_content", [])]:
        if item.get("url") and item.get("medium", "image") == "image":
            return _text(item["url"])
    for enclosure in raw.get("enclosures", []):
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return _text(enclosure["href"])
    return ""


def _minutes(value: Any) -> float | None:
    """RSS <ttl>, a whole number of minutes; anything else is ignored."""
    text = _text(value)
    return float(text) if text.isdigit() and int(text) > 0 else None


def _link(feed: Any, rel: str) -> str:
    for link in feed.get("links", []):
        if link.get("rel") == rel and link.get("href"):
            return _text(link["href"])
    return ""


def _date(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    # feedparser normalises parsed dates to UTC struct_time.
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


def _text(value: Any) -> str:
    # NUL and other control characters: no reader shows them and PostgreSQL refuses NUL.
    return _CONTROL.sub("", value).strip() if isinstance(value, str) else ""
