"""`syndicate history` and `syndicate show`: what was delivered where, and why."""

from __future__ import annotations

import json
import threading
from typing import Any

import click

from syndicate.cli.common import open_context, with_config
from syndicate.model import DeliveryState
from syndicate.service import Context, operating, timeline
from syndicate.store.queries import DeliveryFilter
from syndicate.store.rows import EventRow, HistoryRow

FOLLOW_EVERY = 1.0  # seconds between two reads of the ledger under --follow


@click.command()
@with_config
@click.option("--feed", metavar="NAME", help="only this feed")
@click.option("--account", metavar="NAME", help="only this account")
@click.option("--platform", metavar="NAME", help="only accounts on this platform")
@click.option("--state", type=click.Choice([s.value for s in DeliveryState]), help="only this")
@click.option("--since", metavar="WHEN", help="changed since: 30m, 12h, 2d, 1w or a date")
@click.option("--entry", metavar="ID|URL", help="only this entry (id, link or guid)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@click.option("--follow", "-f", is_flag=True, help="then print new events as they happen")
@click.pass_context
def history(
    ctx: click.Context,
    *,
    limit: int,
    as_json: bool,
    follow: bool,
    feed: str | None,
    account: str | None,
    platform: str | None,
    state: str | None,
    since: str | None,
    entry: str | None,
) -> None:
    """Deliveries, newest first: id, time, feed, entry, account, state, link or error.
    With --follow, then every new event matching the filters, until Ctrl-C."""
    sctx = open_context(ctx, sync=False)
    chosen = _filter(
        sctx, feed=feed, account=account, platform=platform, state=state, since=since, entry=entry
    )
    rows = timeline.deliveries(sctx, chosen, limit=limit)
    for row in reversed(rows) if follow else rows:  # oldest first when more lines follow
        click.echo(json.dumps(_history_json(row)) if as_json else _history_line(row))
    if not rows and not as_json and not follow:
        click.echo("no deliveries yet")
    if follow:
        _follow(sctx, chosen, as_json=as_json)


def _filter(
    sctx: Context,
    *,
    feed: str | None,
    account: str | None,
    platform: str | None,
    state: str | None,
    since: str | None,
    entry: str | None,
) -> DeliveryFilter:
    entry_id = timeline.find_entry(sctx, entry).id if entry else None
    return DeliveryFilter(
        feed=feed,
        account=account,
        platform=platform,
        state=DeliveryState(state) if state else None,
        since=operating.parse_since(since, sctx.clock()) if since else None,
        entry_id=entry_id,
    )


def _follow(sctx: Context, chosen: DeliveryFilter, *, as_json: bool) -> None:
    names = _Names(sctx)
    pause = threading.Event()  # never set: its wait() is an interruptible sleep
    try:
        for event in timeline.follow(
            sctx, chosen, after_id=None, wait=lambda: not pause.wait(FOLLOW_EVERY)
        ):
            click.echo(json.dumps(names.event_json(event)) if as_json else names.line(event))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how --follow ends


class _Names:
    """Feed and account names for events, which carry ids only."""

    def __init__(self, sctx: Context) -> None:
        self.feeds = {i: name for name, i in sctx.feed_ids.items()}
        self.accounts = {i: name for name, i in sctx.account_ids.items()}

    def event_json(self, event: EventRow) -> dict[str, Any]:
        feed = self.feeds.get(event.feed_id or 0, "")
        return event_json(event, feed, self.accounts.get(event.account_id or 0, ""))

    def line(self, event: EventRow) -> str:
        return event_line(event, self.accounts.get(event.account_id or 0, ""))


def event_json(event: EventRow, feed: str, account: str) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "at": event.at.isoformat(),
        "kind": event.kind,
        "feed": feed or None,
        "entry_id": event.entry_id,
        "delivery_id": event.delivery_id,
        "account": account or None,
        "attempt": event.attempt,
        "trigger": event.trigger,
        "actor": event.actor,
        "message": event.message,
        "data": event.data,
    }


def event_line(event: EventRow, account: str) -> str:
    when = event.at.strftime("%Y-%m-%d %H:%M:%S")
    where = f"  {account}" if account else ""
    which = f"  #{event.delivery_id}" if event.delivery_id else ""
    return f"{when}  {event.kind}{which}{where}  {event.message}  ({event.trigger}, {event.actor})"


def _history_json(row: HistoryRow) -> dict[str, Any]:
    return {
        "delivery_id": row.delivery_id,
        "entry_id": row.entry_id,
        "at": row.at.isoformat(),
        "feed": row.feed,
        "entry": row.entry_title,
        "link": row.entry_link,
        "account": row.account,
        "platform": row.platform,
        "state": row.state.value,
        "attempts": row.attempts,
        "remote_url": row.remote_url,
        "error": row.last_error,
    }


def _history_line(row: HistoryRow) -> str:
    outcome = row.remote_url or row.last_error or ("(dry run)" if row.platform == "log" else "")
    when = row.at.strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"#{row.delivery_id}  {when}  {row.feed}  {row.entry_title[:60]}  {row.account}  "
        f"{row.state.value}  {outcome}"
    )


@click.command()
@with_config
@click.argument("entry", metavar="ENTRY")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per event and line")
@click.pass_context
def show(ctx: click.Context, entry: str, as_json: bool) -> None:
    """ENTRY's whole story (its id, link or guid): discovered, summarised, every attempt per
    account with its error, posted with its link."""
    found = timeline.entry_timeline(open_context(ctx, sync=False), entry)
    if as_json:
        for event in found.events:
            account = found.accounts.get(event.account_id or 0, "")
            click.echo(json.dumps(event_json(event, found.feed, account)))
        return
    click.echo("\n".join(_timeline_text(found)))


def _timeline_text(found: timeline.Timeline) -> list[str]:
    entry = found.entry
    published = entry.published.isoformat() if entry.published else "undated"
    lines = [
        f"entry {entry.id}: {entry.title or '(untitled)'}",
        f"  feed {found.feed}, published {published}" + (", baseline" if entry.baseline else ""),
        f"  link {entry.link}",
        f"  guid {entry.identity}",
        "",
        "deliveries:" if found.deliveries else "deliveries: none",
    ]
    for row in found.deliveries:
        outcome = row.remote_url or row.last_error or ""
        lines.append(f"  #{row.delivery_id}  {row.account}  {row.state.value}  "
                     f"attempts {row.attempts}  {outcome}")  # fmt: skip
    lines += ["", "timeline:"]
    for event in found.events:
        lines.append("  " + event_line(event, found.accounts.get(event.account_id or 0, "")))
    return lines
