"""poll_feed(feed_id): fetch, parse, record new entries and their deliveries, ring for them."""

from __future__ import annotations

from syndicate import service
from syndicate.model import Trigger
from tasks import dispatch, runtime
from tasks.app import LEDGER_RETRY, app
from tasks.ids import message_id


@app.task(name="syndicate.poll_feed", **LEDGER_RETRY)
def poll_feed(feed_id: object, trigger: str = Trigger.SCHEDULE.value) -> None:
    checked = message_id("poll_feed", feed_id, trigger)
    if checked is None:
        return
    outcome = service.poll_feed(runtime.context(), checked[0], checked[1])
    dispatch.deliveries(outcome.delivery_ids, checked[1])
