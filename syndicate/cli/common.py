"""Helpers every `syndicate …` command shares: the config option, settings and logging, the
service context, the person at the keyboard."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from syndicate import service
from syndicate import settings as settings_mod
from syndicate.cli import logs
from syndicate.model import Trigger
from syndicate.service.configuring import Redactor, secret_values
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


def load_settings(ctx: click.Context, *, optional: bool = False) -> settings_mod.Settings:
    """Load the settings once, then log as the group's options say, secrets masked."""
    root = ctx.find_root().obj
    logs.configure(json_lines=root["log_format"] == "json", verbose=root["verbose"],
                   redact=lambda text: text)  # fmt: skip
    load = settings_mod.load_or_defaults if optional else settings_mod.load
    settings = load(root["config"])
    logs.configure(json_lines=root["log_format"] == "json", verbose=root["verbose"],
                   redact=Redactor(secret_values(settings)))  # fmt: skip
    for warning in settings.warnings:
        click.echo(f"warning: {warning}", err=True)
    return settings


def open_context(ctx: click.Context, *, sync: bool = True) -> service.Context:
    return dispatch.open_context(load_settings(ctx), sync=sync)


def person() -> str:
    """The actor recorded for what a person does here."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "cli:unknown"


def describe_poll(outcome: service.PollOutcome) -> str:
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


def ring(delivery_ids: Sequence[int], trigger: Trigger) -> str:
    """Ring the doorbells for queued deliveries; say what happened."""
    if not delivery_ids:
        return ""
    if dispatch.deliveries(list(delivery_ids), trigger):
        return f"{len(delivery_ids)} doorbell(s) rung"
    return (
        f"{len(delivery_ids)} delivery(ies) wait in the ledger: no broker is configured, "
        "so `syndicate run` will send them"
    )
