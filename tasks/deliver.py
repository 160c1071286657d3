"""deliver(delivery_id): send the oldest due post of that delivery's account, then its next
ones while they are due and the task's chain budget lasts, then ring the account's next one.
A duplicate or early message is a no-op."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from syndicate import service
from syndicate.model import Trigger
from tasks import dispatch, runtime
from tasks.app import LEDGER_RETRY, app, time_limit
from tasks.ids import message_id

# Longer waits are left to the sweeper: Redis re-delivers ETA messages held past its
# visibility timeout, and a long countdown pins a message in a worker's memory.
MAX_COUNTDOWN = 300.0
# A task sends at most this many posts of one account in a row before it rings for the rest,
# so one account's backlog does not keep a worker from the others' doorbells for long.
MAX_CHAIN = 20
# ... and starts another only while it has run for less than this share of its soft time
# limit (at most CHAIN_SECONDS): the next send then still has the rest of the limit.
CHAIN_SHARE = 0.1
CHAIN_SECONDS = 10.0


@app.task(name="syndicate.deliver", **LEDGER_RETRY)
def deliver(delivery_id: object, trigger: str = Trigger.SCHEDULE.value) -> None:
    checked = message_id("deliver", delivery_id, trigger)
    if checked is None:
        return
    ctx = runtime.context()
    started = time.monotonic()
    budget = min(CHAIN_SECONDS, time_limit(ctx.settings) * 0.75 * CHAIN_SHARE)
    outcome = service.deliver(ctx, checked[0], checked[1])
    sent = 1
    # The account's next post is due now: send it here rather than through a message of its
    # own (a message costs more CPU than the ledger work of a send). Only after a send that
    # claimed something: an idle doorbell's follow-up is rung, as before.
    while (
        outcome.claimed
        and outcome.follow_up is not None
        and outcome.follow_up_at is None
        and sent < MAX_CHAIN
        and time.monotonic() - started < budget
    ):
        outcome = service.deliver(ctx, outcome.follow_up, Trigger.RETRY)
        sent += 1
    if outcome.follow_up is None:
        return
    wait = 0.0
    if outcome.follow_up_at is not None:
        wait = max(0.0, (outcome.follow_up_at - datetime.now(UTC)).total_seconds())
    if wait <= MAX_COUNTDOWN:
        dispatch.deliveries([outcome.follow_up], Trigger.RETRY, countdown=wait)
