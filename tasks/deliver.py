"""deliver(delivery_id): claim, render, send, record. A duplicate message is a no-op."""

from __future__ import annotations

from syndicate import service
from syndicate.model import Trigger
from tasks import runtime
from tasks.app import app
from tasks.ids import message_id


@app.task(name="syndicate.deliver")
def deliver(delivery_id: object, trigger: str = Trigger.SCHEDULE.value) -> None:
    checked = message_id("deliver", delivery_id, trigger)
    if checked is not None:
        service.deliver(runtime.context(), checked[0], checked[1])
