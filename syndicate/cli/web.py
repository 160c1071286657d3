"""`syndicate web`: serve the web app."""

from __future__ import annotations

import click

from syndicate.cli.common import load_settings, with_config
from tasks import dispatch


@click.command("web")
@with_config
@click.pass_context
def web(ctx: click.Context) -> None:
    """Serve the web app (WebSub callback, /healthz) on [web].bind."""
    settings = load_settings(ctx)
    if not settings.web.public_url:
        click.echo("note: [web].public_url is empty, so no feed is subscribed to its hub", err=True)
    from syndicate import web as web_app  # Flask and waitress load only for this command

    web_app.serve(dispatch.open_context(settings))
