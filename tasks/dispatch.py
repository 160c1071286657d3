"""The CLI's and the web app's door into the Celery edge: enqueue work, open the context the
workers use, run the scheduler and worker. The only module of `tasks` they import.

Messages are doorbells: the ledger already holds the work. With the embedded broker and no
worker in this process a message would vanish, so nothing is sent and the caller is told;
`syndicate run` finds the work in the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from kombu.connection import Connection
from kombu.exceptions import OperationalError

from syndicate import service
from syndicate.errors import BrokerError
from syndicate.model import Trigger
from syndicate.settings import Settings
from tasks import runtime
from tasks.app import app


def open_context(settings: Settings, *, sync: bool = True) -> service.Context:
    """Bind `settings` in this process and open the service context the tasks use; read-only
    commands pass sync=False so an old config never rewrites the ledger's feeds."""
    runtime.bind(settings)
    return runtime.context(sync=sync)


def run(settings: Settings, *, once: bool) -> service.RunReport:
    from tasks import runner  # imports the Celery worker machinery only when needed

    return runner.run(settings, once=once)


def broker_available() -> bool:
    return not runtime.settings().embedded_broker or runtime.embedded_worker_running.is_set()


def broker_problem(settings: Settings, timeout: float = 5.0) -> str | None:
    """`syndicate config check`: None when the broker at `broker_url` answers, else why."""
    where = urlsplit(settings.broker_url)
    try:
        # kombu ships no type hints for Connection
        with Connection(settings.broker_url, connect_timeout=timeout) as connection:  # type: ignore[no-untyped-call]
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except (OperationalError, OSError) as e:
        return f"broker {where.scheme}://{where.hostname}:{where.port}: {type(e).__name__}: {e}"
    return None


def polls(feed_ids: Sequence[int], trigger: Trigger) -> bool:
    if not broker_available():
        return False
    for feed_id in feed_ids:
        _send("syndicate.poll_feed", feed_id, trigger)
    return True


def deliveries(
    delivery_ids: Sequence[int], trigger: Trigger, *, mark: bool = True, countdown: float = 0.0
) -> bool:
    """Ring for the deliveries: one doorbell per account, for its oldest (a send goes on to
    the account's next), after `countdown` seconds (kept short: long waits live in the
    ledger); `mark` stamps enqueued_at on all of them (the sweeper stamps its own)."""
    if not delivery_ids:
        return True
    if not broker_available():
        return False
    for delivery_id in service.doorbells_for(runtime.context(), tuple(delivery_ids)):
        _send("syndicate.deliver", delivery_id, trigger, countdown=countdown)
    if mark:
        service.mark_enqueued(runtime.context(), tuple(delivery_ids))
    return True


def _send(task: str, object_id: int, trigger: Trigger, *, countdown: float = 0.0) -> None:
    try:
        app.send_task(task, args=[object_id, trigger.value], countdown=countdown or None)
    except (OperationalError, OSError) as e:
        # The work is safe in the ledger; the sweeper rings again once the broker is back.
        where = urlsplit(runtime.settings().broker_url)
        raise BrokerError(
            f"cannot reach the broker at {where.scheme}://{where.hostname}:{where.port}: "
            f"{type(e).__name__}; the work waits in the ledger"
        ) from e
