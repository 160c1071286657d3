"""`syndicate deliveries …`: what a person settles by hand."""

from __future__ import annotations

import click

from syndicate.cli.common import open_context, person, with_config
from syndicate.service import operating


@click.group()
def deliveries() -> None:
    """Single deliveries (their ids are in `syndicate history` and `syndicate show`)."""


@deliveries.command("mark-posted")
@with_config
@click.argument("delivery_id", metavar="ID", type=int)
@click.argument("url")
@click.pass_context
def mark_posted(ctx: click.Context, delivery_id: int, url: str) -> None:
    """Record that delivery ID is posted, at URL: you saw it there. For an unknown, failed or
    held delivery; it is then never sent again."""
    sctx = open_context(ctx)
    was = operating.mark_posted(sctx, delivery_id, url, actor=person())
    click.echo(f"delivery {delivery_id}: {was.value} -> posted ({url})")
