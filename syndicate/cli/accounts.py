"""`syndicate accounts …`: health, credentials, pause and resume."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from syndicate.cli.common import open_context, person, with_config
from syndicate.model import Trigger
from syndicate.service import accounts as accounts_service
from syndicate.service import configuring


@click.group()
def accounts() -> None:
    """The social accounts: list them, check their credentials, pause and resume them."""


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


@accounts.command("list")
@with_config
@click.option("--json", "as_json", is_flag=True, help="one JSON object per account and line")
@click.pass_context
def accounts_list(ctx: click.Context, as_json: bool) -> None:
    """Each account: platform, health (and why paused), last post, deliveries by state."""
    for status in accounts_service.list_accounts(open_context(ctx)):
        if as_json:
            click.echo(json.dumps(asdict(status), default=_iso))
            continue
        health = status.health + (f" ({status.paused_reason})" if status.paused_reason else "")
        counts = ", ".join(f"{n} {state}" for state, n in sorted(status.deliveries.items()))
        gone = "" if status.configured else "  (no longer in the config)"
        click.echo(
            f"{status.name}  {status.platform}  {health}  last post {_when(status.last_posted_at)}"
            f"  deliveries: {counts or 'none'}{gone}"
        )


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


@accounts.command("check")
@with_config
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.pass_context
def accounts_check(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Ask each account's platform (default: every account) whether its credentials work.
    Exit status 1 when one does not."""
    results = configuring.check_accounts(open_context(ctx), names)
    for result in results:
        click.echo(f"{result.name}  {result.platform}  {'ok' if result.ok else 'FAILED'}  "
                   f"{result.message}")  # fmt: skip
    if not all(result.ok for result in results):
        sys.exit(1)


@accounts.command("pause")
@with_config
@click.argument("name")
@click.option("--reason", default="paused by hand", show_default=True, help="recorded and shown")
@click.pass_context
def accounts_pause(ctx: click.Context, name: str, reason: str) -> None:
    """Stop posting to NAME: its due deliveries are held until `accounts resume`."""
    sctx = open_context(ctx)
    if accounts_service.pause_account(sctx, name, reason, actor=person(), trigger=Trigger.CLI):
        click.echo(f"{name}: paused ({reason})")
    else:
        click.echo(f"{name}: already paused")


@accounts.command("resume")
@with_config
@click.argument("name")
@click.pass_context
def accounts_resume(ctx: click.Context, name: str) -> None:
    """Post to NAME again: its held deliveries are queued now."""
    sctx = open_context(ctx)
    released = accounts_service.resume_account(sctx, name, actor=person(), trigger=Trigger.CLI)
    # They are due in the ledger now: the scheduler's next tick rings for them.
    click.echo(f"{name}: resumed, {released} held delivery(ies) released")
