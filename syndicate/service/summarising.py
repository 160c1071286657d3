"""Make an entry's summary once and store it; every account renders from the same one.

Summary-only feeds: the entry's web page is fetched with the watcher's fetcher (same caps and
timeouts) and its main text used instead. With a model endpoint configured, a model-written
abstract is added; any failure falls back to the extractive summary and records why.
"""

from __future__ import annotations

import re
from dataclasses import asdict, fields, replace
from typing import Any
from urllib.parse import urlsplit

from syndicate.errors import FeedError, SyndicateError
from syndicate.feeds.fetch import Fetcher
from syndicate.model import FeedEntry, Summary, Trigger
from syndicate.service.context import Context, log
from syndicate.settings import Settings
from syndicate.store import catalog, ledger
from syndicate.store.rows import EntryRow
from syndicate.summarise.extractive import summarise
from syndicate.summarise.llm import LLMSummariser
from syndicate.summarise.page import extract_page

ABSTRACT_MAX_CHARS = 500
_CHARSET = re.compile(rb"""charset=["']?([A-Za-z0-9._-]+)""", re.I)


def summary_for(ctx: Context, entry: EntryRow, trigger: Trigger, actor: str) -> Summary:
    if entry.summary is not None:
        return summary_from_json(entry.summary)
    notes: list[str] = []
    summary = build_summary(ctx.settings, ctx.get_fetcher(), entry_from_row(entry), notes)
    with ctx.store.begin() as conn:
        catalog.store_summary(conn, entry.id, summary_to_json(summary))
        ledger.append_event(
            conn,
            at=ctx.clock(),
            kind="entry_summarised",
            trigger=trigger,
            actor=actor,
            feed_id=entry.feed_id,
            entry_id=entry.id,
            message=f"summarised from {summary.source}" + "".join(f"; {n}" for n in notes),
            data={"source": summary.source, "sentences": len(summary.sentences)},
        )
    return summary


def build_summary(
    settings: Settings, fetcher: Fetcher, entry: FeedEntry, notes: list[str]
) -> Summary:
    """The summary of one entry (not stored); `notes` collects why it is what it is."""
    summary = summarise(entry, _page_paragraphs(settings, fetcher, entry, notes))
    return _with_abstract(settings, summary, notes)


def _page_paragraphs(
    settings: Settings, fetcher: Fetcher, entry: FeedEntry, notes: list[str]
) -> list[str] | None:
    """The page's main text for a summary-only entry, or None to use what the feed gave."""
    if not (entry.content_is_summary and settings.summarise.fetch_pages):
        return None
    if urlsplit(entry.link).scheme not in ("http", "https"):
        return None
    try:
        fetched = fetcher.fetch(entry.link)
    except FeedError as e:
        notes.append(f"page not read ({e}); used the feed's summary")
        return None
    paragraphs = extract_page(_decode(fetched.body, fetched.headers), entry.link)
    if not paragraphs:
        notes.append("no main text found on the page; used the feed's summary")
        return None
    return paragraphs


def _decode(body: bytes, headers: dict[str, str]) -> str:
    """Charset from Content-Type, else from a <meta> near the top, else UTF-8."""
    declared = _CHARSET.search(headers.get("content-type", "").encode()) or _CHARSET.search(
        body[:4096]
    )
    encoding = declared.group(1).decode() if declared else "utf-8"
    try:
        return body.decode(encoding, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _with_abstract(settings: Settings, summary: Summary, notes: list[str]) -> Summary:
    config = settings.summarise
    if not config.llm_enabled or not summary.text:
        return summary
    model = LLMSummariser(
        config.llm_base_url, config.llm_model, config.llm_api_key.reveal(), config.llm_timeout
    )
    try:
        abstract = model.abstract(summary.title, summary.text, ABSTRACT_MAX_CHARS)
    except SyndicateError as e:
        log.warning("model summary failed, using the extractive one: %s", e)
        notes.append(f"model summary not used ({e})")
        return summary
    return replace(summary, abstract=abstract, source="llm")


def entry_from_row(row: EntryRow) -> FeedEntry:
    return FeedEntry(
        identity=row.identity,
        link=row.link,
        title=row.title,
        content_html=row.content_html,
        published=row.published,
        updated=row.updated,
        categories=row.categories,
        author=row.author,
        content_is_summary=row.content_is_summary,
        image_url=row.image_url,
        image_alt=row.image_alt,
    )


def summary_to_json(summary: Summary) -> dict[str, Any]:
    return asdict(summary)


def summary_from_json(data: dict[str, Any]) -> Summary:
    """Read a stored summary; keys from older versions are ignored, lists become tuples."""
    known = {f.name for f in fields(Summary)}
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known
    }
    return Summary(**values)
