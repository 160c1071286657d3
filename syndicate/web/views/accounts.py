"""The accounts page: health, pacing and deliveries per account; pause and resume."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from syndicate.errors import ConfigError
from syndicate.model import DeliveryState, Trigger
from syndicate.service import accounts as account_service
from syndicate.web.state import ACTOR, ctx, tell

bp = Blueprint("accounts", __name__)

MAX_REASON = 500


@bp.get("/accounts")
def index() -> ResponseReturnValue:
    context = ctx()
    return render_template(
        "accounts.html",
        accounts=account_service.list_accounts(context),
        states=list(DeliveryState),
    )


@bp.post("/accounts/<name>/pause")
def pause(name: str) -> ResponseReturnValue:
    reason = request.form.get("reason", "").strip()[:MAX_REASON] or "paused from the web app"
    try:
        paused = account_service.pause_account(
            ctx(), name, reason, actor=ACTOR, trigger=Trigger.WEB
        )
    except ConfigError as e:
        tell(str(e), error=True)
    else:
        tell(f"{name}: paused; its deliveries are held." if paused else f"{name}: paused already.")
    return redirect(url_for("accounts.index"), code=303)


@bp.post("/accounts/<name>/resume")
def resume(name: str) -> ResponseReturnValue:
    try:
        released = account_service.resume_account(ctx(), name, actor=ACTOR, trigger=Trigger.WEB)
    except ConfigError as e:
        tell(str(e), error=True)
    else:
        tell(f"{name}: resumed; {released} held deliveries released.")
    return redirect(url_for("accounts.index"), code=303)
