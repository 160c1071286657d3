"""Fault injection shared by the platform fakes (DESIGN.md §9).

The API every platform fake offers on top of it: `fail_next(kind, ...)` scripts faults,
`set_random_faults(rates, *, seed, reset_in)` draws them at random, `violations` lists the
post-creating requests that came before a rate-limit reset the fake had announced, and
`faults_injected` counts the faults given, by kind. Kinds:

  status        an error status with an error body, nothing stored
  rate_limit    429 with a reset `reset_in` seconds ahead; the account is refused until then
  unauthorized  401, as for revoked credentials
  hang          processed and stored, then the answer waits `hang_seconds`
  drop          processed and stored, then the socket closes without an answer
  reset         the socket closes with a TCP RST, nothing processed

Nothing here locks: a fake calls it under its own lock.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from tests.fakes import _http

FaultKind = Literal["status", "rate_limit", "unauthorized", "hang", "drop", "reset"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
# Faults that stop the request before the platform would process it: nothing is stored.
REFUSING_FAULTS = frozenset({"status", "rate_limit", "unauthorized", "reset"})
Action = Literal["send", "hang", "drop", "reset"]


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 500
    reset_in: float = 60.0
    hang_seconds: float = 30.0


@dataclass
class Reply(_http.Reply):
    """An answer, and how to deliver it: `action` lets a fault misbehave at the socket level."""

    action: Action = "send"
    delay: float = 0.0


@dataclass(frozen=True)
class _Rates:
    by_kind: tuple[tuple[str, float], ...]  # sorted by kind: one seed, one sequence of faults
    rng: random.Random
    reset_in: tuple[float, float]


class FaultPlan:
    """Which fault, if any, the next post-creating request gets: scripted ones first (FIFO),
    else one drawn at the configured rates."""

    def __init__(self) -> None:
        self._scripted: deque[Fault] = deque()
        self._random: _Rates | None = None
        self._injected: Counter[str] = Counter()

    def script(
        self,
        kind: str,
        *,
        count: int = 1,
        status: int = 500,
        reset_in: float = 60.0,
        hang_seconds: float = 30.0,
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        self._scripted.extend([Fault(kind, status, reset_in, hang_seconds)] * count)

    def set_random(
        self, rates: Mapping[str, float], *, seed: int, reset_in: tuple[float, float]
    ) -> None:
        """`rates` are probabilities per request ({} turns random faults off)."""
        unknown = set(rates) - FAULT_KINDS
        if unknown:
            raise ValueError(
                f"unknown fault kinds {sorted(unknown)}; expected {sorted(FAULT_KINDS)}"
            )
        if any(not 0 <= r <= 1 for r in rates.values()) or sum(rates.values()) > 1:
            raise ValueError(f"bad rates {dict(rates)!r}: each >= 0, adding up to at most 1")
        low, high = reset_in
        if not 0 <= low <= high:
            raise ValueError(f"bad reset_in {reset_in!r}: expected 0 <= low <= high")
        ordered = tuple(sorted(rates.items()))
        self._random = _Rates(ordered, random.Random(seed), (low, high)) if rates else None

    def next(self) -> Fault | None:
        fault = self._scripted.popleft() if self._scripted else self._draw()
        if fault is not None:
            self._injected[fault.kind] += 1
        return fault

    def _draw(self) -> Fault | None:
        if self._random is None:
            return None
        draw, edge = self._random.rng.random(), 0.0
        for kind, rate in self._random.by_kind:
            edge += rate
            if draw < edge:
                return Fault(kind, reset_in=self._random.rng.uniform(*self._random.reset_in))
        return None

    @property
    def injected(self) -> dict[str, int]:
        return dict(self._injected)


class ResetWatch:
    """The rate-limit resets a fake announced, per account, and the post-creating requests
    that arrived before theirs: a client that honours the platform's reset never lands here."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._violations: list[str] = []

    def announce(self, account: str, until: float) -> None:
        self._until[account] = max(until, self._until.get(account, until))

    def early(self, account: str, now: float, what: str) -> float | None:
        """The reset `what` (arriving at `now`) came before, recorded as a violation; None when
        the account is free. `account` is a key, never shown: it may be a token."""
        until = self._until.get(account, 0.0)
        if now >= until:
            return None
        self._violations.append(f"{what} at {now:.3f}, {until - now:.3f}s before the reset")
        return until

    @property
    def violations(self) -> list[str]:
        return list(self._violations)


def answer(handler: _http.RequestHandler[Any], reply: Reply, stopping: threading.Event) -> None:
    """Deliver `reply` as its action says. A hang ends early when the fake stops."""
    if reply.action == "reset":
        # SO_LINGER 0 makes close() send RST instead of FIN; the fd really closes once
        # StreamRequestHandler.finish() releases rfile, before any orderly shutdown.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.close_connection = True
        return
    if reply.action == "drop":
        handler.close_connection = True  # the socket closes with no status line sent
        return
    if reply.action == "hang":
        stopping.wait(reply.delay)
    handler.send_reply(reply)  # a client that gave up during a hang just closes the connection
