"""Use cases: poll a feed, deliver one post, find due work, read history.

Every state change and its audit event are written in one transaction. Network calls happen
outside transactions. Entry points (cli, tasks) are thin adapters over these functions.
"""

from __future__ import annotations

import hashlib
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syndicate import settings as settings_mod
from syndicate.errors import (
    AlreadyPosted,
    ConfigError,
    FeedError,
    FeedGone,
    PublishError,
    SyndicateError,
)
from syndicate.feeds.fetch import Fetcher
from syndicate.feeds.parse import parse_feed
from syndicate.feeds.watcher import PollPlan, plan_poll
from syndicate.model import (
    Account,
    DeliveryState,
    FeedEntry,
    FeedStatus,
    PublishResult,
    Summary,
    Trigger,
)
from syndicate.platforms import publisher_class
from syndicate.platforms.base import Publisher
from syndicate.retry import RetryPolicy, decide
from syndicate.store import Store, ledger
from syndicate.store.rows import AccountRow, DeliveryRow, EntryRow, FeedRow, HistoryRow
from syndicate.summarise.extractive import summarise

log = logging.getLogger("syndicate")

FEED_LEASE = timedelta(minutes=5)
SEND_LEASE = timedelta(minutes=5)
REDISPATCH_AFTER = timedelta(minutes=2)  # a doorbell older than this may have been lost
MAX_ERROR_BACKOFF = timedelta(hours=24)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    """What every use case needs; built once per process by `open_context`."""

    settings: settings_mod.Settings
    store: Store
    clock: Callable[[], datetime] = utc_now
    rand: Callable[[], float] = random.random
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    fetcher: Fetcher | None = None
    feed_ids: dict[str, int] = field(default_factory=dict)
    account_ids: dict[str, int] = field(default_factory=dict)
    _publishers: dict[str, Publisher] = field(default_factory=dict)

    def publisher(self, account: Account) -> Publisher:
        if account.name not in self._publishers:
            cls = publisher_class(account.platform)
            self._publishers[account.name] = cls(account, timeout=self.settings.fetch_timeout)
        return self._publishers[account.name]

    def get_fetcher(self) -> Fetcher:
        if self.fetcher is None:
            s = self.settings
            self.fetcher = Fetcher(
                timeout=s.fetch_timeout, max_bytes=s.max_feed_bytes, user_agent=s.user_agent
            )
        return self.fetcher


def open_context(settings: settings_mod.Settings, **kwargs: Any) -> Context:
    """Migrate the ledger and bring its feeds and accounts in line with the config."""
    store = Store(settings.database_url)
    store.migrate()
    ctx = Context(settings=settings, store=store, **kwargs)
    with store.begin() as conn:
        ctx.feed_ids = ledger.sync_feeds(conn, {f.name: f.url for f in settings.feeds})
        ctx.account_ids = ledger.sync_accounts(
            conn, {name: a.platform for name, a in settings.accounts.items()}
        )
    return ctx


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
    error: str | None = None


def poll_feed(
    ctx: Context, feed_id: int, trigger: Trigger, actor: str = "syndicate"
) -> PollOutcome:
    """Fetch and parse one feed, record what is new and queue its deliveries. Safe to run twice:
    a second poller finds the lease taken and skips."""
    with ctx.store.begin() as conn:
        feed = ledger.get_feed(conn, feed_id)
        if feed is None:
            log.warning("poll_feed: no feed with id %s; ignored", feed_id)
            return PollOutcome(feed=f"#{feed_id}", skipped=True)
        if not ledger.claim_feed(conn, feed_id, ctx.clock(), FEED_LEASE):
            return PollOutcome(feed=feed.name, skipped=True)
    return _Poll(ctx, feed, trigger, actor).run()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class _Poll:
    """One leased poll of one feed; every outcome releases the lease."""

    ctx: Context
    feed: FeedRow
    trigger: Trigger
    actor: str

    def run(self) -> PollOutcome:
        feed = self.feed
        try:
            config = self.ctx.settings.feed(feed.name)
            fetched = self.ctx.get_fetcher().fetch(
                config.url, is_path=config.is_path, etag=feed.etag, last_modified=feed.last_modified
            )
            digest = feed.body_hash if fetched.not_modified else body_digest(fetched.body)
            if fetched.not_modified or digest == feed.body_hash:
                return self.unchanged(fetched.etag, fetched.last_modified)
            parsed = parse_feed(fetched.body, fetched.url, fetched.headers)
        except (FeedError, ConfigError) as e:
            return self.failed(e)
        return self.store(
            parsed.entries,
            config.accounts,
            config.backfill,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=digest,
            hub=parsed.hub or None,
            self_url=parsed.self_url or None,
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
        feeds = {f.name: f.interval for f in self.ctx.settings.feeds}
        interval = timedelta(seconds=feeds.get(self.feed.name, self.ctx.settings.poll_interval))
        if errors:
            interval = min(MAX_ERROR_BACKOFF, interval * 2 ** min(errors, 10))
        return now + interval * (0.8 + 0.4 * self.ctx.rand())  # ±20% jitter spreads the load

    def unchanged(self, etag: str | None, last_modified: str | None) -> PollOutcome:
        now = self.ctx.clock()
        with self.ctx.store.begin() as conn:
            ledger.record_poll(
                conn,
                self.feed.id,
                last_polled_at=now,
                next_poll_at=self.next_poll(now),
                error_count=0,
                last_error=None,
                etag=etag or self.feed.etag,
                last_modified=last_modified or self.feed.last_modified,
            )
            self.event(conn, "feed_unchanged", f"{self.feed.name}: not modified")
        return PollOutcome(feed=self.feed.name, not_modified=True)

    def failed(self, error: SyndicateError) -> PollOutcome:
        now = self.ctx.clock()
        gone = isinstance(error, FeedGone)
        errors = self.feed.error_count + 1
        values: dict[str, Any] = {"error_count": errors, "last_error": str(error)}
        if gone:
            values["status"] = FeedStatus.GONE
        else:
            values["next_poll_at"] = self.next_poll(now, errors)
        with self.ctx.store.begin() as conn:
            ledger.record_poll(conn, self.feed.id, last_polled_at=now, **values)
            kind = "feed_gone" if gone else "feed_error"
            self.event(conn, kind, str(error), data={"error_count": errors})
        log.warning("poll %s failed: %s", self.feed.name, error)
        return PollOutcome(feed=self.feed.name, error=str(error))

    def store(
        self,
        entries: tuple[FeedEntry, ...],
        routed: tuple[str, ...],
        backfill: int,
        **poll_values: Any,
    ) -> PollOutcome:
        now = self.ctx.clock()
        first = self.feed.baselined_at is None
        with self.ctx.store.begin() as conn:
            known = ledger.known_entries(conn, self.feed.id)
            plan = plan_poll(entries, known, first_poll=first, backfill=backfill)
            self.store_known(conn, plan, now)
            delivery_ids = [
                delivery_id
                for entry in plan.new
                for delivery_id in self.store_new(conn, entry, plan.hashes[entry.identity], routed)
            ]
            ledger.record_poll(
                conn,
                self.feed.id,
                last_polled_at=now,
                next_poll_at=self.next_poll(now),
                error_count=0,
                last_error=None,
                baselined_at=self.feed.baselined_at or now,
                **poll_values,
            )
            counts = (
                f"{len(plan.new)} new, {len(plan.baseline)} baseline, "
                f"{len(plan.changed)} edited of {len(entries)} entries"
            )
            self.event(conn, "feed_baseline" if first else "feed_polled", counts)
        return PollOutcome(
            feed=self.feed.name,
            new_entries=len(plan.new),
            baseline_entries=len(plan.baseline),
            updated_entries=len(plan.changed),
            delivery_ids=tuple(delivery_ids),
        )

    def store_known(self, conn: sa.Connection, plan: PollPlan, now: datetime) -> None:
        for entry in plan.baseline:
            hashed = plan.hashes[entry.identity]
            ledger.insert_entry(conn, self.feed.id, entry, hashed, now, baseline=True)
        for entry_id, entry in plan.changed:
            ledger.update_entry(conn, entry_id, entry, plan.hashes[entry.identity])
            self.event(conn, "entry_updated", f"edited: {entry.title}", entry_id=entry_id)

    def store_new(
        self, conn: sa.Connection, entry: FeedEntry, hashed: str, routed: tuple[str, ...]
    ) -> list[int]:
        """The entry and one delivery per routed account, in the caller's transaction."""
        now = self.ctx.clock()
        entry_id = ledger.insert_entry(conn, self.feed.id, entry, hashed, now, baseline=False)
        self.event(
            conn, "entry_new", f"new: {entry.title}", entry_id=entry_id, data={"link": entry.link}
        )
        delivery_ids = []
        for name in routed:
            account_id = self.ctx.account_ids[name]
            key = delivery_key(self.feed.name, entry.identity, name)
            delivery_id = ledger.create_delivery(conn, entry_id, account_id, key, now)
            self.event(
                conn,
                "delivery_created",
                f"queued for {name}",
                entry_id=entry_id,
                delivery_id=delivery_id,
                account_id=account_id,
            )
            delivery_ids.append(delivery_id)
        return delivery_ids


def delivery_key(feed: str, identity: str, account: str) -> str:
    """Stable per (feed, entry, account): the same key on every attempt, even after a rebuild."""
    return f"syndicate-{uuid.uuid5(uuid.NAMESPACE_URL, f'{feed}|{identity}|{account}')}"


# --- delivering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    state: DeliveryState | None  # None: no such delivery
    claimed: bool
    message: str = ""


def deliver(
    ctx: Context, delivery_id: int, trigger: Trigger, actor: str = "syndicate"
) -> DeliveryOutcome:
    """Claim one delivery, render it, send it, and record the outcome. Safe to run twice."""
    with ctx.store.begin() as conn:
        delivery = ledger.get_delivery(conn, delivery_id)
        entry = ledger.get_entry(conn, delivery.entry_id) if delivery else None
        account = ledger.get_account(conn, delivery.account_id) if delivery else None
    if delivery is None or entry is None or account is None:
        log.warning("deliver: no delivery with id %s; message dropped", delivery_id)
        return DeliveryOutcome(delivery_id, None, claimed=False, message="no such delivery")
    attempt = _Attempt(ctx, delivery, entry, account, uuid.uuid4().hex, trigger, actor)
    if not attempt.claim():
        return DeliveryOutcome(delivery_id, None, claimed=False, message="not claimable")
    configured = ctx.settings.accounts.get(account.name)
    if configured is None:
        reason = f"account {account.name!r} is no longer configured"
        return attempt.finish(DeliveryState.FAILED, last_error=reason)
    return attempt.send(configured)


@dataclass(frozen=True)
class _Attempt:
    """One claimed try at one delivery; only the holder of `token` can finish it."""

    ctx: Context
    delivery: DeliveryRow
    entry: EntryRow
    account: AccountRow
    token: str
    trigger: Trigger
    actor: str

    @property
    def number(self) -> int:
        return self.delivery.attempts + 1

    def event(self, conn: sa.Connection, kind: str, message: str, **values: Any) -> None:
        ledger.append_event(
            conn,
            at=self.ctx.clock(),
            kind=kind,
            trigger=self.trigger,
            actor=self.actor,
            delivery_id=self.delivery.id,
            entry_id=self.entry.id,
            account_id=self.account.id,
            message=message,
            **values,
        )

    def claim(self) -> bool:
        now = self.ctx.clock()
        with self.ctx.store.begin() as conn:
            if ledger.claim_delivery(conn, self.delivery.id, self.token, now, SEND_LEASE):
                self.event(conn, "delivery_claimed", f"attempt {self.number}", attempt=self.number)
                return True
            current = ledger.get_delivery(conn, self.delivery.id)
            state = current.state.value if current else "deleted"
            self.event(
                conn,
                "claim_skipped",
                f"not claimable (state {state}): a duplicate or early message, ignored",
            )
            return False

    def send(self, account: Account) -> DeliveryOutcome:
        publisher = self.ctx.publisher(account)
        try:
            post = publisher.render(summary_for(self.ctx, self.entry))
            with self.ctx.store.begin() as conn:
                ledger.set_rendered(conn, self.delivery.id, self.token, post.text)
            result = publisher.publish(post, self.delivery.idempotency_key)
        except AlreadyPosted as e:
            remote = e.remote or PublishResult("", "")
            return self.posted(remote)
        except PublishError as e:
            decision = decide(
                e, self.number, self.ctx.clock(), self.ctx.retry_policy, self.ctx.rand
            )
            when = {"next_attempt_at": decision.next_attempt_at} if decision.next_attempt_at else {}
            return self.finish(decision.state, last_error=decision.reason, **when)
        except SyndicateError as e:
            return self.finish(DeliveryState.FAILED, last_error=f"{type(e).__name__}: {e}")
        except Exception as e:
            # A bug, not an outcome: record that the send may have happened, then crash loudly.
            self.finish(DeliveryState.UNKNOWN, last_error=f"unexpected {type(e).__name__}: {e}")
            raise
        return self.posted(result)

    def posted(self, result: PublishResult) -> DeliveryOutcome:
        return self.finish(
            DeliveryState.POSTED,
            remote_id=result.remote_id,
            remote_url=result.remote_url,
            last_error=None,
        )

    def finish(self, state: DeliveryState, **values: Any) -> DeliveryOutcome:
        now = self.ctx.clock()
        message = str(values.get("remote_url") or values.get("last_error") or state.value)
        with self.ctx.store.begin() as conn:
            if not ledger.finish_delivery(conn, self.delivery.id, self.token, state, now, **values):
                log.warning("delivery %s: claim lost before finishing", self.delivery.id)
                return DeliveryOutcome(self.delivery.id, None, claimed=True, message="claim lost")
            self.event(
                conn,
                f"delivery_{state.value}",
                message,
                attempt=self.number,
                data=_jsonable(values),
            )
        log.info("delivery %s -> %s: %s", self.delivery.id, state.value, message)
        return DeliveryOutcome(self.delivery.id, state, claimed=True, message=message)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def summary_for(ctx: Context, entry: EntryRow) -> Summary:
    """The entry's summary, made once and stored; every account renders from the same one."""
    if entry.summary is not None:
        return summary_from_json(entry.summary)
    summary = summarise(entry_from_row(entry))
    with ctx.store.begin() as conn:
        ledger.store_summary(conn, entry.id, summary_to_json(summary))
    return summary


def entry_from_row(row: EntryRow) -> FeedEntry:
    return FeedEntry(
        identity=row.identity,
        link=row.link,
        title=row.title,
        content_html=row.content_html,
        published=row.published,
        updated=row.updated,
        categories=row.categories,
    )


def summary_to_json(summary: Summary) -> dict[str, Any]:
    return {
        "title": summary.title,
        "text": summary.text,
        "sentences": list(summary.sentences),
        "link": summary.link,
        "hashtags": list(summary.hashtags),
    }


def summary_from_json(data: dict[str, Any]) -> Summary:
    return Summary(
        title=data["title"],
        text=data["text"],
        sentences=tuple(data["sentences"]),
        link=data["link"],
        hashtags=tuple(data.get("hashtags", ())),
    )


# --- scheduling ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DueWork:
    feed_ids: tuple[int, ...]
    delivery_ids: tuple[int, ...]
    expired: int


def collect_due(ctx: Context, trigger: Trigger = Trigger.SWEEPER) -> DueWork:
    """Due feeds (their next poll pushed ahead so a second scheduler skips them), deliveries
    due with no recent doorbell, and `sending` claims whose lease ran out (-> unknown)."""
    now = ctx.clock()
    with ctx.store.begin() as conn:
        expired = _expire_leases(conn, now, trigger)
        feed_ids = [
            feed_id
            for feed_id in ledger.due_feeds(conn, now)
            if ledger.push_next_poll(conn, feed_id, now, now + FEED_LEASE)
        ]
        delivery_ids = ledger.due_deliveries(conn, now, rung_before=now - REDISPATCH_AFTER)
        ledger.mark_enqueued(conn, delivery_ids, now)
    return DueWork(tuple(feed_ids), tuple(delivery_ids), expired)


def mark_enqueued(ctx: Context, delivery_ids: tuple[int, ...]) -> None:
    with ctx.store.begin() as conn:
        ledger.mark_enqueued(conn, delivery_ids, ctx.clock())


def _expire_leases(conn: Any, now: datetime, trigger: Trigger) -> int:
    expired = 0
    for row in ledger.expired_sending(conn, now):
        if ledger.expire_lease(conn, row.id, row.claim_token, now):
            expired += 1
            ledger.append_event(
                conn,
                at=now,
                kind="lease_expired",
                trigger=trigger,
                actor="sweeper",
                delivery_id=row.id,
                entry_id=row.entry_id,
                account_id=row.account_id,
                message="send outcome unknown: the worker stopped mid-send",
            )
    return expired


def work_remaining(ctx: Context) -> int:
    """Deliveries due now or in flight, plus feeds being polled: zero means drained."""
    now = ctx.clock()
    with ctx.store.begin() as conn:
        due = len(ledger.due_deliveries(conn, now))
        sending = ledger.count_deliveries(conn, [DeliveryState.SENDING])
        polling = ledger.leased_feeds(conn, now)
    return due + sending + polling


def polled_since(ctx: Context, feed_ids: tuple[int, ...], since: datetime) -> bool:
    with ctx.store.begin() as conn:
        return ledger.polled_since(conn, feed_ids, since)


def history(ctx: Context, limit: int = 50) -> list[HistoryRow]:
    with ctx.store.begin() as conn:
        return ledger.history(conn, limit)


def feed_id(ctx: Context, name: str) -> int:
    ctx.settings.feed(name)  # raises a ConfigError naming the known feeds
    return ctx.feed_ids[name]
