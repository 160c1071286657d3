"""`syndicate …` commands: thin adapters over `service`.

The group and `main()` live here, the helpers every command shares in `common`; each command
group has its own module, registered with one `cli.add_command(...)` line below.
"""

from __future__ import annotations

import sys

import click

from syndicate.cli import (
    accounts,
    auth,
    config,
    deliveries,
    feeds,
    history,
    inspect,
    preview,
    resync,
    run,
    web,
)
from syndicate.errors import SyndicateError


@click.group()
@click.option("--config", "-c", metavar="PATH", help="TOML config (default: $SYNDICATE_CONFIG)")
@click.option("--verbose", "-v", is_flag=True, help="log what happens (INFO)")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line (at, level, logger, message, extra fields)",
)
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: bool, log_format: str) -> None:
    """Watch blog feeds and post new entries to social accounts."""
    ctx.obj = {"config": config, "verbose": verbose, "log_format": log_format}


cli.add_command(run.run)
cli.add_command(feeds.poll)
cli.add_command(feeds.feeds)
cli.add_command(inspect.inspect_feed)
cli.add_command(web.web)
cli.add_command(history.history)
cli.add_command(preview.preview)
cli.add_command(history.show)
cli.add_command(resync.resync)
cli.add_command(accounts.accounts)
cli.add_command(deliveries.deliveries)
cli.add_command(config.config_group)
cli.add_command(auth.auth)


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
