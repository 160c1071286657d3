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
from syndicate.feeds.identity import entry_identity
from syndicate.feeds.jsonfeed import looks_like_json, parse_json_feed
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


def parse_feed(body: bytes, url: str = "", headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Raises ParseError, saying why, when the bytes are not a feed of any kind we read."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if looks_like_json(body, response_headers.get("content-type", "")):
        return _mark_truncated(parse_json_feed(body, url))
    if url:
        response_headers["content-location"] = url
    try:
        result: Any = feedparser.parse(
            io.BytesIO(strip_doctype(body)),
            response_headers=response_headers,
            sanitize_html=True,
            resolve_relative_uris=True,
        )
    except Exception as e:  # feedparser's internals fail in many ways on bad input
        raise ParseError(f"{url or 'input'}: feedparser failed: {type(e).__name__}: {e}") from e
    if not result.get("version"):
        reason = result.get("bozo_exception") or "no RSS, Atom or RDF document found"
        raise ParseError(f"{url or 'input'}: not a feed: {reason}")
    return ParsedFeed(
        title=_text(result.feed.get("title")),
        link=_text(result.feed.get("link")),
        entries=_entries(result.entries),
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


def _entries(raw_entries: list[Any]) -> tuple[FeedEntry, ...]:
    # Items sharing an id are told apart later, by the watcher, which knows the ledger.
    return tuple(_entry(raw) for raw in raw_entries)


def _entry(raw: Any) -> FeedEntry:
    link = _text(raw.get("link"))
    title = _text(raw.get("title"))
    published = _date(raw.get("published_parsed"))
    content = _content(raw)
    return FeedEntry(
        identity=entry_identity(
            _text(raw.get("id")), link, title, published.isoformat() if published else "", content
        ),
        link=link,
        title=title,
        content_html=content,
        published=published,
        # feedparser maps a missing 'updated' to 'published'; look before reading.
        updated=_date(raw.get("updated_parsed")) if "updated" in raw else None,
        categories=tuple(_text(t.get("term")) for t in raw.get("tags", []) if t.get("term")),
        author=_text(raw.get("author")),
        content_is_summary=_is_summary_only(raw, content),
        image_url=_image(raw),
    )


def _content(raw: Any) -> str:
    contents = raw.get("content") or []
    for item in contents:
        if item.get("type") in _HTML_TYPES:
            return _text(item.get("value"))
    if contents:
        return _text(contents[0].get("value"))
    return _text(raw.get("summary"))


# RSS carries whole posts in <description> too (Tumblr, Hugo): only a short one is a teaser.
SUMMARY_MAX_CHARS = 600


def _is_summary_only(raw: Any, content_html: str) -> bool:
    """A short description standing in for a body, or a body that stops with a read-more."""
    if _looks_truncated(content_html):
        return True
    if raw.get("content"):
        return False
    return len(html.unescape(_TAGS.sub(" ", content_html)).strip()) < SUMMARY_MAX_CHARS


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
