"""The feeds page: every feed's polls, errors and WebSub state, with a "poll now" action."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from syndicate import service
from syndicate.model import Trigger
from syndicate.service.operating import Selection
from syndicate.store import catalog
from syndicate.store import metrics as figures
from syndicate.web import actions
from syndicate.web.doorbell import WAITING
from syndicate.web.state import ACTOR, current, tell

bp = Blueprint("feeds", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("feeds.index"))


@bp.get("/feeds")
def index() -> ResponseReturnValue:
    context = current().ctx
    with context.store.begin() as conn:
        feeds = catalog.list_feeds(conn)
        counts = figures.feed_counts(conn)
        totals = figures.state_totals(conn)
    routes = {feed.name: feed.accounts for feed in context.settings.feeds}
    return render_template(
        "feeds.html", feeds=feeds, counts=counts, totals=totals, routes=routes, now=context.clock()
    )


@bp.post("/feeds/<name>/poll")
def poll(name: str) -> ResponseReturnValue:
    """Re-sync a feed: re-send what failed or is unknown, then poll it now."""
    if actions.resync(Selection(feed=name), f"feed {name}"):
        _poll_now(name)
    return redirect(url_for("feeds.index"), code=303)


def _poll_now(name: str) -> None:
    state = current()
    feed_id = state.ctx.feed_ids[name]  # resync checked the name
    note = state.doorbells.polls([feed_id], Trigger.WEB)
    if note is None:
        tell(f"{name}: a poll is on its way.")
        return
    if note != WAITING:
        tell(f"{name}: could not ask for a poll", note=note, error=True)
        return
    # No worker listens (the embedded broker without `syndicate run`): poll here, as
    # `syndicate poll` would.
    outcome = service.poll_feed(state.ctx, feed_id, Trigger.WEB, actor=ACTOR)
    rung = state.doorbells.deliveries(outcome.delivery_ids, Trigger.WEB)
    if outcome.error or outcome.quarantined:
        tell(f"{name}: polled: {outcome.error or outcome.quarantined}", error=True)
    else:
        tell(f"{name}: polled: {outcome.new_entries} new entries.", note=rung)
