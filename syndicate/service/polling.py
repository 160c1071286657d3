"""Poll a feed: fetch, parse, decide what is new, record entries and deliveries."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syndicate.errors import (
    ConfigError,
    FeedError,
    FeedGone,
    SyndicateError,
)
from syndicate.feeds.fetch import RateLimitedFetch, redact_url
from syndicate.feeds.filters import route
from syndicate.feeds.parse import parse_feed
from syndicate.feeds.schedule import next_poll
from syndicate.feeds.watcher import PollPlan, plan_poll
from syndicate.feeds.websub import header_links
from syndicate.model import (
    FeedEntry,
    FeedStatus,
    Trigger,
)
from syndicate.service.context import FEED_LEASE, Context, log
from syndicate.settings import FeedConfig
from syndicate.store import catalog, ledger
from syndicate.store.rows import FeedRow

PUSHED_FEED_SLOWDOWN = 4

# --- polling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollOutcome:
    feed: str
    skipped: bool = False  # another poller holds the lease, or the feed is not active
    not_modified: bool = False
    new_entries: int = 0
    baseline_entries: int = 0
    updated_entries: int = 0
    delivery_ids: tuple[int, ...] = ()
    deferred_entries: int = 0  # dated in the future: posted when their date comes
    quarantined: str | None = None  # why the feed waits for `syndicate feeds accept`
    error: str | None = None
    ignored: str | None = None  # pushed content not taken (e.g. a bad signature): why


def poll_feed(
    ctx: Context, feed_id: int, trigger: Trigger, actor: str = "syndicate"
) -> PollOutcome:
    """Fetch and parse one feed, record what is new and queue its deliveries. Safe to run twice:
    a second poller finds the lease taken and skips."""
    claimed = _claim(ctx, feed_id, trigger, actor)
    return claimed if isinstance(claimed, PollOutcome) else claimed.run()


def store_entries(
    ctx: Context,
    feed_id: int,
    entries: tuple[FeedEntry, ...],
    trigger: Trigger,
    actor: str = "syndicate",
    **values: Any,
) -> PollOutcome:
    """Record entries that arrived without a fetch (a WebSub push) exactly as a poll records
    what it fetched: same lease, same new/baseline/edit decision, same deliveries."""
    claimed = _claim(ctx, feed_id, trigger, actor, kind="feed_pushed")
    if isinstance(claimed, PollOutcome):
        return claimed
    config = ctx.settings.feed(claimed.feed.name)
    return claimed.guarded(lambda: claimed.store(entries, config, **values))


def _claim(
    ctx: Context, feed_id: int, trigger: Trigger, actor: str, kind: str = "feed_polled"
) -> _Poll | PollOutcome:
    """Take the feed's lease: a `_Poll` that holds it, or the outcome of not getting it."""
    token = uuid.uuid4().hex
    with ctx.store.begin() as conn:
        feed = catalog.claim_feed(conn, feed_id, token, ctx.clock(), FEED_LEASE)
        if feed is None:
            name = catalog.feed_name(conn, feed_id)
    if feed is not None:
        return _Poll(ctx, feed, token, trigger, actor, kind=kind)
    if name is None:
        log.warning("poll_feed: no feed with id %s; ignored", feed_id)
    return PollOutcome(feed=f"#{feed_id}" if name is None else name, skipped=True)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass
class _Poll:
    """One leased poll of one feed; every outcome releases the lease."""

    ctx: Context
    feed: FeedRow
    token: str  # only the holder of the lease may record the outcome
    trigger: Trigger
    actor: str
    kind: str = "feed_polled"  # the event a successful store records
    hints: dict[str, Any] = field(default_factory=dict)  # what the server said about timing

    def run(self) -> PollOutcome:
        return self.guarded(self.attempt)

    def guarded(self, work: Callable[[], PollOutcome]) -> PollOutcome:
        try:
            return work()
        except Exception as e:
            # A bug or a database fault, not a feed problem: record it, release the lease so
            # the feed is retried after a backoff, and let the caller see the crash.
            self.failed(e, kind="poll_crashed")
            raise

    def attempt(self) -> PollOutcome:
        feed = self.feed
        # A future-dated entry has come due: read the feed afresh even if it did not change.
        fresh = feed.defer_until is not None and self.ctx.clock() >= feed.defer_until
        try:
            config = self.ctx.settings.feed(feed.name)
            fetched = self.ctx.get_fetcher().fetch(
                config.url if config.is_path else feed.fetch_url or config.url,
                is_path=config.is_path,
                etag=None if fresh else feed.etag,
                last_modified=None if fresh else feed.last_modified,
            )
            self.hints = {"max_age": fetched.max_age}
            if fetched.moved_to:
                self.moved(fetched.moved_to)
            digest = feed.body_hash if fetched.not_modified else body_digest(fetched.body)
            if fetched.not_modified or (digest == feed.body_hash and not fresh):
                return self.unchanged(fetched.etag, fetched.last_modified)
            # Bodies left raw: the watcher cleans only what is new or whose source changed.
            parsed = parse_feed(fetched.body, fetched.url, fetched.headers, clean=False)
            self.hints["ttl"] = parsed.ttl
            links = header_links(fetched.headers.get("link"), fetched.url)
        except RateLimitedFetch as e:
            self.hints = {"retry_after": e.retry_after}
            return self.failed(e)
        except (FeedError, ConfigError) as e:
            return self.failed(e)
        return self.store(
            parsed.entries,
            config,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=digest,
            # WebSub discovery: HTTP Link headers first, then the document's own links.
            hub=links.get("hub") or parsed.hub or None,
            self_url=links.get("self") or parsed.self_url or None,
        )

    def event(self, conn: sa.Connection, kind: str, message: str, **values: Any) -> None:
        ledger.append_event(
            conn,
            at=self.ctx.clock(),
            kind=kind,
            trigger=self.trigger,
            actor=self.actor,
            feed_id=self.feed.id,
            message=message,
            **values,
        )

    def next_poll(self, now: datetime, errors: int = 0) -> datetime:
        """The feed's interval with jitter and backoff, never sooner than the server asked."""
        config = self.ctx.settings.feeds_by_name.get(self.feed.name)
        interval = timedelta(seconds=config.interval if config else self.ctx.settings.poll_interval)
        if self.feed.websub_state == "subscribed":
            interval *= PUSHED_FEED_SLOWDOWN  # the hub pushes; polling is only the safety net
        return next_poll(now, interval=interval, errors=errors, rand=self.ctx.rand, **self.hints)

    def moved(self, url: str) -> None:
        """A permanent redirect: poll the new address from now on, and say so."""
        if url == self.feed.fetch_url:
            return
        with self.ctx.store.begin() as conn:
            catalog.set_fetch_url(conn, self.feed.id, url)
            self.event(
                conn, "feed_moved", f"{self.feed.name}: moved permanently to {redact_url(url)}"
            )

    def succeeded(self, now: datetime, defer_until: datetime | None = None) -> dict[str, Any]:
        """What every successful poll records: the time, the next poll (no later than a
        deferred entry's date), errors cleared."""
        scheduled = self.next_poll(now)
        return {
            "last_polled_at": now,
            "next_poll_at": min(scheduled, defer_until) if defer_until else scheduled,
            "defer_until": defer_until,
            "error_count": 0,
            "last_error": None,
        }

    def record(self, conn: sa.Connection, **values: Any) -> bool:
        lost = not catalog.record_poll(conn, self.feed.id, self.token, **values)
        if lost:
            log.warning("poll %s: lease lost to another poller; outcome dropped", self.feed.name)
        return not lost

    def lease_lost(self) -> PollOutcome:
        return PollOutcome(feed=self.feed.name, skipped=True)

    def unchanged(self, etag: str | None, last_modified: str | None) -> PollOutcome:
        now = self.ctx.clock()
        with self.ctx.store.begin() as conn:
            if not self.record(
                conn,
                **self.succeeded(now),
                etag=etag or self.feed.etag,
                last_modified=last_modified or self.feed.last_modified,
            ):
                return self.lease_lost()
            # No event: nothing changed, and 2,000 feeds every 15 minutes would write 192,000
            # rows a day. last_polled_at records the poll.
        return PollOutcome(feed=self.feed.name, not_modified=True)

    def failed(self, error: Exception, kind: str = "feed_error") -> PollOutcome:
        now = self.ctx.clock()
        gone = isinstance(error, FeedGone)
        errors = self.feed.error_count + 1
        reason = str(error) if isinstance(error, SyndicateError) else f"{type(error).__name__}"
        values: dict[str, Any] = {"error_count": errors, "last_error": reason}
        if gone:
            values["status"] = FeedStatus.GONE
        else:
            values["next_poll_at"] = self.next_poll(now, errors)
        with self.ctx.store.begin() as conn:
            if not self.record(conn, last_polled_at=now, **values):
                return self.lease_lost()
            self.event(conn, "feed_gone" if gone else kind, reason, data={"error_count": errors})
        log.warning("poll %s failed: %s", self.feed.name, reason)
        return PollOutcome(feed=self.feed.name, error=reason)

    def store(
        self, entries: tuple[FeedEntry, ...], config: FeedConfig, **values: Any
    ) -> PollOutcome:
        now = self.ctx.clock()
        first = self.feed.baselined_at is None
        with self.ctx.store.begin() as conn:
            known = catalog.known_entries(conn, self.feed.id)
            plan = plan_poll(
                entries,
                known,
                first_poll=first,
                backfill=config.backfill,
                now=now,
                accept=self.feed.accept_pending,
            )
            if plan.quarantined:
                return self.quarantine(conn, plan, now)
            # The lease check comes first: a poller that lost its lease writes nothing.
            deferred = [e.published or e.updated or now for e in plan.deferred]
            if not self.record(
                conn,
                **self.succeeded(now, min(deferred, default=None)),
                baselined_at=self.feed.baselined_at or now,
                accept_pending=False,
                **values,
            ):
                return self.lease_lost()
            self.store_known(conn, plan, now)
            delivery_ids = [
                delivery_id
                for entry in plan.new
                for delivery_id in self.store_new(
                    conn,
                    entry,
                    plan.hashes[entry.identity],
                    route(entry, config.accounts, config.rules),
                )
            ]
            counts = (
                f"{len(plan.new)} new, {len(plan.baseline)} baseline, {len(plan.changed)} "
                f"edited, {len(plan.deferred)} dated in the future, of {len(entries)} entries"
            )
            kind = "feed_accepted" if self.feed.accept_pending else self.kind
            self.event(conn, "feed_baseline" if first else kind, counts)
        return PollOutcome(
            feed=self.feed.name,
            new_entries=len(plan.new),
            baseline_entries=len(plan.baseline),
            updated_entries=len(plan.changed),
            deferred_entries=len(plan.deferred),
            delivery_ids=tuple(delivery_ids),
        )

    def quarantine(self, conn: sa.Connection, plan: PollPlan, now: datetime) -> PollOutcome:
        """Post nothing; wait for `syndicate feeds accept`. Validators are forgotten so the
        poll after an accept reads the feed whole even if it has not changed since."""
        values = {"status": FeedStatus.QUARANTINED, "last_error": plan.reason}
        reset = {"etag": None, "last_modified": None, "body_hash": None}
        if not self.record(conn, last_polled_at=now, **values, **reset):
            return self.lease_lost()
        self.event(conn, "feed_quarantined", plan.reason, data={"held": len(plan.held)})
        log.warning("feed %s quarantined: %s", self.feed.name, plan.reason)
        return PollOutcome(feed=self.feed.name, quarantined=plan.reason)

    def store_known(self, conn: sa.Connection, plan: PollPlan, now: datetime) -> None:
        for entry_id, source_hash in plan.resourced:
            catalog.set_source_hash(conn, entry_id, source_hash)
        for entry in plan.baseline:
            hashed = plan.hashes[entry.identity]
            catalog.insert_entry(conn, self.feed.id, entry, hashed, now, baseline=True)
        for entry_id, entry in plan.changed:
            catalog.update_entry(conn, entry_id, entry, plan.hashes[entry.identity])
            self.event(conn, "entry_updated", f"edited: {entry.title}", entry_id=entry_id)

    def store_new(
        self, conn: sa.Connection, entry: FeedEntry, hashed: str, routed: tuple[str, ...]
    ) -> list[int]:
        """The entry and one delivery per routed account, in the caller's transaction."""
        now = self.ctx.clock()
        entry_id = catalog.insert_entry(conn, self.feed.id, entry, hashed, now, baseline=False)
        self.event(
            conn, "entry_new", f"new: {entry.title}", entry_id=entry_id, data={"link": entry.link}
        )
        delivery_ids = []
        for name in routed:
            account_id = self.ctx.account_ids[name]
            key = delivery_key(self.feed.name, entry.identity, name)
            settle = timedelta(seconds=self.ctx.settings.accounts[name].delivery.settle)
            delivery_id = ledger.create_delivery(
                conn, entry_id, account_id, key, now, settle=settle
            )
            waits = f" (settles until {(now + settle).isoformat()})" if settle else ""
            self.event(
                conn,
                "delivery_created",
                f"queued for {name}{waits}",
                entry_id=entry_id,
                delivery_id=delivery_id,
                account_id=account_id,
            )
            delivery_ids.append(delivery_id)
        return delivery_ids


def delivery_key(feed: str, identity: str, account: str) -> str:
    """Stable per (feed, entry, account): the same key on every attempt, even after a rebuild."""
    return f"syndicate-{uuid.uuid5(uuid.NAMESPACE_URL, f'{feed}|{identity}|{account}')}"
