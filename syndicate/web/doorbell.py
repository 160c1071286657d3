"""Ringing the workers after the ledger has changed: Celery messages through tasks.dispatch by
default; tests pass callables that do the work in the request instead.

The work is in the ledger before any bell rings, so a broker that is down only delays it: the
sweeper (or `syndicate run`) finds it there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from syndicate.errors import BrokerError
from syndicate.model import Trigger
from tasks import dispatch

log = logging.getLogger("syndicate.web")

# A replacement bell: called with the ids; False means "nobody heard it" (no broker).
Ring = Callable[[Sequence[int]], object]

WAITING = "no worker is listening: it waits in the ledger for `syndicate run`"


@dataclass(frozen=True)
class Doorbells:
    deliveries_ring: Ring | None = None
    polls_ring: Ring | None = None

    def deliveries(self, ids: Sequence[int], trigger: Trigger) -> str | None:
        """Ring for deliveries; a note for the person when nobody heard it."""
        ring = self.deliveries_ring or (lambda ids: dispatch.deliveries(ids, trigger))
        return _ring(ring, ids)

    def polls(self, ids: Sequence[int], trigger: Trigger) -> str | None:
        ring = self.polls_ring or (lambda ids: dispatch.polls(ids, trigger))
        return _ring(ring, ids)


def _ring(ring: Ring, ids: Sequence[int]) -> str | None:
    if not ids:
        return None
    try:
        if ring(ids) is False:
            log.info("no broker: %d item(s) wait in the ledger for `syndicate run`", len(ids))
            return WAITING
    except BrokerError as e:
        log.warning("%s", e)
        return str(e)
    return None
