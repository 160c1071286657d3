"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/): bytes -> ParsedFeed.

feedparser does not read JSON Feed. Every field is checked for its type: a field of the wrong
type is ignored, never a crash. HTML goes through feedparser's own sanitiser and relative-URI
resolver, so a JSON entry reaches the summariser cleaned exactly as an RSS or Atom one.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from syndicate.errors import ParseError
from syndicate.feeds.identity import entry_identity
from syndicate.feeds.markup import clean_html, sanitize
from syndicate.model import FeedEntry, ParsedFeed

JSON_TYPES = ("application/feed+json", "application/json")
_VERSION = re.compile(r"https?://(www\.)?jsonfeed\.org/version/")
# NUL and other control characters (no reader shows them, PostgreSQL refuses NUL) and lone
# surrogates, which JSON can escape but UTF-8 cannot encode.
_UNWANTED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BLANK_LINE = re.compile(r"\n\s*\n")
_WEBSUB = ("websub", "pubsubhubbub")


def looks_like_json(body: bytes, content_type: str = "") -> bool:
    """A body that opens with '{', or one served as JSON that does not open like XML."""
    start = body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    media_type = content_type.split(";", 1)[0].strip().lower()
    return start == b"{" or (media_type in JSON_TYPES and start != b"<")


def is_json_feed(body: bytes) -> bool:
    """JSON whose top-level `version` is a jsonfeed.org version URL."""
    try:
        _load(body, "input")
    except ParseError:
        return False
    return True


def parse_json_feed(body: bytes, url: str = "") -> ParsedFeed:
    """Raises ParseError when the body is not JSON, or is JSON but not a JSON Feed."""
    document = _load(body, url or "input")
    base = url or _text(document.get("feed_url"))
    author = _authors(document)
    return ParsedFeed(
        title=_text(document.get("title")),
        link=_url(document.get("home_page_url"), base),
        entries=tuple(
            _entry(i, base, author) for i in _list(document.get("items")) if isinstance(i, dict)
        ),
        hub=_hub(document.get("hubs")),
        self_url=_url(document.get("feed_url"), base),
    )


def _load(body: bytes, source: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as e:  # bad JSON, bad UTF-8, absurd nesting
        raise ParseError(f"{source}: not a feed: invalid JSON: {e}") from e
    if not isinstance(document, dict) or not _VERSION.match(_text(document.get("version"))):
        raise ParseError(
            f"{source}: not a feed: JSON, but not a JSON Feed "
            "(no 'version' of https://jsonfeed.org/version/…)"
        )
    return document


def _entry(item: dict[str, Any], base: str, feed_author: str) -> FeedEntry:
    link = _url(item.get("url"), base) or _url(item.get("external_url"), base)
    title = _text(item.get("title"))
    published = _date(item.get("date_published"))
    content, is_summary = _content(item, link or base)
    return FeedEntry(
        identity=entry_identity(
            _id(item.get("id")), link, title, published.isoformat() if published else "", content
        ),
        link=link,
        title=title,
        content_html=content,
        published=published,
        updated=_date(item.get("date_modified")),
        categories=tuple(t for t in map(_text, _list(item.get("tags"))) if t),
        author=_authors(item) or feed_author,
        content_is_summary=is_summary,
        image_url=_url(item.get("image"), base) or _url(item.get("banner_image"), base),
    )


def _content(item: dict[str, Any], base: str) -> tuple[str, bool]:
    """(HTML body, whether it is only a summary): content_html, content_text, then summary."""
    if content_html := _text(item.get("content_html")):
        # No base to resolve links against (a feed read without its URL): sanitised only.
        return _text(clean_html(content_html, base) if base else sanitize(content_html)), False
    if content_text := _text(item.get("content_text")):
        return _paragraphs(content_text), False
    return _paragraphs(_text(item.get("summary"))), True


def _paragraphs(text: str) -> str:
    """Plain text as HTML: blank lines separate paragraphs, single newlines become <br>."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (p.strip() for p in _BLANK_LINE.split(text))
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs if p)


def _id(value: Any) -> str:
    """The spec says string; some generators write numbers. Booleans are not ids."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _authors(obj: dict[str, Any]) -> str:
    """1.1 `authors` (a list), else 1.0 `author` (one object): their names, comma-separated."""
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else [obj.get("author")]
    names = (_text(a.get("name")) for a in candidates if isinstance(a, dict))
    return ", ".join(name for name in names if name)


def _hub(hubs: Any) -> str:
    for hub in _list(hubs):
        if isinstance(hub, dict) and _text(hub.get("type")).lower() in _WEBSUB:
            return _text(hub.get("url"))
    return ""


def _date(value: Any) -> datetime | None:
    """RFC 3339 as the spec says; RFC 822 as some generators write anyway. Naive means UTC."""
    text = _text(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    try:
        return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset
        return None


def _url(value: Any, base: str) -> str:
    url = _text(value)
    if not url or not base:
        return url
    try:
        return urljoin(base, url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return _UNWANTED.sub("", value).strip() if isinstance(value, str) else ""
