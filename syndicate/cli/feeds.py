"""`syndicate poll` and `syndicate feeds …`: the feeds in the ledger."""

from __future__ import annotations

import sys

import click

from syndicate import service
from syndicate.cli.common import (
    describe_poll,
    load_settings,
    open_context,
    person,
    ring,
    with_config,
)
from syndicate.errors import SyndicateError
from syndicate.model import Trigger
from syndicate.service import discovering, operating, websub


@click.command()
@with_config
@click.argument("feed", required=False)
@click.pass_context
def poll(ctx: click.Context, feed: str | None) -> None:
    """Poll FEED (default: every feed) now and queue what is new."""
    sctx = open_context(ctx)
    names = [feed] if feed else [f.name for f in sctx.settings.feeds]
    failed = False
    for name in names:
        outcome = service.poll_feed(sctx, service.feed_id(sctx, name), Trigger.CLI, person())
        click.echo(describe_poll(outcome))
        failed = failed or outcome.error is not None
        if said := ring(outcome.delivery_ids, Trigger.CLI):
            click.echo(f"  {said}")
    if failed:
        sys.exit(1)


@click.group()
def feeds() -> None:
    """The feeds in the ledger: list, add, remove, accept a quarantined one, subscribe."""


@feeds.command("list")
@with_config
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """Each feed: state, last and next poll, WebSub state, errors."""
    sctx = open_context(ctx, sync=False)
    now = sctx.clock()
    for feed in service.list_feeds(sctx):
        last = feed.last_polled_at.strftime("%Y-%m-%d %H:%M") if feed.last_polled_at else "never"
        upcoming = feed.next_poll_at.strftime("%Y-%m-%d %H:%M") if feed.next_poll_at else "now"
        problem = f"  {feed.error_count} error(s): {feed.last_error}" if feed.last_error else ""
        click.echo(
            f"{feed.name}  {feed.status.value}  polled {last}  next {upcoming}"
            f"  websub: {websub.status_line(feed, now)}{problem}"
        )


@feeds.command("add")
@with_config
@click.argument("url")
@click.option("--name", default="blog", show_default=True, help="the name for the config")
@click.pass_context
def feeds_add(ctx: click.Context, url: str, name: str) -> None:
    """Find the feed of the blog at URL and print the [[feeds]] table to add to the config."""
    settings = load_settings(ctx, optional=True)
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
    sctx = open_context(ctx)
    if not service.accept_feed(sctx, name, actor=person()):
        raise SyndicateError(f"feed {name!r} is not quarantined")
    outcome = service.poll_feed(sctx, service.feed_id(sctx, name), Trigger.CLI, person())
    click.echo(describe_poll(outcome))


@feeds.command("subscribe")
@with_config
@click.argument("name", required=False)
@click.pass_context
def feeds_subscribe(ctx: click.Context, name: str | None) -> None:
    """Subscribe feed NAME (default: every feed) to its WebSub hub now."""
    sctx = open_context(ctx)
    names = [name] if name else [f.name for f in sctx.settings.feeds]
    for feed in names:
        outcome = websub.subscribe(sctx, service.feed_id(sctx, feed), trigger=Trigger.CLI)
        said = "requested; the hub verifies next" if outcome.requested else None
        click.echo(f"{outcome.feed}: {said or outcome.error or f'skipped: {outcome.skipped}'}")


@feeds.command("remove")
@with_config
@click.argument("name")
@click.option("--force", is_flag=True, help="remove it even though the config still lists it")
@click.pass_context
def feeds_remove(ctx: click.Context, name: str, force: bool) -> None:
    """Forget feed NAME: its entries and deliveries (its events stay in the audit log). Only
    a feed no longer in the config, unless --force. Its WebSub subscription is cancelled."""
    sctx = open_context(ctx, sync=False)  # a sync would first pause it, not remove it
    removed = operating.remove_feed(sctx, name, force=force, actor=person())
    click.echo(f"{removed.feed}: removed with {removed.entries} entries and "
               f"{removed.deliveries} deliveries; WebSub: {removed.websub}")  # fmt: skip
    if removed.still_configured:
        click.echo(f"note: {name} is still in the config: the next start adds it back, with a "
                   "fresh baseline (nothing old is posted)", err=True)  # fmt: skip
