"""Per-process state of the Celery edge: the settings it runs with and the service context."""

from __future__ import annotations

import os
import threading

from syndicate import service
from syndicate import settings as settings_mod


class _Runtime:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.settings: settings_mod.Settings | None = None
        self.context: service.Context | None = None
        self.context_pid: int | None = None
        self.embedded_worker_running = threading.Event()
        # Only `syndicate run` may use the in-process broker: anywhere else (a `celery
        # worker` with no broker_url) it would quietly consume nothing.
        self.embedded_broker_allowed = threading.Event()


_state = _Runtime()
embedded_worker_running = _state.embedded_worker_running
embedded_broker_allowed = _state.embedded_broker_allowed


def bind(settings: settings_mod.Settings) -> None:
    """Use these settings in this process (the CLI calls this before touching the app)."""
    with _state.lock:
        if _state.context is not None:
            _state.context.store.dispose()
        _state.settings, _state.context = settings, None


def settings() -> settings_mod.Settings:
    """The bound settings, else those named by SYNDICATE_CONFIG (a `celery worker` process)."""
    with _state.lock:
        if _state.settings is None:
            _state.settings = settings_mod.load()
        return _state.settings


def context(*, sync: bool = True) -> service.Context:
    """The service context, opened once per process (after fork: engines are not shared).
    `sync` brings the ledger's feeds and accounts in line with the config when it opens."""
    current = settings()
    with _state.lock:
        if _state.context is None or _state.context_pid != os.getpid():
            _state.context = service.open_context(current, sync=sync)
            _state.context_pid = os.getpid()
        return _state.context
