"""The Celery app, configured lazily from syndicate's settings.

`celery -A tasks.app worker` reads the config named by SYNDICATE_CONFIG; `syndicate run`
binds its settings first and runs a worker in-process.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init

from syndicate import service
from syndicate.errors import BrokerError, ConfigError, StoreError
from syndicate.settings import Settings
from tasks import runtime

TASK_TIME_LIMIT = 300  # hard kill; every HTTP call has its own shorter timeout
QUEUE = "syndicate"
# The ledger (or the broker) unreachable for a moment: retry the task a few times with a
# short backoff; nothing was recorded as done. Past that the sweeper finds the work again.
LEDGER_RETRY: dict[str, Any] = {
    "autoretry_for": (StoreError, BrokerError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


def time_limit(settings: Settings) -> int:
    """The hard limit of one task: at most TASK_TIME_LIMIT, well inside the send lease."""
    return max(2, min(TASK_TIME_LIMIT, int(settings.send_lease * 0.8)))


def celery_config(settings: Settings) -> dict[str, Any]:
    if settings.embedded_broker and not runtime.embedded_broker_allowed.is_set():
        raise ConfigError(
            f"{settings.source}: syndicate.broker_url is empty: separate Celery workers need a "
            "broker (e.g. redis://127.0.0.1:6379/0); `syndicate run` works without one"
        )
    config: dict[str, Any] = {
        "broker_url": settings.broker_url or "memory://localhost/",
        # JSON only: a message is an id, never a pickled object.
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,  # the ledger holds every outcome
        "task_default_queue": QUEUE,
        # Ack after the task ran: a worker killed mid-task leaves its message unacked, so
        # the broker re-delivers it and the ledger's claim makes the re-run a no-op.
        "task_acks_late": True,
        # Reserve one message at a time: a killed worker strands at most one doorbell, and
        # a slow send does not hold other accounts' doorbells hostage in its prefetch.
        "worker_prefetch_multiplier": 1,
        # A pool child that died (OOM, kill -9) rejects-and-requeues its message instead of
        # acking it as failed. (Celery has no separate "retry on worker lost" switch; the
        # ledger's lease expiry and reconcile cover what the requeue cannot.)
        "task_reject_on_worker_lost": True,
        # Killed before its send lease runs out: the sweeper may then call the outcome
        # unknown and reconcile without racing a send that is still running.
        "task_time_limit": time_limit(settings),
        "task_soft_time_limit": max(1, int(time_limit(settings) * 0.75)),
        # A worker that starts before Redis, or loses it, keeps trying instead of exiting.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # Known to lose tasks on a Redis restart in 5.7.0 (reference/celery.md §4.3).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
        "timezone": "UTC",
        "beat_schedule": {
            "syndicate.sweep": {"task": "syndicate.sweep", "schedule": settings.sweep_interval},
        },
    }
    if settings.embedded_broker:
        config["broker_transport_options"] = {"polling_interval": 0.1}
    else:
        # Longer than the hard time limit, so a running task is never handed out twice.
        config["broker_transport_options"] = {
            "visibility_timeout": 1800,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
        }
    return config


app = Celery(
    "syndicate", set_as_current=False, include=["tasks.poll", "tasks.deliver", "tasks.sweep"]
)
app.add_defaults(lambda: celery_config(runtime.settings()))


@worker_init.connect
def _warm_up(**_: Any) -> None:
    """Before the pool forks: imports and compiled patterns are then shared by every child."""
    service.warm_up(runtime.settings())


@worker_process_init.connect
def _open_ledger(**_: Any) -> None:
    """Each pool child opens its own ledger connection before its first task arrives."""
    try:
        runtime.context()
    except StoreError as e:  # the first task retries and says so; the child lives on
        logging.getLogger("syndicate.tasks").warning("ledger not reachable yet: %s", e)
