"""The web app (`syndicate web`): the WebSub callback and a health check, for now.

A Flask app over `service`; it reaches the Celery edge only through `tasks.dispatch`.
"""

from __future__ import annotations

from syndicate.web.app import create_app, serve

__all__ = ["create_app", "serve"]
