"""Validation of task arguments: a poisoned message is logged and dropped, never fatal."""

from __future__ import annotations

import logging

from syndicate.model import Trigger

log = logging.getLogger("syndicate.tasks")


def message_id(task: str, raw_id: object, raw_trigger: object) -> tuple[int, Trigger] | None:
    try:
        if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
            raise TypeError(f"id is a {type(raw_id).__name__}")
        if not isinstance(raw_trigger, str):
            raise TypeError(f"trigger is a {type(raw_trigger).__name__}")
        return int(raw_id), Trigger(raw_trigger)
    except (TypeError, ValueError) as e:
        log.error(
            "%s: dropped a message with bad arguments %r, %r (%s)", task, raw_id, raw_trigger, e
        )
        return None
