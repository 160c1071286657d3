"""Preview: exactly what would be posted, through the same summary and render as a real send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from syndicate.errors import ConfigError
from syndicate.feeds.fetch import Fetcher
from syndicate.feeds.parse import parse_feed
from syndicate.model import ComposeOptions, FeedEntry, Post, Summary, Trigger
from syndicate.platforms import publisher_class
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES
from syndicate.service.context import Context, make_fetcher
from syndicate.service.summarising import build_summary, summary_for
from syndicate.settings import Settings
from syndicate.store import catalog

Renderer = Callable[[Summary], Post]


@dataclass(frozen=True)
class PreviewItem:
    identity: str
    title: str
    link: str
    post: Post
    notes: tuple[str, ...] = ()  # how the summary was made (page read, model skipped, …)


def renderer(settings: Settings, *, account: str | None, platform: str | None) -> Renderer:
    """An account's own render (its template, options and limits), or a platform's defaults."""
    if account:
        if account not in settings.accounts:
            known = ", ".join(sorted(settings.accounts)) or "none configured"
            raise ConfigError(f"no account named {account!r} (accounts: {known})")
        configured = settings.accounts[account]
        publisher = publisher_class(configured.platform)(configured, timeout=settings.fetch_timeout)
        return publisher.render
    name = "x" if platform == "twitter" else platform or ""
    if name not in RULES:
        raise ConfigError(f"unknown platform {platform!r} (known: {', '.join(sorted(RULES))})")
    rules = RULES[name]
    return lambda summary: render(summary, ComposeOptions(), rules)


def preview_source(
    settings: Settings, source: str, render_post: Renderer, *, entry: str | None = None
) -> list[PreviewItem]:
    """Fetch and parse SOURCE (a feed URL or file) and render its entries (or one of them)."""
    fetcher = make_fetcher(settings)
    entries = _entries(fetcher, source)
    if entry is not None:
        entries = [e for e in entries if entry in (e.identity, e.link)]
        if not entries:
            raise ConfigError(f"no entry {entry!r} in {source}")
    return [_preview(settings, fetcher, e, render_post) for e in entries]


def _entries(fetcher: Fetcher, source: str) -> list[FeedEntry]:
    remote = urlsplit(source).scheme in ("http", "https")
    path = source if remote else str(Path(source).expanduser().resolve())
    fetched = fetcher.fetch(path, is_path=not remote)
    return list(parse_feed(fetched.body, fetched.url if remote else "", fetched.headers).entries)


def _preview(
    settings: Settings, fetcher: Fetcher, entry: FeedEntry, render_post: Renderer
) -> PreviewItem:
    notes: list[str] = []
    summary = build_summary(settings, fetcher, entry, notes)
    post = render_post(summary)
    return PreviewItem(entry.identity, summary.title, entry.link, post, tuple(notes))


def preview_stored(
    ctx: Context, feed: str, render_post: Renderer, *, entry: str | None = None, limit: int = 10
) -> list[PreviewItem]:
    """Render entries already in the ledger for a configured feed, with their stored summary
    (made now, and stored, if the entry has none yet: it is the one a delivery will use)."""
    feed_id = ctx.feed_ids.get(feed)
    if feed_id is None:
        raise ConfigError(f"no feed named {feed!r} in {ctx.settings.source}")
    with ctx.store.begin() as conn:
        rows = catalog.list_entries(conn, feed_id, match=entry, limit=limit)
    if entry is not None and not rows:
        raise ConfigError(f"no stored entry {entry!r} in feed {feed!r}")
    return [
        PreviewItem(row.identity, row.title, row.link,
                    render_post(summary_for(ctx, row, Trigger.CLI, "preview")))
        for row in rows
    ]  # fmt: skip
