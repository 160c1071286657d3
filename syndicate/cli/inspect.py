"""`syndicate inspect-feed`: what the watcher sees in a feed, recording nothing."""

from __future__ import annotations

import json
import sys

import click

from syndicate.cli.common import load_settings, with_config
from syndicate.service import inspecting


@click.command("inspect-feed")
@with_config
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="one JSON object: the feed and its entries")
@click.pass_context
def inspect_feed(ctx: click.Context, source: str, as_json: bool) -> None:
    """What the watcher sees in SOURCE (a feed URL or file): metadata and, per entry, its
    identity, link, title, dates, categories and clean-text length. Nothing is recorded."""
    settings = load_settings(ctx, optional=True)
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
