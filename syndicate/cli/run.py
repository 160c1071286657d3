"""`syndicate run`: the scheduler and a worker in this process (and the web app, --web)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from syndicate.cli.common import load_settings, with_config
from syndicate.errors import SyndicateError
from syndicate.settings import Settings
from tasks import dispatch

log = logging.getLogger("syndicate.run")


@click.command()
@with_config
@click.option("--once", is_flag=True, help="poll what is due, deliver what is queued, then exit")
@click.option("--web", "with_web", is_flag=True, help="serve the web app too, on [web].bind")
@click.pass_context
def run(ctx: click.Context, once: bool, with_web: bool) -> None:
    """Run the scheduler and a worker in this process. SIGTERM or Ctrl-C lets running sends
    finish, stops the web app, and exits."""
    settings = load_settings(ctx)
    with _web_beside(settings) if with_web else _nothing():
        report = dispatch.run(settings, once=once)
    outcomes = ", ".join(f"{n} {state.value}" for state, n in sorted(report.outcomes.items()))
    click.echo(f"done: polled {report.polled} feed(s); deliveries: {outcomes or 'none'}", err=True)
    if once and not report.drained:
        raise SyndicateError(f"stopped with {report.remaining} item(s) still due or in flight")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _web_beside(settings: Settings) -> Iterator[None]:
    """The web app in a thread, closed when the worker stops (the worker owns the signals)."""
    from waitress.server import create_server  # only `--web` needs the web stack

    from syndicate import web

    host, port = settings.web.host_port
    server = create_server(
        web.create_app(dispatch.open_context(settings)), host=host, port=port, ident="syndicate"
    )
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    log.warning("syndicate web listening on http://%s", settings.web.bind)
    try:
        yield
    finally:
        server.close()
        thread.join(10)
