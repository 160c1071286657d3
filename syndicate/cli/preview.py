"""`syndicate preview`: exactly what would be posted, sending nothing."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from syndicate.cli.common import load_settings, with_config
from syndicate.service import previewing
from tasks import dispatch


@click.command()
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
    settings = load_settings(ctx, optional=True)
    render_post = previewing.renderer(settings, account=account, platform=platform)
    if any(feed.name == source for feed in settings.feeds):
        sctx = dispatch.open_context(settings, sync=False)
        items = previewing.preview_stored(sctx, source, render_post, entry=entry)
    else:
        items = previewing.preview_source(settings, source, render_post, entry=entry)
    for item in items:
        click.echo(json.dumps(preview_json(item)) if as_json else preview_text(item))


def preview_json(item: previewing.PreviewItem) -> dict[str, Any]:
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


def preview_text(item: previewing.PreviewItem) -> str:
    post = item.post
    parts = post.thread or (post.text,)
    lines = [f"== {item.title or item.identity}  ({item.link})"]
    for number, text in enumerate(parts, 1):
        label = f" part {number}/{len(parts)}" if len(parts) > 1 else ""
        lines += [f"-- {post.platform}{label}: {post.length}/{post.limit}", text]
    lines += [f"   note: {note}" for note in (*item.notes, *post.notes)]
    return "\n".join(lines) + "\n"
