"""An entry's page: what the feed said, each account's delivery, and the full event timeline."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from syndicate.service.operating import Selection
from syndicate.store import catalog, queries
from syndicate.store.queries import DeliveryFilter
from syndicate.web import actions
from syndicate.web.state import ctx, tell

bp = Blueprint("entries", __name__)

MAX_DELIVERIES = 200  # one per account: far more than anyone configures


@bp.get("/entries")
def find() -> ResponseReturnValue:
    """Look an entry up by ledger id, feed identity or link."""
    wanted = request.args.get("q", "").strip()
    with ctx().store.begin() as conn:
        entry = queries.find_entry(conn, wanted) if wanted else None
    if entry is None:
        tell(f"No entry matches {wanted!r}." if wanted else "Give an entry id or link.", error=True)
        return redirect(url_for("deliveries.index"))
    return redirect(url_for("entries.show", entry_id=entry.id))


@bp.get("/entries/<int:entry_id>")
def show(entry_id: int) -> ResponseReturnValue:
    with ctx().store.begin() as conn:
        entry = catalog.get_entry(conn, entry_id)
        if entry is None:
            abort(404)
        feed = queries.feed_name(conn, entry.feed_id)
        deliveries = queries.list_deliveries(
            conn, DeliveryFilter(entry_id=entry_id), limit=MAX_DELIVERIES, before_id=None
        )
        timeline = queries.entry_timeline(conn, entry_id)
        feed_names, account_names = queries.names_by_id(conn)
    return render_template(
        "entry.html",
        entry=entry,
        feed=feed,
        deliveries=deliveries,
        timeline=timeline,
        feed_names=feed_names,
        account_names=account_names,
    )


@bp.post("/entries/<int:entry_id>/resync")
def resync(entry_id: int) -> ResponseReturnValue:
    """Re-send what failed for this entry, and create deliveries its feed's accounts lack
    (a baseline entry gets posted this way)."""
    actions.resync(Selection(entry=str(entry_id)), f"entry {entry_id}")
    return redirect(url_for("entries.show", entry_id=entry_id), code=303)
