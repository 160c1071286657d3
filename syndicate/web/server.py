"""Serving the app with waitress: `syndicate web`, and `syndicate run --web` beside a worker."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Flask
from waitress.server import BaseWSGIServer, create_server

from syndicate import service
from syndicate.settings import Settings
from syndicate.web import auth
from syndicate.web.app import create_app
from tasks import dispatch

log = logging.getLogger("syndicate.web")


class WebServer:
    """waitress on one socket. `run()` serves until `close()` is called (from any thread)."""

    def __init__(self, app: Flask, host: str, port: int, *, threads: int = 4) -> None:
        # Our own socket map (of waitress dispatchers, which its stubs call sockets), so
        # `close()` can find every open connection.
        self._map: dict[int, Any] = {}
        server = create_server(
            app, map=self._map, host=host, port=port, threads=threads, ident="syndicate"
        )
        assert isinstance(server, BaseWSGIServer)  # one listen address: never a multi-socket one
        self._server = server
        self._running = False

    @property
    def url(self) -> str:
        host, port = self._server.getsockname()
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def run(self) -> None:
        self._running = True
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown()

    def close(self) -> None:
        """Stop accepting, drop idle keep-alive connections, and let `run()` return."""
        if self._running:
            # Channels belong to the loop's thread: close them there, through its trigger
            # (which waitress's type stubs mistake for an int).
            cast(Any, self._server).trigger.pull_trigger(self._close_all)
        else:
            self._close_all()

    def _close_all(self) -> None:
        for channel in list(self._map.values()):
            channel.close()  # the listening socket and the trigger too: run() then returns


def make_server(
    ctx: service.Context, *, host: str | None = None, port: int | None = None, **rings: Any
) -> WebServer:
    """The server for [web].bind (or `host`/`port`), refusing a reachable address with no
    password. `rings` go to create_app."""
    web = ctx.settings.web
    bind_host, bind_port = web.host_port
    host = bind_host if host is None else host
    auth.check_exposure(web, host)
    app = create_app(ctx, **rings)
    return WebServer(app, host, bind_port if port is None else port)


def serve(ctx_or_settings: service.Context | Settings) -> None:
    """Serve the app on [web].bind until interrupted."""
    if isinstance(ctx_or_settings, Settings):
        auth.check_exposure(ctx_or_settings.web)  # before touching the ledger
        ctx = dispatch.open_context(ctx_or_settings)
    else:
        ctx = ctx_or_settings
    server = make_server(ctx)
    log.warning("syndicate web listening on %s", server.url)
    server.run()  # waitress stops on Ctrl-C by itself
