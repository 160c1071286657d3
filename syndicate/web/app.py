"""The Flask app factory: configuration, security headers, and the pages' blueprints."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from syndicate import service
from syndicate.web import auth, csrf, format
from syndicate.web.doorbell import Doorbells, Ring
from syndicate.web.state import WebState
from syndicate.web.views import accounts, deliveries, entries, feeds, system

# No script at all, inline or not: a title that slips past escaping still cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class _Sessions(SecureCookieSessionInterface):
    """Mark the cookie Secure when the request came over HTTPS (directly or via a proxy), so
    the same install works on http://127.0.0.1 and behind https://syndicate.example."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def create_app(
    ctx: service.Context,
    *,
    ring_deliveries: Ring | None = None,
    ring_polls: Ring | None = None,
) -> Flask:
    """The app over `ctx`. The rings replace the Celery doorbells (tests do the work in the
    request with them); by default work is enqueued through tasks.dispatch."""
    app = Flask("syndicate.web")
    password = ctx.settings.web.password
    app.config.update(
        # A pushed feed is held to the same size cap as a fetched one.
        MAX_CONTENT_LENGTH=ctx.settings.max_feed_bytes,
        SECRET_KEY=auth.session_key(password.reveal(), ctx.settings.data_dir),
        SESSION_COOKIE_NAME="syndicate_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=auth.SESSION_LIFETIME,
        SYNDICATE_PASSWORD=password,
        SYNDICATE_THROTTLE=auth.LoginThrottle(clock=ctx.clock),
    )
    app.session_interface = _Sessions()
    # Behind a TLS-terminating proxy, trust its X-Forwarded-Proto (only that) for is_secure.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=1, x_host=0)  # type: ignore[method-assign]
    app.extensions["syndicate"] = WebState(ctx, Doorbells(ring_deliveries, ring_polls))
    format.install(app)
    app.jinja_env.globals["csrf_token"] = csrf.token
    app.jinja_env.globals["csrf_field"] = csrf.FIELD
    app.jinja_env.globals["password_set"] = lambda: bool(password.reveal())
    app.before_request(auth.guard)
    app.before_request(csrf.check)
    app.after_request(_secure_headers)
    app.register_error_handler(HTTPException, _http_error)
    for blueprint in (system.bp, auth.bp, feeds.bp, deliveries.bp, entries.bp, accounts.bp):
        app.register_blueprint(blueprint)
    return app


def _secure_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint not in auth.PUBLIC_ENDPOINTS:
        response.headers.setdefault("Cache-Control", "no-store")  # ledger pages are private
    return response


def _http_error(error: HTTPException) -> Response | tuple[str, int]:
    if request.path.startswith(("/websub/", "/healthz", "/metrics")):
        return error.get_response()  # type: ignore[return-value]
    status = error.code or 500
    return render_template("error.html", title=error.name, message=error.description), status
