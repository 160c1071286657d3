"""WebSub subscriber use cases: subscribe to a feed's hub, answer the hub's verification of
intent, take pushed content, renew leases, unsubscribe removed feeds.

The protocol decisions live in `feeds.websub` (pure); this module does the database and HTTP
around them. Pushed content goes through the very code path a poll uses (`store_entries`), so
a push and a poll can never disagree on what is new. Polling goes on as the slow fallback.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from syndicate.errors import FeedError, FetchError
from syndicate.feeds.fetch import redact_url
from syndicate.feeds.parse import parse_feed
from syndicate.feeds.websub import (
    DEFAULT_LEASE,
    Action,
    Mode,
    State,
    answer_intent,
    may_send_secret,
    renew_at,
    signed_by_any,
    subscription_params,
)
from syndicate.model import FeedStatus, Trigger
from syndicate.service.context import Context
from syndicate.service.polling import PollOutcome, store_entries
from syndicate.store import catalog, ledger
from syndicate.store.rows import FeedRow

log = logging.getLogger("syndicate.websub")

CALLBACK_PATH = "/websub/"
RETRY_AFTER = timedelta(hours=1)  # a failed or never-verified request is tried again after this
ACTOR = "websub"


@dataclass(frozen=True)
class SubscribeOutcome:
    feed: str
    requested: bool = False  # the hub accepted the request (202); verification follows
    skipped: str | None = None  # why no request was sent
    error: str | None = None


def callback_url(ctx: Context, token: str) -> str:
    return f"{ctx.settings.web.public_url}{CALLBACK_PATH}{token}"


def _event(
    ctx: Context, conn: sa.Connection, feed: FeedRow, kind: str, message: str, **data: object
) -> None:
    ledger.append_event(
        conn,
        at=ctx.clock(),
        kind=kind,
        trigger=Trigger.WEBSUB,
        actor=ACTOR,
        feed_id=feed.id,
        message=message,
        data=dict(data),
    )


def _not_subscribable(ctx: Context, feed: FeedRow) -> str | None:
    if not ctx.settings.web.public_url:
        return "[web].public_url is empty, so hubs have no callback to reach"
    if feed.status is not FeedStatus.ACTIVE:
        return f"the feed is {feed.status.value}"
    if not feed.hub or not feed.self_url:
        return "the feed advertises no hub and self URL (yet: a poll discovers them)"
    if not may_send_secret(feed.hub):
        return "the hub is plain http: its pushes could not be authenticated"
    return None


def subscribe(
    ctx: Context, feed_id: int, *, trigger: Trigger = Trigger.SCHEDULE
) -> SubscribeOutcome:
    """Ask the feed's hub for pushes. The state is `pending` before the request leaves, so a
    hub that verifies before it answers finds the request it is verifying. Each renewal sends
    a fresh secret; the old one stays valid until the hub verifies the renewal (`verify`)."""
    with ctx.store.begin() as conn:
        feed = catalog.get_feed(conn, feed_id)
        if feed is None:
            return SubscribeOutcome(feed=f"#{feed_id}", skipped="no such feed")
        reason = _not_subscribable(ctx, feed)
        if reason:
            log.debug("websub: not subscribing %s: %s", feed.name, reason)
            return SubscribeOutcome(feed=feed.name, skipped=reason)
        token, secret = secrets.token_urlsafe(32), secrets.token_hex(32)
        catalog.prepare_websub_request(conn, feed.id, token, secret)
        feed = catalog.get_feed(conn, feed_id)
        assert feed is not None and feed.websub_token and feed.hub and feed.self_url
        catalog.set_websub(
            conn,
            feed.id,
            websub_state=State.PENDING,
            websub_topic=feed.self_url,
            websub_renew_at=ctx.clock() + RETRY_AFTER,  # unless the hub verifies sooner
        )
        _event(ctx, conn, feed, "websub_subscribe", f"{feed.name}: asking {redact_url(feed.hub)}",
               trigger=trigger.value)  # fmt: skip
    params = subscription_params(
        Mode.SUBSCRIBE,
        callback=callback_url(ctx, feed.websub_token),
        topic=feed.self_url,
        secret=feed.websub_next_secret,
        lease=DEFAULT_LEASE,
    )
    return _send(ctx, feed, feed.hub, params)


def _secret_stays_private(url: str) -> None:
    """A redirect must not carry the hub secret where it would travel in clear."""
    if not may_send_secret(url):
        raise FetchError(f"{redact_url(url)}: not following a redirect to plain http")


def _send(ctx: Context, feed: FeedRow, hub: str, params: Mapping[str, str]) -> SubscribeOutcome:
    mode = params["hub.mode"]
    vet = _secret_stays_private if "hub.secret" in params else None
    try:
        answer = ctx.get_fetcher().post_form(hub, params, vet=vet)
    except FetchError as e:
        error = str(e)
    else:
        if answer.redirects:
            with ctx.store.begin() as conn:
                _event(ctx, conn, feed, "websub_redirected",
                       f"{feed.name}: the hub sent the request on to {redact_url(answer.url)}",
                       redirects=answer.redirects, status=answer.status)  # fmt: skip
        if 200 <= answer.status < 300:
            return SubscribeOutcome(feed=feed.name, requested=True)
        error = f"the hub answered HTTP {answer.status}"
        if answer.status in (301, 302, 303):
            error += " (a redirect a POST cannot follow: only 307 and 308 keep the method)"
    with ctx.store.begin() as conn:
        _event(ctx, conn, feed, f"websub_{mode}_failed", f"{feed.name}: {error}")
    log.warning("websub %s %s failed: %s", mode, feed.name, error)
    return SubscribeOutcome(feed=feed.name, error=error)


def verify(ctx: Context, token: str, params: Mapping[str, str]) -> str | None:
    """The hub's GET to our callback: the body to answer with (the challenge, or "" for a
    denial), or None for 404 when it is not about a request we made."""
    with ctx.store.begin() as conn:
        feed = catalog.feed_by_websub_token(conn, token)
        topic, state = (feed.websub_topic, feed.websub_state) if feed else (None, None)
        intent = answer_intent(params, topic=topic, state=state)
        if feed is None:
            return None
        now = ctx.clock()
        if intent.action is Action.REJECT:
            _event(ctx, conn, feed, "websub_verify_refused",
                   f"{feed.name}: refused a {intent.mode or 'modeless'} verification")  # fmt: skip
            return None
        if intent.action is Action.DENIED:
            catalog.set_websub(conn, feed.id, websub_state=State.DENIED, websub_renew_at=None)
            _event(ctx, conn, feed, "websub_denied", f"{feed.name}: hub denied: {intent.reason}")
            return ""
        if intent.mode == Mode.UNSUBSCRIBE:
            catalog.set_websub(conn, feed.id, websub_lease_until=None, websub_renew_at=None)
            _event(ctx, conn, feed, "websub_unsubscribed", f"{feed.name}: unsubscribed")
            return intent.challenge
        lease = intent.lease or DEFAULT_LEASE
        rotated = catalog.confirm_websub_secret(conn, feed.id)
        catalog.set_websub(
            conn,
            feed.id,
            websub_state=State.SUBSCRIBED,
            websub_lease_until=now + lease,
            websub_renew_at=renew_at(now, lease),
        )
        _event(ctx, conn, feed, "websub_subscribed",
               f"{feed.name}: subscribed for {int(lease.total_seconds())} s",
               lease_seconds=int(lease.total_seconds()), new_secret=rotated)  # fmt: skip
        return intent.challenge


def ingest(ctx: Context, token: str, headers: Mapping[str, str], body: bytes) -> PollOutcome | None:
    """Pushed content: None for an unknown callback (404). Content that is unsigned or wrongly
    signed is ignored (recorded; the hub still gets a 2xx, as the spec asks)."""
    headers = {k.lower(): v for k, v in headers.items()}
    with ctx.store.begin() as conn:
        feed = catalog.feed_by_websub_token(conn, token)
        if feed is None:
            return None
        accepted = (feed.websub_secret, feed.websub_next_secret)
        if not signed_by_any(accepted, body, headers.get("x-hub-signature")):
            why = "bad signature" if headers.get("x-hub-signature") else "unsigned"
            _event(ctx, conn, feed, "websub_push_ignored", f"{feed.name}: {why} content ignored")
            log.warning("websub: %s push to %s ignored", why, feed.name)
            return PollOutcome(feed=feed.name, ignored=why)
    try:
        parsed = parse_feed(body, feed.fetch_url or feed.url, headers)
    except FeedError as e:
        with ctx.store.begin() as conn:
            _event(ctx, conn, feed, "websub_push_unreadable", f"{feed.name}: {e}")
        return PollOutcome(feed=feed.name, error=str(e))
    return store_entries(ctx, feed.id, parsed.entries, Trigger.WEBSUB, actor=ACTOR)


def unsubscribe(ctx: Context, feed_id: int) -> SubscribeOutcome:
    """Stop the pushes of a feed (removed from the config). `unsubscribed` is recorded before
    the request, so the hub's verification finds what we asked for."""
    with ctx.store.begin() as conn:
        feed = catalog.get_feed(conn, feed_id)
        if feed is None:
            return SubscribeOutcome(feed=f"#{feed_id}", skipped="no such feed")
        held = feed.websub_state in (State.PENDING, State.SUBSCRIBED)
        if not (held and feed.hub and feed.websub_topic and feed.websub_token):
            return SubscribeOutcome(feed=feed.name, skipped="not subscribed")
        if not ctx.settings.web.public_url:
            return SubscribeOutcome(feed=feed.name, skipped="[web].public_url is empty")
        catalog.set_websub(conn, feed.id, websub_state=State.UNSUBSCRIBED, websub_renew_at=None)
        _event(ctx, conn, feed, "websub_unsubscribe", f"{feed.name}: asking the hub to stop")
    params = subscription_params(
        Mode.UNSUBSCRIBE,
        callback=callback_url(ctx, feed.websub_token),
        topic=feed.websub_topic,
        secret=None,
        lease=None,
    )
    return _send(ctx, feed, feed.hub, params)


_told_no_public_url: set[str] = set()


def renew_due(ctx: Context) -> list[SubscribeOutcome]:
    """Subscribe feeds that advertise a hub and were never subscribed, renew leases past 80%,
    retry requests that failed or were never verified, and unsubscribe removed feeds."""
    now = ctx.clock()
    with ctx.store.begin() as conn:
        due = catalog.websub_subscriptions_due(conn, now)
        removed = catalog.websub_unsubscriptions_due(conn)
    if not ctx.settings.web.public_url:
        if due and ctx.settings.database_url not in _told_no_public_url:
            _told_no_public_url.add(ctx.settings.database_url)
            log.info("websub: %d feed(s) advertise a hub; set [web].public_url to subscribe",
                     len(due))  # fmt: skip
        return []
    outcomes = [subscribe(ctx, feed_id) for feed_id in due]
    return outcomes + [unsubscribe(ctx, feed_id) for feed_id in removed]


def status_line(feed: FeedRow, now: datetime) -> str:
    """The feed's WebSub state in a few words, for `syndicate feeds list` and the web page."""
    lease = feed.websub_lease_until
    held = lease is not None and lease > now
    until = f" until {lease:%Y-%m-%d %H:%M} UTC" if held and lease else ""
    if feed.websub_state == State.SUBSCRIBED:
        return f"subscribed{until}" if held else "subscribed, lease ended (renewing)"
    if feed.websub_state == State.PENDING:
        return f"renewing, subscribed{until}" if held else "asked the hub, awaiting verification"
    if feed.websub_state == State.DENIED:
        return "denied by the hub: polling only"
    if feed.websub_state == State.UNSUBSCRIBED:
        return "unsubscribed"
    return "hub advertised, not subscribed yet" if feed.hub else "no hub: polling only"
