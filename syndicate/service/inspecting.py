"""`syndicate inspect-feed`: what the watcher sees in a feed, for a person debugging one.

It never crashes on any input: a feed that cannot be fetched or parsed, or an entry whose
text cannot be cleaned, is reported as such in the output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from syndicate.errors import SyndicateError
from syndicate.feeds.fetch import redact_url
from syndicate.feeds.parse import parse_feed
from syndicate.model import FeedEntry
from syndicate.service.context import make_fetcher
from syndicate.settings import Settings
from syndicate.summarise.text import clean_text


@dataclass(frozen=True)
class EntryReport:
    identity: str
    link: str
    title: str
    published: str | None
    updated: str | None
    categories: list[str]
    text_length: int | None  # characters of clean text; None when it could not be made
    summary_only: bool
    image_url: str
    error: str | None = None


@dataclass(frozen=True)
class FeedReport:
    source: str
    title: str = ""
    link: str = ""
    hub: str = ""
    self_url: str = ""
    entries: list[EntryReport] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def inspect_source(settings: Settings, source: str) -> FeedReport:
    shown = redact_url(source) if urlsplit(source).scheme else source
    remote = urlsplit(source).scheme in ("http", "https")
    try:
        target = source if remote else str(Path(source).expanduser().resolve())
        fetched = make_fetcher(settings).fetch(target, is_path=not remote)
        feed = parse_feed(fetched.body, fetched.url if remote else "", fetched.headers)
    except SyndicateError as e:
        return FeedReport(source=shown, error=str(e))
    return FeedReport(
        source=shown,
        title=feed.title,
        link=feed.link,
        hub=feed.hub,
        self_url=feed.self_url,
        entries=[_entry_report(entry) for entry in feed.entries],
    )


def _entry_report(entry: FeedEntry) -> EntryReport:
    length: int | None = None
    error: str | None = None
    try:
        length = len(clean_text(entry.content_html))
    except Exception as e:  # noqa: BLE001 - a debugging tool reports what broke, and goes on
        error = f"clean text failed: {type(e).__name__}: {e}"
    return EntryReport(
        identity=entry.identity,
        link=entry.link,
        title=entry.title,
        published=entry.published.isoformat() if entry.published else None,
        updated=entry.updated.isoformat() if entry.updated else None,
        categories=list(entry.categories),
        text_length=length,
        summary_only=entry.content_is_summary,
        image_url=entry.image_url,
        error=error,
    )
