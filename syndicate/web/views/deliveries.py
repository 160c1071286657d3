"""The deliveries page: filters, keyset pages (page 500 costs what page 1 does), and counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, redirect, render_template, request
from flask.typing import ResponseReturnValue

from syndicate.errors import ConfigError
from syndicate.model import DeliveryState
from syndicate.service.operating import Selection, parse_since
from syndicate.store import metrics as figures
from syndicate.store import queries
from syndicate.store.queries import DeliveryFilter
from syndicate.web import actions
from syndicate.web.auth import safe_next
from syndicate.web.state import ctx

bp = Blueprint("deliveries", __name__)

PAGE_SIZE = 50
FILTER_KEYS = ("feed", "account", "platform", "state", "since", "entry")


@dataclass(frozen=True)
class Filters:
    """The filter form as typed, what it means, and what in it could not be read."""

    given: dict[str, str]
    query: DeliveryFilter
    problems: tuple[str, ...] = ()
    before: int | None = None


def parse_filters(args: Mapping[str, str], now: datetime) -> Filters:
    """Pure: the query string -> a DeliveryFilter. Bad values are reported and ignored."""
    given = {key: args.get(key, "").strip() for key in FILTER_KEYS}
    problems: list[str] = []
    state = _state(given["state"], problems)
    since = _since(given["since"], now, problems)
    entry = _number("entry", given["entry"], problems)
    before = _number("before", args.get("before", "").strip(), problems)
    query = DeliveryFilter(
        feed=given["feed"] or None,
        account=given["account"] or None,
        platform=given["platform"] or None,
        state=state,
        since=since,
        entry_id=entry,
    )
    return Filters({k: v for k, v in given.items() if v}, query, tuple(problems), before)


def _state(value: str, problems: list[str]) -> DeliveryState | None:
    if not value:
        return None
    try:
        return DeliveryState(value)
    except ValueError:
        problems.append(f"unknown state {value!r}")
        return None


def _since(value: str, now: datetime, problems: list[str]) -> datetime | None:
    """An age (30m, 12h, 2d, 1w) or an ISO date or time, read as `syndicate history` does."""
    if not value:
        return None
    try:
        return parse_since(value, now)
    except ConfigError:
        problems.append(f"'since' is not an age like 12h or a date like 2026-11-26: {value!r}")
        return None


def _number(name: str, value: str, problems: list[str]) -> int | None:
    if not value:
        return None
    if value.isdecimal() and len(value) < 19:  # beyond a 64-bit id: not one of ours
        return int(value)
    problems.append(f"{name!r} is not a number: {value!r}")
    return None


@bp.get("/deliveries")
def index() -> ResponseReturnValue:
    filters = parse_filters(request.args, ctx().clock())
    with ctx().store.begin() as conn:
        rows = queries.list_deliveries(
            conn, filters.query, limit=PAGE_SIZE + 1, before_id=filters.before
        )
        counts = figures.filtered_state_counts(conn, filters.query)
        feed_names, account_names = queries.names_by_id(conn)
        platforms = sorted({platform for _, platform, _ in figures.account_health(conn)})
    older = rows[PAGE_SIZE - 1].delivery_id if len(rows) > PAGE_SIZE else None
    return render_template(
        "deliveries.html",
        rows=rows[:PAGE_SIZE],
        counts=counts,
        filters=filters,
        extra={k: v for k, v in filters.given.items() if k != "state"},  # for the state links
        older=older,
        feeds=sorted(feed_names.values()),
        accounts=sorted(account_names.values()),
        platforms=platforms,
        states=list(DeliveryState),
    )


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry(delivery_id: int) -> ResponseReturnValue:
    """Re-send one delivery: (entry, account) names it exactly."""
    with ctx().store.begin() as conn:
        found = queries.deliveries_by_id(conn, [delivery_id])
        _, account_names = queries.names_by_id(conn)
    if not found:
        abort(404)
    delivery = found[0]
    account = account_names[delivery.account_id]
    selection = Selection(entry=str(delivery.entry_id), account=account)
    actions.resync(selection, f"delivery {delivery_id}")
    return redirect(safe_next(request.form.get("next")), code=303)
