"""The web app (`syndicate web`): feeds, deliveries, entry timelines and accounts for people;
the WebSub callback, /healthz and /metrics for machines.

A Flask app over `service` and the store's read queries; it reaches the Celery edge only
through `tasks.dispatch`. `serve` runs it with waitress; `make_server` gives a server that
`syndicate run --web` can run in a thread beside the worker and `close()` on the way out.
"""

from __future__ import annotations

from syndicate.web.app import create_app
from syndicate.web.auth import api_token
from syndicate.web.server import WebServer, make_server, serve

__all__ = ["WebServer", "api_token", "create_app", "make_server", "serve"]
