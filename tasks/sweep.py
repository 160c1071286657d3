"""sweep(): the periodic doorbell. Due feeds and deliveries are (re-)enqueued from the ledger,
so a lost message, a Redis restart or a killed worker loses nothing."""

from __future__ import annotations

from syndicate import service
from syndicate.model import Trigger
from syndicate.service import websub
from tasks import dispatch, runtime
from tasks.app import app


@app.task(name="syndicate.sweep")
def sweep() -> None:
    websub.renew_due(runtime.context())  # subscribe, renew and unsubscribe WebSub leases
    due = service.collect_due(runtime.context(), Trigger.SWEEPER)
    dispatch.polls(due.feed_ids, Trigger.SCHEDULE)
    dispatch.deliveries(due.delivery_ids, Trigger.SWEEPER, mark=False)
