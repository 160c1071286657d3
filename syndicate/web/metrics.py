"""/metrics in Prometheus' text format, read from the ledger at scrape time.

A custom collector rather than counters in this process: workers in other processes (and on
other machines) do the polling and posting, and the ledger is the only place all of it meets.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from syndicate import service
from syndicate.model import DeliveryState, FeedStatus
from syndicate.store import catalog
from syndicate.store import metrics as queries
from syndicate.store.rows import FeedRow

__all__ = ["CONTENT_TYPE", "LedgerCollector", "exposition"]

# The classic text format every Prometheus (and compatible scraper) reads; our names are
# plain ASCII, so the output is the same as the newer 1.0.0 format's.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LedgerCollector(Collector):
    """Every family is computed from one read transaction of the ledger."""

    def __init__(self, ctx: service.Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        with self.ctx.store.begin() as conn:
            feeds = catalog.list_feeds(conn)
            polls = queries.poll_events(conn)
            counts = queries.feed_counts(conn)
            states = queries.account_states(conn)
            health = queries.account_health(conn)
            latency = queries.publish_latency(conn)
        yield from _feed_families(feeds)
        yield _poll_family(polls)
        yield _entry_family(counts)
        yield from _delivery_families(states)
        yield _health_family(health)
        yield _latency_family(latency)


def exposition(ctx: service.Context) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(ctx))
    return generate_latest(registry)


def _timestamp(at: datetime | None) -> float:
    return at.timestamp() if at else 0.0


def _feed_families(feeds: list[FeedRow]) -> Iterator[Metric]:
    last = GaugeMetricFamily(
        "syndicate_feed_last_poll_timestamp_seconds",
        "When the feed was last polled (0: never)",
        labels=["feed"],
    )
    upcoming = GaugeMetricFamily(
        "syndicate_feed_next_poll_timestamp_seconds",
        "When the feed is next due (0: not scheduled)",
        labels=["feed"],
    )
    errors = GaugeMetricFamily(
        "syndicate_feed_consecutive_errors", "Failed polls since the last success", labels=["feed"]
    )
    status = GaugeMetricFamily(
        "syndicate_feed_status", "1 for the feed's current status", labels=["feed", "status"]
    )
    websub = GaugeMetricFamily(
        "syndicate_feed_websub_subscribed", "1 while a hub pushes the feed", labels=["feed"]
    )
    for feed in feeds:
        last.add_metric([feed.name], _timestamp(feed.last_polled_at))
        upcoming.add_metric([feed.name], _timestamp(feed.next_poll_at))
        errors.add_metric([feed.name], feed.error_count)
        for value in FeedStatus:
            status.add_metric([feed.name, value.value], float(feed.status is value))
        websub.add_metric([feed.name], float(feed.websub_state == "subscribed"))
    yield from (last, upcoming, errors, status, websub)


def _poll_family(polls: dict[tuple[str, str], int]) -> Metric:
    family = CounterMetricFamily(
        "syndicate_poll_events",
        "Polls and pushes that changed something or failed, by event kind "
        "(an unchanged poll records no event)",
        labels=["feed", "kind"],
    )
    for (feed, kind), count in sorted(polls.items()):
        family.add_metric([feed, kind], count)
    return family


def _entry_family(counts: dict[str, queries.FeedCounts]) -> Metric:
    family = CounterMetricFamily(
        "syndicate_entries",
        "Entries seen, by feed; kind=new made deliveries, kind=baseline did not",
        labels=["feed", "kind"],
    )
    for feed, item in sorted(counts.items()):
        family.add_metric([feed, "new"], item.new_entries)
        family.add_metric([feed, "baseline"], item.baseline_entries)
    return family


def _delivery_families(states: list[queries.AccountStates]) -> Iterator[Metric]:
    deliveries = GaugeMetricFamily(
        "syndicate_deliveries",
        "Deliveries by current state",
        labels=["platform", "account", "state"],
    )
    attempts = CounterMetricFamily(
        "syndicate_delivery_attempts", "Send attempts claimed", labels=["platform", "account"]
    )
    retries = CounterMetricFamily(
        "syndicate_delivery_retries",
        "Send attempts beyond each delivery's first",
        labels=["platform", "account"],
    )
    for item in states:
        for state in DeliveryState:
            count = item.states.get(state, 0)
            deliveries.add_metric([item.platform, item.account, state.value], count)
        attempts.add_metric([item.platform, item.account], item.attempts)
        retries.add_metric([item.platform, item.account], item.retries)
    yield from (deliveries, attempts, retries)


def _health_family(health: list[tuple[str, str, str]]) -> Metric:
    family = GaugeMetricFamily(
        "syndicate_account_paused",
        "1 while the account is paused (its deliveries are held)",
        labels=["platform", "account"],
    )
    for account, platform, state in sorted(health):
        family.add_metric([platform, account], float(state == "paused"))
    return family


def _latency_family(latency: list[queries.Latency]) -> Metric:
    family = HistogramMetricFamily(
        "syndicate_publish_to_post_seconds",
        "Seconds from an entry's publication to its post",
        labels=["platform"],
    )
    for item in latency:
        buckets = [(repr(float(bound)), float(n)) for bound, n in item.buckets]
        family.add_metric(
            [item.platform], [*buckets, ("+Inf", float(item.count))], item.total_seconds
        )
    return family
