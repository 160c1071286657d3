"""Flask app factory and the waitress server for `syndicate web`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import waitress
from flask import Flask, Response, request

from syndicate import service
from syndicate.errors import BrokerError
from syndicate.model import Trigger
from syndicate.service import websub
from tasks import dispatch

log = logging.getLogger("syndicate.web")

# Rings for new deliveries (and, when a push met a poll in progress, for a poll): the Celery
# doorbells by default; tests pass callables that do the work in the request.
Ring = Callable[[Sequence[int]], object]


def _ring_deliveries(ids: Sequence[int]) -> object:
    return dispatch.deliveries(ids, Trigger.WEBSUB)


def _ring_polls(ids: Sequence[int]) -> object:
    return dispatch.polls(ids, Trigger.WEBSUB)


def create_app(
    ctx: service.Context,
    *,
    ring_deliveries: Ring = _ring_deliveries,
    ring_polls: Ring = _ring_polls,
) -> Flask:
    app = Flask("syndicate.web")
    # A pushed feed is held to the same size cap as a fetched one.
    app.config["MAX_CONTENT_LENGTH"] = ctx.settings.max_feed_bytes

    @app.get("/healthz")
    def healthz() -> Response:
        ok = service.healthy(ctx)
        return _text("ok" if ok else "ledger unreachable", 200 if ok else 503)

    @app.get("/websub/<token>")
    def websub_verify(token: str) -> Response:
        answer = websub.verify(ctx, token, request.args.to_dict())
        return _text("not found", 404) if answer is None else _text(answer, 200)

    @app.post("/websub/<token>")
    def websub_push(token: str) -> Response:
        outcome = websub.ingest(ctx, token, dict(request.headers), request.get_data(cache=False))
        if outcome is None:
            return _text("not found", 404)
        if outcome.delivery_ids:
            _doorbell(ring_deliveries, outcome.delivery_ids)
        elif outcome.skipped and outcome.feed in ctx.feed_ids:
            # A poll holds the feed: it may have read the feed before this entry; poll again.
            _doorbell(ring_polls, [ctx.feed_ids[outcome.feed]])
        return _text("", 204)

    return app


def _doorbell(ring: Ring, ids: Sequence[int]) -> None:
    """The work is in the ledger already; a broker that is down only delays it."""
    try:
        if ring(ids) is False:
            log.info("no broker: %d item(s) wait in the ledger for `syndicate run`", len(ids))
    except BrokerError as e:
        log.warning("%s", e)


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def serve(ctx: service.Context) -> None:
    """Serve the app on [web].bind until interrupted."""
    host, port = ctx.settings.web.host_port
    log.warning("syndicate web listening on http://%s", ctx.settings.web.bind)
    waitress.serve(create_app(ctx), host=host, port=port, ident="syndicate")
