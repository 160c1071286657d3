"""deliver(delivery_id): send the oldest due post of that delivery's account, then ring the
account's next one. A duplicate or early message is a no-op."""

from __future__ import annotations

from datetime import UTC, datetime

from syndicate import service
from syndicate.model import Trigger
from tasks import dispatch, runtime
from tasks.app import LEDGER_RETRY, app
from tasks.ids import message_id

# Longer waits are left to the sweeper: Redis re-delivers ETA messages held past its
# visibility timeout, and a long countdown pins a message in a worker's memory.
MAX_COUNTDOWN = 300.0


@app.task(name="syndicate.deliver", **LEDGER_RETRY)
def deliver(delivery_id: object, trigger: str = Trigger.SCHEDULE.value) -> None:
    checked = message_id("deliver", delivery_id, trigger)
    if checked is None:
        return
    outcome = service.deliver(runtime.context(), checked[0], checked[1])
    if outcome.follow_up is None:
        return
    wait = 0.0
    if outcome.follow_up_at is not None:
        wait = max(0.0, (outcome.follow_up_at - datetime.now(UTC)).total_seconds())
    if wait <= MAX_COUNTDOWN:
        dispatch.deliveries([outcome.follow_up], Trigger.RETRY, countdown=wait)
