"""Build small, valid Atom 1.0 documents (RFC 4287) for feed tests, shaped like Blogger's.

ElementTree does all escaping, so titles and HTML content with `<`, `&` or quotes come out as
well-formed XML that feedparser reads back unchanged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

ATOM_NS = "http://www.w3.org/2005/Atom"
BLOGGER_CATEGORY_SCHEME = "http://www.blogger.com/atom/ns#"
# Atom requires <updated> on the feed; an empty feed gets a fixed one so output is deterministic.
EMPTY_FEED_UPDATED = "2026-01-01T00:00:00Z"


def atom_feed(
    entries: Sequence[Mapping[str, Any]],
    *,
    title: str = "Test blog",
    self_url: str = "https://blog.example.com/feeds/posts/default",
    author: str = "Test author",
    hub: str | None = None,
) -> bytes:
    """Return a UTF-8 Atom document with `entries` in the given order.

    Each entry needs `id`, `title`, `link`, `content_html` and `published` (ISO 8601); optional
    `updated` (defaults to `published`), `categories` (list of terms) and `summary` (plain text).
    """
    # Plain tag names plus an explicit xmlns: ElementTree's default_namespace option rejects the
    # unqualified attribute names (rel, href, term) that Atom uses.
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _text(feed, "id", self_url)
    _text(feed, "title", title, type="text")
    _text(feed, "updated", _feed_updated(entries))
    _link(feed, "self", self_url, "application/atom+xml")
    if hub:
        ET.SubElement(feed, "link", rel="hub", href=hub)
    _link(feed, "alternate", _site_url(self_url), "text/html")
    _author(feed, author)
    for entry in entries:
        feed.append(_entry(entry))
    ET.indent(feed)
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def sample_entry(
    n: int, *, site: str = "https://blog.example.com", **overrides: Any
) -> dict[str, Any]:
    """A plausible entry number `n` (published n hours into 2026); keyword arguments override."""
    entry: dict[str, Any] = {
        "id": f"tag:blog.example.com,2026:post-{n}",
        "title": f"Post {n}",
        "link": f"{site}/2026/01/post-{n}.html",
        "content_html": f"<p>Body of post {n} &amp; more.</p>",
        "published": f"2026-01-01T{n % 24:02d}:00:00Z",
        "categories": ["Testing"],
    }
    entry.update(overrides)
    return entry


def _entry(entry: Mapping[str, Any]) -> ET.Element:
    element = ET.Element("entry")
    _text(element, "id", entry["id"])
    _text(element, "published", entry["published"])
    _text(element, "updated", entry.get("updated") or entry["published"])
    for term in entry.get("categories") or ():
        ET.SubElement(element, "category", scheme=BLOGGER_CATEGORY_SCHEME, term=str(term))
    _text(element, "title", entry["title"], type="text")
    if entry.get("summary"):
        _text(element, "summary", entry["summary"], type="text")
    # type="html": the markup travels escaped, exactly as Blogger publishes it.
    _text(element, "content", entry["content_html"], type="html")
    alternate = _link(element, "alternate", entry["link"], "text/html")
    alternate.set("title", str(entry["title"]))
    return element


def _feed_updated(entries: Sequence[Mapping[str, Any]]) -> str:
    stamps = [str(e.get("updated") or e["published"]) for e in entries]
    # Same-format ISO strings sort chronologically; mixed offsets are the caller's business.
    return max(stamps, default=EMPTY_FEED_UPDATED)


def _site_url(self_url: str) -> str:
    parts = urlsplit(self_url)
    return f"{parts.scheme}://{parts.netloc}/"


def _text(parent: ET.Element, tag: str, value: object, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = str(value)
    return element


def _link(parent: ET.Element, rel: str, href: str, media_type: str) -> ET.Element:
    return ET.SubElement(parent, "link", rel=rel, type=media_type, href=href)


def _author(parent: ET.Element, name: str) -> None:
    author = ET.SubElement(parent, "author")
    _text(author, "name", name)
