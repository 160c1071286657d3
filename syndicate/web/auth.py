"""Who may use the app: the [web] password, typed into a login form that sets a signed session
cookie, or a Bearer token derived from it for scripts and Prometheus.

The token is HMAC-SHA256 of a fixed label keyed with the password, so it can be computed
without asking the app:
    printf '%s' 'syndicate web api token' | openssl dgst -sha256 -hmac "$SYNDICATE_WEB_PASSWORD"
The session cookie is signed with a key derived from the password and a random salt kept in
data_dir: never the password itself, and a new password signs every browser out.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import os
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session
from flask import url_for as flask_url_for
from flask.typing import ResponseReturnValue

from syndicate.errors import ConfigError
from syndicate.settings import WebConfig

TOKEN_LABEL = b"syndicate web api token"
SALT_FILE = "web-session.salt"
SESSION_LIFETIME = timedelta(days=14)
# Pages anyone may fetch: the health check, the hub's callback, the login form, the CSS.
PUBLIC_ENDPOINTS = frozenset(
    {"system.healthz", "system.websub_verify", "system.websub_push", "auth.login", "static"}
)

bp = Blueprint("auth", __name__)


def api_token(password: str) -> str:
    return hmac.new(password.encode(), TOKEN_LABEL, hashlib.sha256).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant time: hashing first hides the length as well as the content."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


def session_key(password: str, data_dir: Path) -> bytes:
    return hmac.new(install_salt(data_dir), password.encode(), hashlib.sha256).digest()


def install_salt(data_dir: Path) -> bytes:
    """The per-install random salt, created once. Written beside and hard-linked into place,
    so two processes starting together agree on one salt and none reads a half-written file."""
    path = data_dir / SALT_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{SALT_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        with contextlib.suppress(FileExistsError):  # another process won: use its salt
            os.link(draft, path)
        draft.unlink()
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as e:
        message = f"{path}: unreadable session salt ({e}); delete it to make a new one"
        raise ConfigError(message) from e


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(web: WebConfig, host: str | None = None) -> None:
    """Refuse, at start-up, to serve the ledger to the network without a password."""
    host = web.host_port[0] if host is None else host
    if not web.password.reveal() and not is_loopback(host):
        raise ConfigError(
            f"[web].bind host {host!r} is reachable from other machines, and [web].password is "
            'empty: set password = "${SYNDICATE_WEB_PASSWORD}" (or password_file), or bind '
            "127.0.0.1"
        )


@dataclass
class LoginThrottle:
    """At most `limit` failed logins per client address in `window`: guessing stays slow."""

    clock: Callable[[], datetime]
    limit: int = 10
    window: timedelta = timedelta(minutes=15)
    failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def blocked(self, client: str) -> bool:
        recent = self.failures.get(client)
        if recent is None:
            return False
        cutoff = self.clock() - self.window
        while recent and recent[0] < cutoff:
            recent.popleft()
        if not recent:
            del self.failures[client]
        return len(recent) >= self.limit

    def failed(self, client: str) -> None:
        self.failures.setdefault(client, deque()).append(self.clock())


def password() -> str:
    return str(current_app.config["SYNDICATE_PASSWORD"].reveal())


def guard() -> ResponseReturnValue | None:
    """Before every request: let it through, or send it to the login form (401 for scripts)."""
    g.bearer = False
    if request.endpoint in PUBLIC_ENDPOINTS or not password():
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        if same_secret(token.strip(), api_token(password())):
            g.bearer = True  # a script: no cookie, so no CSRF to fear
            return None
        return _unauthorized()
    if session.get("auth") is True:
        return None
    if request.method != "GET" or request.endpoint == "system.metrics":
        return _unauthorized()
    return redirect(flask_url_for("auth.login", next=request.full_path.rstrip("?")))


def _unauthorized() -> Response:
    return Response(
        "log in, or send Authorization: Bearer <token>\n",
        status=401,
        mimetype="text/plain",
        headers={"WWW-Authenticate": 'Bearer realm="syndicate"'},
    )


def safe_next(target: str | None) -> str:
    """Only a path on this site: `//evil.example` or `https://…` would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return flask_url_for("feeds.index")
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else flask_url_for("feeds.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = safe_next(request.values.get("next"))
    if not password():
        return redirect(target)
    if request.method == "GET":
        return render_template("login.html", next=target, error=None)
    throttle: LoginThrottle = current_app.config["SYNDICATE_THROTTLE"]
    client = request.remote_addr or "?"
    if throttle.blocked(client):
        return render_template("login.html", next=target, error="Too many tries; wait."), 429
    if not same_secret(request.form.get("password", ""), password()):
        throttle.failed(client)
        return render_template("login.html", next=target, error="Wrong password."), 401
    session.clear()  # a fresh session (and CSRF token) for the signed-in user
    session["auth"] = True
    session.permanent = True
    return redirect(target, code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(flask_url_for("auth.login"), code=303)
