"""`syndicate resync`: re-queue what was not posted (or, with --force, re-post)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from syndicate import service
from syndicate.cli.common import describe_poll, open_context, person, ring, with_config
from syndicate.model import DeliveryState, Trigger
from syndicate.service import operating
from syndicate.service.operating import ResyncPlan, Selection

STATES = ("failed", "unknown", "held", "waiting", "all")
PROGRESS_FROM = 50  # a bar only for selections at least this large (and only on a terminal)


@click.command()
@with_config
@click.option("--feed", metavar="NAME", help="only this feed's entries")
@click.option(
    "--entry",
    metavar="ID|URL",
    help="only this entry (id, link or guid); accounts of its feed with no delivery yet "
    "(a baseline entry, an account added later) get one: only an entry named here does",
)
@click.option("--account", metavar="NAME", help="only this account")
@click.option("--since", metavar="WHEN", help="changed since: 30m, 12h, 2d, 1w or a date")
@click.option(
    "--state",
    "states",
    type=click.Choice(STATES),
    multiple=True,
    help="only deliveries in this state (repeatable; default: all of them)",
)
@click.option("--poll", "poll_first", is_flag=True, help="poll the feed(s) first")
@click.option("--force", is_flag=True, help="re-post even what was posted, with a new key")
@click.option("--yes", "-y", is_flag=True, help="do not ask before re-posting with --force")
@click.option("--dry-run", is_flag=True, help="show exactly what would be posted; change nothing")
@click.pass_context
def resync(
    ctx: click.Context,
    *,
    feed: str | None,
    entry: str | None,
    account: str | None,
    since: str | None,
    states: tuple[str, ...],
    poll_first: bool,
    force: bool,
    yes: bool,
    dry_run: bool,
) -> None:
    """Re-queue failed, unknown, held and waiting deliveries, now. Unknown ones are asked
    about first: only a definite "not posted" sends them again. Running it twice queues
    nothing new. Ends with one line: queued, skipped, errors."""
    sctx = open_context(ctx, sync=not dry_run)  # a dry run writes nothing, not even a sync
    if poll_first and not dry_run:
        _poll(sctx, feed)
    chosen = Selection(
        feed=feed,
        entry=entry,
        account=account,
        since=operating.parse_since(since, sctx.clock()) if since else None,
        states=_states(states),
    )
    plan = operating.plan_resync(sctx, chosen, force=force)
    if dry_run:
        _dry_run(sctx, plan)
        return
    if force and not yes and plan.requeue:
        reposts = sum(1 for row in plan.requeue if row.state == DeliveryState.POSTED)
        click.confirm(
            f"Re-post {len(plan.requeue)} delivery(ies), {reposts} of them posted already?",
            abort=True,
        )
    with _progress(plan.size) as advance:
        result = operating.apply_resync(sctx, plan, actor=person(), progress=advance)
    said = ring(result.ring, Trigger.CLI)
    if said:
        click.echo(said, err=True)
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(_summary(plan, result))
    if result.errors:
        sys.exit(1)


def _states(given: tuple[str, ...]) -> frozenset[DeliveryState]:
    if not given or "all" in given:
        return operating.RESYNC_STATES
    return frozenset(DeliveryState(s) for s in given)


def _poll(sctx: service.Context, feed: str | None) -> None:
    names = [feed] if feed else [f.name for f in sctx.settings.feeds]
    for name in names:
        outcome = service.poll_feed(sctx, service.feed_id(sctx, name), Trigger.CLI, person())
        click.echo(describe_poll(outcome), err=True)
        said = ring(outcome.delivery_ids, Trigger.CLI)
        if said:
            click.echo(f"  {said}", err=True)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        yield lambda _n: None
        return
    with click.progressbar(length=total, label="re-queueing", file=sys.stderr) as bar:
        yield bar.update


def _summary(plan: ResyncPlan, result: operating.ResyncResult) -> str:
    parts = [f"queued {result.queued}"]
    if result.reconciling:
        parts.append(f"{result.reconciling} unknown to check with the platform first")
    parts.append(f"skipped {len(plan.posted)} already posted")
    if plan.queued:
        parts.append(f"{len(plan.queued)} already queued")
    if plan.paused:
        parts.append(f"{len(plan.paused)} held for a paused account (`accounts resume`)")
    if result.changed:
        parts.append(f"{result.changed} changed meanwhile")
    parts.append(f"errors {len(result.errors)}")
    return "resync: " + ", ".join(parts)


def _dry_run(sctx: service.Context, plan: ResyncPlan) -> None:
    items = operating.render_plan(sctx, plan)
    per_account: Counter[str] = Counter(item.account for item in items)
    for item in items:
        click.echo(f"== {item.account}: entry {item.entry_id} {item.title!r}  [{item.action}]")
        if item.post is None:
            click.echo(f"   error: {item.error}")
            continue
        parts = item.post.thread or (item.post.text,)
        for number, text in enumerate(parts, 1):
            label = f" part {number}/{len(parts)}" if len(parts) > 1 else ""
            click.echo(f"-- {item.post.platform}{label}: {item.post.length}/{item.post.limit}")
            click.echo(text)
    counts = ", ".join(f"{name} {n}" for name, n in sorted(per_account.items())) or "nothing"
    click.echo(
        f"dry run: would queue {len(items)} ({counts}); skipped {len(plan.posted)} already "
        f"posted, {len(plan.queued)} already queued, {len(plan.paused)} held for a paused "
        "account; nothing was changed"
    )
