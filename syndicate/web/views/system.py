"""Endpoints for machines: the health check, the WebSub callback and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, request

from syndicate import service
from syndicate.errors import StoreError
from syndicate.model import Trigger
from syndicate.service import websub
from syndicate.web import metrics
from syndicate.web.state import current

bp = Blueprint("system", __name__)


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.get("/healthz")
def healthz() -> Response:
    ok = service.healthy(current().ctx)
    return _text("ok" if ok else "ledger unreachable", 200 if ok else 503)


@bp.get("/websub/<token>")
def websub_verify(token: str) -> Response:
    answer = websub.verify(current().ctx, token, request.args.to_dict())
    return _text("not found", 404) if answer is None else _text(answer, 200)


@bp.post("/websub/<token>")
def websub_push(token: str) -> Response:
    state = current()
    body = request.get_data(cache=False)
    outcome = websub.ingest(state.ctx, token, dict(request.headers), body)
    if outcome is None:
        return _text("not found", 404)
    if outcome.delivery_ids:
        state.doorbells.deliveries(outcome.delivery_ids, Trigger.WEBSUB)
    elif outcome.skipped and outcome.feed in state.ctx.feed_ids:
        # A poll holds the feed: it may have read the feed before this entry; poll again.
        state.doorbells.polls([state.ctx.feed_ids[outcome.feed]], Trigger.WEBSUB)
    return _text("", 204)


@bp.get("/metrics", endpoint="metrics")
def prometheus() -> Response:
    try:
        body = metrics.exposition(current().ctx)
    except StoreError as e:
        return _text(f"ledger unreachable: {type(e).__name__}", 503)
    return Response(body, status=200, headers={"Content-Type": metrics.CONTENT_TYPE})
