"""The only way the CLI, the web app and tasks enqueue work.

Messages are doorbells: the ledger already holds the work. With the embedded broker and no
worker in this process a message would vanish, so nothing is sent and the caller is told;
`syndicate run` finds the work in the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence

from syndicate import service
from syndicate.model import Trigger
from tasks import runtime
from tasks.app import app


def broker_available() -> bool:
    return not runtime.settings().embedded_broker or runtime.embedded_worker_running.is_set()


def polls(feed_ids: Sequence[int], trigger: Trigger) -> bool:
    if not broker_available():
        return False
    for feed_id in feed_ids:
        app.send_task("syndicate.poll_feed", args=[feed_id, trigger.value])
    return True


def deliveries(delivery_ids: Sequence[int], trigger: Trigger, *, mark: bool = True) -> bool:
    """Ring for each delivery; `mark` stamps enqueued_at (the sweeper stamps its own)."""
    if not delivery_ids:
        return True
    if not broker_available():
        return False
    for delivery_id in delivery_ids:
        app.send_task("syndicate.deliver", args=[delivery_id, trigger.value])
    if mark:
        service.mark_enqueued(runtime.context(), tuple(delivery_ids))
    return True
