"""Bluesky: an app password, checked with com.atproto.server.createSession before it is saved.

A bot never needs the account's real password, and must not hold it: an app password can be
revoked on its own and cannot change the account. So the person is told to make one, input
that does not look like one is refused before anything is sent, and a session the server
issued with full account scope (which only the real password gets) is refused too.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import requests

from syndicate.auth import endpoints
from syndicate.auth.common import HTTP_TIMEOUT, Obtained, SetupError, json_reply
from syndicate.auth.flow import FlowContext, required

APP_PASSWORDS_PAGE = "https://bsky.app/settings/app-passwords"
APP_PASSWORD = re.compile(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}")
FULL_ACCESS_SCOPE = "com.atproto.access"  # app-password sessions get com.atproto.appPass*

_ADVICE = (
    "Bluesky: use an app password, never the account's own password. Create one at "
    f"{APP_PASSWORDS_PAGE} (Settings > Privacy and security > App passwords); it looks like "
    "xxxx-xxxx-xxxx-xxxx."
)


def bluesky(ctx: FlowContext) -> Obtained:
    site = endpoints.bluesky(ctx.setup.value("base_url"))
    ctx.console.say(_ADVICE)
    handle = ctx.client_value("handle", "Bluesky handle (e.g. name.bsky.social)", secret=False)
    password = ctx.console.ask("App password", secret=True).strip().lower()
    ctx.redact.add(password)
    if not APP_PASSWORD.fullmatch(password):
        raise SetupError(
            "that is not an app password (four groups of four letters or digits joined by "
            f"dashes), so nothing was sent. Create one at {APP_PASSWORDS_PAGE}"
        )
    session = _create_session(ctx, site.api, handle, password)
    if _scope(session.get("accessJwt")) == FULL_ACCESS_SCOPE:
        raise SetupError(
            "Bluesky says that is the account's own password, not an app password; it was not "
            f"saved. Create an app password at {APP_PASSWORDS_PAGE} and run this again"
        )
    did = required(session, "did", "Bluesky createSession")
    who = f"@{session.get('handle') or handle} ({did}) on Bluesky"
    notes = (
        ()
        if ctx.setup.mentions("handle")
        else (f'set handle = "{handle}" in [accounts.{ctx.setup.account}]',)
    )
    return Obtained({"app_password": password}, who, notes)


def _create_session(ctx: FlowContext, api: str, handle: str, password: str) -> dict[str, Any]:
    url = f"{api}/xrpc/com.atproto.server.createSession"
    what = "Bluesky createSession"
    try:
        response = ctx.http.post(
            url, json={"identifier": handle, "password": password}, timeout=HTTP_TIMEOUT
        )
    except requests.RequestException as e:
        raise SetupError(f"{what} failed: {type(e).__name__}") from e
    if response.status_code == 401:
        raise SetupError(f"Bluesky refused handle {handle} with that app password")
    body = json_reply(response, what, ctx.redact)
    ctx.redact.add(body.get("accessJwt"), body.get("refreshJwt"))
    return body


def _scope(jwt: object) -> str:
    """The `scope` claim of a JWT, read without checking its signature: it only decides
    whether to refuse, never whether to trust."""
    if not isinstance(jwt, str) or jwt.count(".") != 2:
        return ""
    payload = jwt.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return ""
    scope = claims.get("scope") if isinstance(claims, dict) else None
    return scope if isinstance(scope, str) else ""
