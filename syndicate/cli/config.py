"""`syndicate config …`: the configuration as loaded (secrets redacted), and a check."""

from __future__ import annotations

import sys

import click

from syndicate.cli.common import load_settings, with_config
from syndicate.errors import ConfigError
from syndicate.service import configuring
from tasks import dispatch


@click.group("config")
def config_group() -> None:
    """Show the effective configuration, or check it."""


@config_group.command("show")
@with_config
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Every key with its value as loaded (defaults included); secrets print as ***, and an
    account key read from the environment or a file says which."""
    settings = load_settings(ctx, optional=True)
    click.echo("\n".join(configuring.show_config(settings)))


@config_group.command("check")
@with_config
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Load and validate the config, connect to the database and, when one is set, the
    broker. Exit status 1 with the problem(s)."""
    try:
        settings = load_settings(ctx)
    except ConfigError as e:
        click.echo(f"config: {e}", err=True)
        sys.exit(1)
    problems = [*configuring.check_feed_files(settings)]
    problems += filter(None, [configuring.check_database(settings)])
    if settings.broker_url:
        problems += filter(None, [dispatch.broker_problem(settings)])
    redact = configuring.Redactor(configuring.secret_values(settings))
    for problem in problems:
        click.echo(f"problem: {redact(problem)}", err=True)
    if problems:
        sys.exit(1)
    broker = "embedded" if settings.embedded_broker else "answers"
    counts = f"{len(settings.feeds)} feed(s), {len(settings.accounts)} account(s)"
    click.echo(f"ok: {settings.source}: {counts}, database answers, broker {broker}")
