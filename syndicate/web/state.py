"""What every view needs: the service context and the doorbells, kept on the Flask app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, flash

from syndicate import service
from syndicate.web.doorbell import Doorbells

ACTOR = "web"  # the actor recorded on every event a web action writes


@dataclass(frozen=True)
class WebState:
    ctx: service.Context
    doorbells: Doorbells


def current() -> WebState:
    state: WebState = current_app.extensions["syndicate"]
    return state


def ctx() -> service.Context:
    return current().ctx


def tell(message: str, *, note: str | None = None, error: bool = False) -> None:
    """A message for the next page; `note` (e.g. "no worker is listening") is added to it."""
    flash(f"{message} ({note})" if note else message, "error" if error else "info")
