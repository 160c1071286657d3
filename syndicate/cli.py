"""`syndicate …` commands: thin adapters over `service`."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import click

from syndicate import service
from syndicate import settings as settings_mod
from syndicate.errors import SyndicateError
from syndicate.model import Trigger
from syndicate.service import discovering, inspecting, previewing, websub
from syndicate.store.rows import HistoryRow
from tasks import dispatch

F = TypeVar("F", bound=Callable[..., Any])


def with_config(command: F) -> F:
    """Accept --config after the command name too: `syndicate run --config x.toml`."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.ensure_object(dict)["config"] = value

    return click.option(
        "--config",
        "-c",
        metavar="PATH",
        expose_value=False,
        callback=remember,
        help="TOML config (default: $SYNDICATE_CONFIG)",
    )(command)


def _setup(config: str | None, verbose: bool, *, optional: bool = False) -> settings_mod.Settings:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    load = settings_mod.load_or_defaults if optional else settings_mod.load
    settings = load(config)
    for warning in settings.warnings:
        click.echo(f"warning: {warning}", err=True)
    return settings


def _context(ctx: click.Context, *, sync: bool = True) -> service.Context:
    settings = _setup(ctx.obj["config"], ctx.obj["verbose"])
    return dispatch.open_context(settings, sync=sync)


@click.group()
@click.option("--config", "-c", metavar="PATH", help="TOML config (default: $SYNDICATE_CONFIG)")
@click.option("--verbose", "-v", is_flag=True, help="log what happens (INFO)")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """Watch blog feeds and post new entries to social accounts."""
    ctx.obj = {"config": config, "verbose": verbose}


@cli.command()
@with_config
@click.option("--once", is_flag=True, help="poll what is due, deliver what is queued, then exit")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run the scheduler and a worker in this process."""
    settings = _setup(ctx.obj["config"], ctx.obj["verbose"])
    report = dispatch.run(settings, once=once)
    outcomes = ", ".join(f"{n} {state.value}" for state, n in sorted(report.outcomes.items()))
    click.echo(f"done: polled {report.polled} feed(s); deliveries: {outcomes or 'none'}", err=True)
    if once and not report.drained:
        raise SyndicateError(f"stopped with {report.remaining} item(s) still due or in flight")


@cli.command()
@with_config
@click.argument("feed", required=False)
@click.pass_context
def poll(ctx: click.Context, feed: str | None) -> None:
    """Poll FEED (default: every feed) now and queue what is new."""
    sctx = _context(ctx)
    names = [feed] if feed else [f.name for f in sctx.settings.feeds]
    failed = False
    for name in names:
        outcome = service.poll_feed(sctx, service.feed_id(sctx, name), Trigger.CLI, actor="cli")
        click.echo(_describe_poll(outcome))
        failed = failed or outcome.error is not None
        if outcome.delivery_ids and not dispatch.deliveries(outcome.delivery_ids, Trigger.CLI):
            click.echo(
                f"  {len(outcome.delivery_ids)} delivery(ies) wait in the ledger: "
                "no broker is configured, so `syndicate run` will send them"
            )
    if failed:
        sys.exit(1)


def _describe_poll(outcome: service.PollOutcome) -> str:
    if outcome.error:
        return f"{outcome.feed}: error: {outcome.error}"
    if outcome.quarantined:
        return (
            f"{outcome.feed}: quarantined, nothing posted: {outcome.quarantined}. "
            f"If the feed is right, `syndicate feeds accept {outcome.feed}` takes its entries "
            "as the new baseline"
        )
    if outcome.skipped:
        return f"{outcome.feed}: skipped (being polled elsewhere, or not active)"
    if outcome.not_modified:
        return f"{outcome.feed}: not modified"
    parts = [f"{outcome.new_entries} new", f"{len(outcome.delivery_ids)} delivery(ies) queued"]
    if outcome.baseline_entries:
        parts.append(f"{outcome.baseline_entries} recorded as baseline (not posted)")
    if outcome.updated_entries:
        parts.append(f"{outcome.updated_entries} edited")
    if outcome.deferred_entries:
        parts.append(f"{outcome.deferred_entries} dated in the future (posted when due)")
    return f"{outcome.feed}: " + ", ".join(parts)


@cli.command("inspect-feed")
@with_config
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="one JSON object: the feed and its entries")
@click.pass_context
def inspect_feed(ctx: click.Context, source: str, as_json: bool) -> None:
    """What the watcher sees in SOURCE (a feed URL or file): metadata and, per entry, its
    identity, link, title, dates, categories and clean-text length. Nothing is recorded."""
    settings = _setup(ctx.obj["config"], ctx.obj["verbose"], optional=True)
    report = inspecting.inspect_source(settings, source)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        click.echo(_inspect_text(report))
    if report.error:
        sys.exit(1)


def _inspect_text(report: inspecting.FeedReport) -> str:
    if report.error:
        return f"{report.source}: error: {report.error}"
    lines = [f"{report.title or '(untitled)'}  {report.link}", f"  {len(report.entries)} entries"]
    if report.hub:
        lines.append(f"  WebSub hub {report.hub}, self {report.self_url}")
    for entry in report.entries:
        size = "?" if entry.text_length is None else str(entry.text_length)
        lines.append(f"- {entry.title or '(untitled)'}  [{entry.published or 'undated'}]")
        lines.append(f"    id {entry.identity}\n    link {entry.link}\n    text {size} chars")
        if entry.categories:
            lines.append(f"    categories {', '.join(entry.categories)}")
        if entry.error:
            lines.append(f"    error {entry.error}")
    return "\n".join(lines)


@cli.group()
def feeds() -> None:
    """The feeds in the ledger: list them, accept a quarantined one, subscribe to hubs."""


@feeds.command("list")
@with_config
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """Each feed: state, last and next poll, errors."""
    for feed in service.list_feeds(_context(ctx.find_root(), sync=False)):
        last = feed.last_polled_at.strftime("%Y-%m-%d %H:%M") if feed.last_polled_at else "never"
        upcoming = feed.next_poll_at.strftime("%Y-%m-%d %H:%M") if feed.next_poll_at else "now"
        problem = f"  {feed.error_count} error(s): {feed.last_error}" if feed.last_error else ""
        click.echo(f"{feed.name}  {feed.status.value}  polled {last}  next {upcoming}{problem}")


@feeds.command("add")
@with_config
@click.argument("url")
@click.option("--name", default="blog", show_default=True, help="the name for the config")
@click.pass_context
def feeds_add(ctx: click.Context, url: str, name: str) -> None:
    """Find the feed of the blog at URL and print the [[feeds]] table to add to the config."""
    settings = _setup(ctx.obj["config"], ctx.obj["verbose"], optional=True)
    found = discovering.discover(settings, url)
    click.echo(f"found {found.url}: {found.how}")
    for other in found.candidates[1:]:
        click.echo(f"  also advertised: {other}")
    accounts = ", ".join(f'"{a}"' for a in settings.accounts)
    click.echo(f'\n[[feeds]]\nname = "{name}"\nurl = "{found.url}"\naccounts = [{accounts}]')


@feeds.command("accept")
@with_config
@click.argument("name")
@click.pass_context
def feeds_accept(ctx: click.Context, name: str) -> None:
    """Take a quarantined feed's current entries as its new baseline (nothing is posted)."""
    sctx = _context(ctx.find_root())
    if not service.accept_feed(sctx, name):
        raise SyndicateError(f"feed {name!r} is not quarantined")
    outcome = service.poll_feed(sctx, service.feed_id(sctx, name), Trigger.CLI, actor="cli")
    click.echo(_describe_poll(outcome))


@feeds.command("subscribe")
@with_config
@click.argument("name", required=False)
@click.pass_context
def feeds_subscribe(ctx: click.Context, name: str | None) -> None:
    """Subscribe feed NAME (default: every feed) to its WebSub hub now."""
    sctx = _context(ctx.find_root())
    names = [name] if name else [f.name for f in sctx.settings.feeds]
    for feed in names:
        outcome = websub.subscribe(sctx, service.feed_id(sctx, feed), trigger=Trigger.CLI)
        said = "requested; the hub verifies next" if outcome.requested else None
        click.echo(f"{outcome.feed}: {said or outcome.error or f'skipped: {outcome.skipped}'}")


@cli.command("web")
@with_config
@click.pass_context
def web_command(ctx: click.Context) -> None:
    """Serve the web app (WebSub callback, /healthz) on [web].bind."""
    settings = _setup(ctx.obj["config"], ctx.obj["verbose"])
    if not settings.web.public_url:
        click.echo("note: [web].public_url is empty, so no feed is subscribed to its hub", err=True)
    from syndicate import web  # Flask and waitress load only for this command

    web.serve(dispatch.open_context(settings))


@cli.command()
@with_config
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.pass_context
def history(ctx: click.Context, as_json: bool, limit: int) -> None:
    """Deliveries, newest first: time, feed, entry, account, state, link or error."""
    rows = service.history(_context(ctx, sync=False), limit)
    for row in rows:
        click.echo(json.dumps(_history_json(row)) if as_json else _history_line(row))
    if not rows and not as_json:
        click.echo("no deliveries yet")


def _history_json(row: HistoryRow) -> dict[str, Any]:
    return {
        "delivery_id": row.delivery_id,
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
        f"{when}  {row.feed}  {row.entry_title[:60]}  {row.account}  {row.state.value}  {outcome}"
    )


@cli.command()
@with_config
@click.argument("source")
@click.option("--entry", metavar="ID", help="only this entry (id, link, or stored entry number)")
@click.option("--account", metavar="NAME", help="render as this configured account would")
@click.option("--platform", metavar="NAME", help="render with this platform's defaults")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per entry and line")
@click.pass_context
def preview(
    ctx: click.Context,
    *,
    source: str,
    entry: str | None,
    account: str | None,
    platform: str | None,
    as_json: bool,
) -> None:
    """Show exactly what would be posted for SOURCE: a feed URL, a feed file, or the name of a
    configured feed (its stored entries). Nothing is sent or recorded."""
    if bool(account) == bool(platform):
        raise click.UsageError("give exactly one of --account NAME or --platform NAME")
    settings = _setup(ctx.obj["config"], ctx.obj["verbose"], optional=True)
    render_post = previewing.renderer(settings, account=account, platform=platform)
    if any(feed.name == source for feed in settings.feeds):
        items = previewing.preview_stored(
            _context(ctx, sync=False), source, render_post, entry=entry
        )
    else:
        items = previewing.preview_source(settings, source, render_post, entry=entry)
    for item in items:
        click.echo(json.dumps(_preview_json(item)) if as_json else _preview_text(item))


def _preview_json(item: previewing.PreviewItem) -> dict[str, Any]:
    post = item.post
    return {
        "entry": item.identity,
        "title": item.title,
        "link": item.link,
        "platform": post.platform,
        "text": post.text,
        "length": post.length,
        "limit": post.limit,
        "facets": [asdict(f) for f in post.facets],
        "card": asdict(post.card) if post.card else None,
        "thread": list(post.thread),
        "notes": [*item.notes, *post.notes],
    }


def _preview_text(item: previewing.PreviewItem) -> str:
    post = item.post
    parts = post.thread or (post.text,)
    lines = [f"== {item.title or item.identity}  ({item.link})"]
    for number, text in enumerate(parts, 1):
        label = f" part {number}/{len(parts)}" if len(parts) > 1 else ""
        lines += [f"-- {post.platform}{label}: {post.length}/{post.limit}", text]
    lines += [f"   note: {note}" for note in (*item.notes, *post.notes)]
    return "\n".join(lines) + "\n"


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except SyndicateError as e:
        click.echo(f"syndicate: error: {e}", err=True)
        sys.exit(1)
