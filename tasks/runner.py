"""`syndicate run`: the scheduler and a worker in one process.

The worker is a Celery WorkController in a thread (threads pool) consuming from the configured
broker, or from an in-process `memory://` broker when none is configured. The scheduler loop
asks the ledger for due work and rings for it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Any

from celery.worker import WorkController

from syndicate import service
from syndicate.errors import BrokerError
from syndicate.model import Trigger
from syndicate.service import websub
from syndicate.settings import Settings
from tasks import dispatch, runtime
from tasks.app import app

log = logging.getLogger("syndicate.run")

TICK_SECONDS = 5.0
ONCE_DEADLINE = 600.0  # --once gives up waiting for in-flight work after this long


class _Worker(WorkController):  # type: ignore[misc]  # celery ships no type hints
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.ready.set()


@contextmanager
def embedded_worker(concurrency: int = 2) -> Iterator[None]:
    runtime.embedded_broker_allowed.set()
    app.finalize()
    app.set_current()
    worker = _Worker(
        app=app,
        pool="threads",
        concurrency=concurrency,
        hostname=f"syndicate-run-{threading.get_native_id()}@localhost",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="WARNING",
    )
    thread = threading.Thread(target=worker.start, name="celery-worker", daemon=True)
    thread.start()
    if not worker.ready.wait(60):
        worker.stop(in_sighandler=False)
        raise BrokerError("the in-process worker could not reach its broker within 60 s")
    runtime.embedded_worker_running.set()
    try:
        yield
    finally:
        runtime.embedded_worker_running.clear()
        worker.stop(in_sighandler=False)  # warm: lets running tasks finish
        thread.join(60)


class _StopFlag:
    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: finishing running work, then stopping", signum)
        self.event.set()


def run(settings: Settings, *, once: bool, tick: float = TICK_SECONDS) -> service.RunReport:
    runtime.bind(settings)
    ctx = runtime.context()
    stop = _StopFlag()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with embedded_worker():
            return _drain(ctx, stop.event) if once else _forever(ctx, stop.event, tick)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ring(ctx: service.Context) -> tuple[int, ...]:
    due = service.collect_due(ctx, Trigger.SCHEDULE)
    dispatch.polls(due.feed_ids, Trigger.SCHEDULE)
    dispatch.deliveries(due.delivery_ids, Trigger.SWEEPER, mark=False)
    return due.feed_ids


def _report(
    ctx: service.Context, polled: int, *, drained: bool, started: datetime
) -> service.RunReport:
    remaining = 0 if drained else service.work_remaining(ctx, started)
    return service.RunReport(polled, drained, remaining, service.states_since(ctx, started))


def _forever(ctx: service.Context, stop: threading.Event, tick: float) -> service.RunReport:
    started = ctx.clock()
    polled = 0
    while not stop.is_set():
        websub.renew_due(ctx)  # subscribe, renew and unsubscribe WebSub leases
        polled += len(_ring(ctx))
        stop.wait(tick)
    return _report(ctx, polled, drained=False, started=started)


def _drain(ctx: service.Context, stop: threading.Event) -> service.RunReport:
    """Poll what is due here and now, let the worker deliver what is queued, return when idle.

    Polls run in this thread (no message to lose, nothing to wait for); deliveries go through
    the worker exactly as in a long-running `syndicate run`.
    """
    started = ctx.clock()
    due = service.collect_due(ctx, Trigger.SCHEDULE)
    dispatch.deliveries(due.delivery_ids, Trigger.SWEEPER, mark=False)
    for feed_id in due.feed_ids:
        _poll_here(ctx, feed_id)
    deadline = time.monotonic() + ONCE_DEADLINE
    while not stop.is_set() and time.monotonic() < deadline:
        if service.work_remaining(ctx, started) == 0:
            return _report(ctx, len(due.feed_ids), drained=True, started=started)
        _ring(ctx)  # re-rings deliveries whose doorbell is older than REDISPATCH_AFTER
        stop.wait(0.1)
    return _report(ctx, len(due.feed_ids), drained=False, started=started)


def _poll_here(ctx: service.Context, feed_id: int) -> None:
    try:
        outcome = service.poll_feed(ctx, feed_id, Trigger.SCHEDULE)
    except Exception:  # recorded as poll_crashed by the service; the other feeds still run
        log.exception("polling feed %s crashed", feed_id)
        return
    dispatch.deliveries(outcome.delivery_ids, Trigger.SCHEDULE)
