"""`syndicate feeds add URL`: find a blog's feed from its address, the way a reader would."""

from __future__ import annotations

from dataclasses import dataclass

from syndicate.errors import FeedError
from syndicate.feeds.discover import common_feed_urls, discover_feeds, looks_like_feed
from syndicate.feeds.fetch import Fetcher, FetchResult, redact_url
from syndicate.service.context import make_fetcher
from syndicate.settings import Settings


@dataclass(frozen=True)
class Discovery:
    url: str  # the feed chosen
    how: str  # why this one, in words
    candidates: tuple[str, ...] = ()  # every feed the page advertised, best first


def discover(settings: Settings, url: str) -> Discovery:
    """The feed at `url` itself, else the best one its page advertises, else the first
    common feed path that answers with a feed."""
    fetcher = make_fetcher(settings)
    page = fetcher.fetch(url)
    if _is_feed(page):
        return Discovery(page.url, "the address is a feed itself")
    links = discover_feeds(page.body, page.url)
    if links:
        best = links[0]
        named = f" ({best.title!r})" if best.title else ""
        how = f"advertised by the page as {best.kind}{named}"
        return Discovery(best.url, how, tuple(link.url for link in links))
    for candidate in common_feed_urls(page.url):
        if _answers_with_feed(fetcher, candidate):
            return Discovery(candidate, "not advertised; found at a common feed path")
    raise FeedError(f"{redact_url(url)}: no feed advertised on the page or at the common paths")


def _is_feed(fetched: FetchResult) -> bool:
    return looks_like_feed(fetched.body, fetched.headers.get("content-type", ""))


def _answers_with_feed(fetcher: Fetcher, url: str) -> bool:
    try:
        return _is_feed(fetcher.fetch(url))
    except FeedError:
        return False
