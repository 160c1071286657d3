"""Aggregate read queries for /metrics and the web dashboards.

Every figure is computed from the ledger at read time, so any number of worker processes on
any number of machines report one truth, and a restart loses no counter. Each function is one
grouped query (a scan of one table, at most a join to the small feeds/accounts tables).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from syndicate.model import DeliveryState
from syndicate.store.queries import DeliveryFilter
from syndicate.store.schema import accounts, deliveries, entries, events, feeds

# The events a poll (or a push) writes when it finds something or fails. An unchanged poll
# writes no event (see polling._Poll.unchanged), so these count polls that mattered; the time
# of every poll is in feeds.last_polled_at.
POLL_EVENT_KINDS = (
    "feed_polled",
    "feed_pushed",
    "feed_baseline",
    "feed_accepted",
    "feed_quarantined",
    "feed_error",
    "feed_gone",
    "poll_crashed",
)

# Seconds from an entry's publication to its post: a minute to a day, then +Inf.
LATENCY_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 10800.0, 21600.0, 86400.0)


@dataclass(frozen=True)
class AccountStates:
    """Deliveries of one account by state, with its attempt totals."""

    account: str
    platform: str
    states: dict[DeliveryState, int]
    attempts: int  # every send attempt ever claimed
    retries: int  # attempts beyond each delivery's first

    @property
    def total(self) -> int:
        return sum(self.states.values())


@dataclass(frozen=True)
class Latency:
    """A cumulative histogram of publish-to-post seconds for one platform."""

    platform: str
    buckets: tuple[tuple[float, int], ...]  # (upper bound, posts at or under it)
    count: int
    total_seconds: float


@dataclass(frozen=True)
class FeedCounts:
    feed: str
    new_entries: int  # entries that made deliveries (not the baseline)
    baseline_entries: int


def account_states(conn: sa.Connection) -> list[AccountStates]:
    """One row per account that has deliveries, ordered by account name."""
    query = (
        sa.select(
            accounts.c.name,
            accounts.c.platform,
            deliveries.c.state,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(deliveries.c.attempts), 0),
            sa.func.coalesce(sa.func.sum(_retries()), 0),
        )
        .join(accounts, accounts.c.id == deliveries.c.account_id)
        .group_by(accounts.c.name, accounts.c.platform, deliveries.c.state)
        .order_by(accounts.c.name)
    )
    grouped: dict[str, dict[str, Any]] = {}
    for name, platform, state, count, attempts, retries in conn.execute(query):
        item = grouped.setdefault(
            name, {"platform": platform, "states": {}, "attempts": 0, "retries": 0}
        )
        item["states"][DeliveryState(state)] = int(count)
        item["attempts"] += int(attempts)
        item["retries"] += int(retries)
    return [AccountStates(account=name, **item) for name, item in grouped.items()]


def _retries() -> sa.ColumnElement[int]:
    return sa.case((deliveries.c.attempts > 1, deliveries.c.attempts - 1), else_=0)


def state_totals(conn: sa.Connection) -> dict[DeliveryState, int]:
    """Every delivery by state (the dashboard's header)."""
    query = sa.select(deliveries.c.state, sa.func.count()).group_by(deliveries.c.state)
    return {DeliveryState(state): int(n) for state, n in conn.execute(query)}


def filtered_state_counts(conn: sa.Connection, f: DeliveryFilter) -> dict[DeliveryState, int]:
    """What `queries.count_deliveries` answers, joining only the tables the filter names: an
    unfiltered or state-only count then reads one index instead of joining 100,000 rows."""
    query = sa.select(deliveries.c.state, sa.func.count()).select_from(deliveries)
    if f.feed is not None:
        query = query.join(entries, entries.c.id == deliveries.c.entry_id)
        query = query.join(feeds, feeds.c.id == entries.c.feed_id).where(feeds.c.name == f.feed)
    if f.account is not None or f.platform is not None:
        query = query.join(accounts, accounts.c.id == deliveries.c.account_id)
        if f.account is not None:
            query = query.where(accounts.c.name == f.account)
        if f.platform is not None:
            query = query.where(accounts.c.platform == f.platform)
    if f.state is not None:
        query = query.where(deliveries.c.state == f.state.value)
    if f.since is not None:
        query = query.where(deliveries.c.updated_at >= f.since)
    if f.entry_id is not None:
        query = query.where(deliveries.c.entry_id == f.entry_id)
    query = query.group_by(deliveries.c.state)
    return {DeliveryState(state): int(n) for state, n in conn.execute(query)}


def feed_counts(conn: sa.Connection) -> dict[str, FeedCounts]:
    # An outer join gives a feed with no entries one row of NULLs: it counts as neither.
    new = sa.func.sum(sa.case((entries.c.baseline == sa.false(), 1), else_=0))
    query = (
        sa.select(feeds.c.name, sa.func.count(entries.c.id), sa.func.coalesce(new, 0))
        .select_from(feeds)
        .outerjoin(entries, entries.c.feed_id == feeds.c.id)
        .group_by(feeds.c.name)
    )
    return {
        name: FeedCounts(name, new_entries=int(fresh), baseline_entries=int(total) - int(fresh))
        for name, total, fresh in conn.execute(query)
    }


def account_health(conn: sa.Connection) -> list[tuple[str, str, str]]:
    """(account, platform, health) for every account the ledger knows."""
    query = sa.select(accounts.c.name, accounts.c.platform, accounts.c.health)
    return [(name, platform, health) for name, platform, health in conn.execute(query)]


def poll_events(conn: sa.Connection) -> dict[tuple[str, str], int]:
    """(feed name, event kind) -> how many, for the kinds in POLL_EVENT_KINDS."""
    query = (
        sa.select(feeds.c.name, events.c.kind, sa.func.count())
        .join(feeds, feeds.c.id == events.c.feed_id)
        .where(events.c.kind.in_(POLL_EVENT_KINDS))
        .group_by(feeds.c.name, events.c.kind)
    )
    return {(name, kind): int(n) for name, kind, n in conn.execute(query)}


def publish_latency(
    conn: sa.Connection, bounds: Sequence[float] = LATENCY_BUCKETS
) -> list[Latency]:
    """Posted deliveries: seconds from the entry's publication (its first sighting when the
    feed gives no date) to the post, bucketed in SQL so no row leaves the database."""
    published = sa.func.coalesce(entries.c.published, entries.c.first_seen_at)
    raw = _seconds_between(conn, deliveries.c.updated_at, published)
    # A clock skew between the blog and us must not make a negative observation.
    seconds = sa.case((raw < 0, 0.0), else_=raw)
    columns = [sa.func.sum(sa.case((seconds <= bound, 1), else_=0)) for bound in bounds]
    query = (
        sa.select(accounts.c.platform, sa.func.count(), sa.func.sum(seconds), *columns)
        .select_from(deliveries)
        .join(entries, entries.c.id == deliveries.c.entry_id)
        .join(accounts, accounts.c.id == deliveries.c.account_id)
        .where(deliveries.c.state == DeliveryState.POSTED)
        .group_by(accounts.c.platform)
        .order_by(accounts.c.platform)
    )
    return [
        Latency(
            platform=platform,
            buckets=tuple(zip(bounds, (int(n or 0) for n in counts), strict=True)),
            count=int(count),
            total_seconds=float(total or 0.0),
        )
        for platform, count, total, *counts in conn.execute(query)
    ]


def _seconds_between(
    conn: sa.Connection, later: sa.ColumnElement[Any], earlier: sa.ColumnElement[Any]
) -> sa.ColumnElement[float]:
    """`later - earlier` in seconds, in each database's own date arithmetic."""
    if conn.dialect.name == "sqlite":
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0
    return sa.cast(sa.extract("epoch", later - earlier), sa.Float)
