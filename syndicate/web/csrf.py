"""CSRF tokens for every POST form: a random token kept in the signed session, echoed by the
form, compared in constant time. A Bearer request carries no cookie a third-party page could
borrow, so it needs none; the hub's callback is authenticated by its own HMAC signature.

SameSite=Lax on the session cookie is the second line: a cross-site form POST arrives without
the cookie at all.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Response, g, render_template, request, session

FIELD = "csrf_token"
EXEMPT_ENDPOINTS = frozenset({"system.websub_push"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token() -> str:
    """The session's token, made on first use (the login form is the first use)."""
    current = session.get("csrf")
    if not isinstance(current, str):
        current = session["csrf"] = secrets.token_urlsafe(32)
    return current


def check() -> Response | tuple[str, int] | None:
    """Before every request, after the access guard: refuse a state change without the token."""
    if request.method in _SAFE_METHODS or request.endpoint in EXEMPT_ENDPOINTS:
        return None
    if g.get("bearer"):
        return None
    expected = session.get("csrf")
    sent = request.form.get(FIELD, "")
    if isinstance(expected, str) and hmac.compare_digest(sent.encode(), expected.encode()):
        return None
    message = "This form has expired or did not come from this site. Reload the page and retry."
    return render_template("error.html", title="Form refused", message=message), 403
