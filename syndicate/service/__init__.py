"""Use cases: poll a feed, deliver one post, find due work, read history.

Every state change and its audit event are written in one transaction; network calls happen
outside transactions. Entry points (cli, tasks) are thin adapters over these functions.
"""

from __future__ import annotations

from syndicate.service.context import (
    FEED_LEASE,
    REDISPATCH_AFTER,
    SEND_LEASE,
    Context,
    healthy,
    open_context,
    utc_now,
    warm_up,
)
from syndicate.service.delivering import DeliveryOutcome, deliver
from syndicate.service.polling import PollOutcome, delivery_key, poll_feed
from syndicate.service.scheduling import (
    DueWork,
    RunReport,
    accept_feed,
    collect_due,
    doorbells_for,
    feed_id,
    history,
    list_feeds,
    mark_enqueued,
    states_since,
    work_remaining,
)
from syndicate.service.summarising import summary_for

__all__ = [
    "FEED_LEASE",
    "REDISPATCH_AFTER",
    "SEND_LEASE",
    "Context",
    "DeliveryOutcome",
    "DueWork",
    "PollOutcome",
    "RunReport",
    "accept_feed",
    "collect_due",
    "deliver",
    "delivery_key",
    "doorbells_for",
    "feed_id",
    "healthy",
    "history",
    "list_feeds",
    "mark_enqueued",
    "open_context",
    "poll_feed",
    "states_since",
    "summary_for",
    "utc_now",
    "warm_up",
    "work_remaining",
]
