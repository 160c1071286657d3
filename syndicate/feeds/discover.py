"""Which feeds a web page advertises, and whether a body is a feed. Pure: no network.

The service fetches the page, asks `discover_feeds`, falls back to `common_feed_urls` when the
page advertises nothing, and checks each candidate's body with `looks_like_feed`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from syndicate.feeds.identity import normalise_url
from syndicate.feeds.jsonfeed import is_json_feed

# Where blog engines put their feed, most common first: WordPress, Substack and Medium; Ghost
# and Tumblr; Hugo; Jekyll; Zola, Hexo and Octopress; Gatsby, Astro and Next; Blogger;
# micro.blog.
COMMON_PATHS = (
    "/feed",
    "/rss",
    "/index.xml",
    "/feed.xml",
    "/atom.xml",
    "/rss.xml",
    "/feeds/posts/default",
    "/feed.json",
)
ADVERTISED_TYPES = {
    "application/atom+xml": "atom",
    "application/rss+xml": "rss",
    "application/feed+json": "json",
    "application/json": "json",
}
PREFERENCE = ("atom", "rss", "json")
# Served only for feeds; application/xml and application/json are too general to go by.
_FEED_MEDIA_TYPES = {"application/atom+xml", "application/rss+xml", "application/feed+json"}
_FEED_ROOTS = {"rss", "feed", "rdf"}  # RSS 0.9x/2.0, Atom 0.3/1.0, RSS 1.0 (rdf:RDF)
# Demoted, not dropped: WordPress advertises its comments feed beside the posts feed.
_COMMENTS = ("comment", "kommentar", "comentario")
_SNIFF_BYTES = 64 * 1024
# For XML that breaks before its root (junk before the declaration, a lying encoding):
# feedparser's loose parser still reads those feeds.
_LOOSE_ROOT = re.compile(rb"<(?:!doctype\s+)?(?:[\w.-]+:)?(rss|feed|rdf|html)[\s>/]", re.I)
_RELS = {"alternate", "feed"}


@dataclass(frozen=True)
class FeedLink:
    """One feed a page advertises: absolute http(s) URL, kind (atom | rss | json), title."""

    url: str
    kind: str
    title: str = ""


def discover_feeds(page: bytes | str, base_url: str) -> list[FeedLink]:
    """The page's <link rel="alternate"> feeds, resolved, deduplicated, best first.

    Best first: posts before comments feeds, then atom > rss > json, then page order.
    """
    root = _parse_html(page)
    if root is None:
        return []
    base = _base(root, base_url)
    found = [link for element in root.iter("link") if (link := _feed_link(element, base))]
    ranked = sorted(found, key=lambda link: (_is_comments(link), PREFERENCE.index(link.kind)))
    return _dedupe(ranked)


def common_feed_urls(page_url: str) -> list[str]:
    """COMMON_PATHS under the page's directory, then under the site root, without repeats."""
    parts = urlsplit(page_url)
    directory = parts.path.rsplit("/", 1)[0] if "/" in parts.path else ""
    urls = (
        urlunsplit((parts.scheme, parts.netloc, prefix + path, "", ""))
        for prefix in dict.fromkeys([directory, ""])
        for path in COMMON_PATHS
    )
    return list(dict.fromkeys(urls))


def looks_like_feed(body: bytes, content_type: str = "") -> bool:
    """What the body is decides (servers mislabel both ways); the Content-Type only breaks a
    tie when the body cannot be read far enough to tell."""
    head = body.lstrip(b" \t\r\n\xef\xbb\xbf")[:_SNIFF_BYTES]
    if head.startswith(b"{"):
        return is_json_feed(body)
    root = _xml_root(head) or _loose_root(head)
    if root is not None:
        return root.lower() in _FEED_ROOTS
    return bool(head) and content_type.split(";", 1)[0].strip().lower() in _FEED_MEDIA_TYPES


def _parse_html(page: bytes | str) -> lxml.html.HtmlElement | None:
    # A str is already decoded: parse its UTF-8 so a <meta charset> cannot decode it again.
    parser = lxml.html.HTMLParser(encoding="utf-8" if isinstance(page, str) else None)
    data = page.encode("utf-8", "surrogatepass") if isinstance(page, str) else page
    try:
        return lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):  # empty or not HTML at all
        return None


def _base(root: lxml.html.HtmlElement, base_url: str) -> str:
    for element in root.iter("base"):
        if href := (element.get("href") or "").strip():
            return _join(base_url, href)
    return base_url


def _feed_link(element: lxml.html.HtmlElement, base: str) -> FeedLink | None:
    rels = set((element.get("rel") or "").lower().split())
    media_type = (element.get("type") or "").split(";", 1)[0].strip().lower()
    href = (element.get("href") or "").strip()
    kind = ADVERTISED_TYPES.get(media_type)
    if not (rels & _RELS and kind and href):
        return None
    url = _join(base, _without_feed_scheme(href))
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    return FeedLink(url=url, kind=kind, title=" ".join((element.get("title") or "").split()))


def _without_feed_scheme(href: str) -> str:
    """feed://host/path and feed:https://host/path, from the days of browser feed readers."""
    if href[:5].lower() != "feed:":
        return href
    rest = href[5:]
    return f"http:{rest}" if rest.startswith("//") else rest


def _join(base: str, href: str) -> str:
    try:
        return urljoin(base, href)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return ""


def _is_comments(link: FeedLink) -> bool:
    text = f"{link.title} {urlsplit(link.url).path}".casefold()
    return any(word in text for word in _COMMENTS)


def _dedupe(links: Iterable[FeedLink]) -> list[FeedLink]:
    seen: dict[str, FeedLink] = {}
    for link in links:
        seen.setdefault(normalise_url(link.url), link)
    return list(seen.values())


def _loose_root(head: bytes) -> str | None:
    match = _LOOSE_ROOT.search(head[:4096])
    return match.group(1).decode() if match else None


def _xml_root(head: bytes) -> str | None:
    """The local name of the first element, or None when the XML breaks before one."""
    parser = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    with contextlib.suppress(etree.XMLSyntaxError):  # elements before the error still count
        parser.feed(head)
    for _, element in parser.read_events():
        if isinstance(element, etree._Element):
            return etree.QName(element).localname
    return None
