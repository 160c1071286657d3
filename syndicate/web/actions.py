"""The buttons' one use case: re-sync a selection (one delivery, an entry, a feed) through
`service.operating`, ring for what it queued, and tell the person what happened."""

from __future__ import annotations

from syndicate.errors import ConfigError
from syndicate.model import Trigger
from syndicate.service import operating
from syndicate.service.operating import ResyncPlan, ResyncResult, Selection
from syndicate.web.state import ACTOR, current, tell


def resync(selection: Selection, what: str) -> bool:
    """Re-queue what failed, was held or is unknown in `selection` (never what was posted:
    that takes the CLI's --force). False when the selection named nothing known."""
    state = current()
    try:
        plan = operating.plan_resync(state.ctx, selection, force=False)
    except ConfigError as e:
        tell(str(e), error=True)
        return False
    result = operating.apply_resync(state.ctx, plan, actor=ACTOR, trigger=Trigger.WEB)
    note = state.doorbells.deliveries(result.ring, Trigger.WEB)
    tell(f"Re-sync of {what}: {summary(plan, result)}.", note=note, error=bool(result.errors))
    return True


def summary(plan: ResyncPlan, result: ResyncResult) -> str:
    """Pure: one sentence a person can act on, e.g. "1 re-queued; 2 posted already"."""
    parts = []
    sending = result.queued
    if sending:
        parts.append(f"{sending} queued to send")
    if result.reconciling:
        parts.append(f"{result.reconciling} unknown: the platform is asked first")
    if plan.posted:
        parts.append(f"{len(plan.posted)} posted already (left alone)")
    if plan.queued:
        parts.append(f"{len(plan.queued)} queued already")
    if plan.paused:
        parts.append(f"{len(plan.paused)} held for a paused account: resume it")
    if result.changed:
        parts.append(f"{result.changed} changed meanwhile (left alone)")
    parts.extend(result.errors)
    return "; ".join(parts) or "nothing to re-send"
