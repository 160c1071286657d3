"""Meta's code flows: a Facebook Page token and a long-lived Threads token.

Both start with an OAuth 2.0 authorization code for a short-lived user token, then trade it
on the Graph API: Facebook for a long-lived user token and the Page token it lists (which does
not expire); Threads for a 60-day token the publisher refreshes on its own.
"""

from __future__ import annotations

import hmac
from typing import Any

from syndicate.auth import endpoints
from syndicate.auth.common import Obtained, SetupError, request
from syndicate.auth.flow import FlowContext, required
from syndicate.auth.oauth2 import CodeGrant, grant_token, scope_notes

FACEBOOK_VERSION = "v25.0"
THREADS_VERSION = "v1.0"


def _app_credentials(ctx: FlowContext, platform: str) -> tuple[str, str]:
    # Facebook's config has app_secret (for appsecret_proof); neither names the app id.
    app_id = ctx.client_value("app_id", f"{platform} app ID", secret=False)
    secret = ctx.client_value("app_secret", f"{platform} app secret", secret=True)
    return app_id, secret


def facebook(ctx: FlowContext) -> Obtained:
    site = endpoints.facebook(ctx.setup.value("base_url"))
    version = ctx.setup.value("api_version") or FACEBOOK_VERSION
    app_id, secret = _app_credentials(ctx, "Facebook")
    token_url = f"{site.api}/{version}/oauth/access_token"
    grant = CodeGrant(
        app_id,
        f"{site.consent}/{version}/dialog/oauth",
        token_url,
        ",".join(endpoints.FACEBOOK_SCOPES),
        "Facebook token request",
    )
    short = grant_token(ctx, grant, client_secret=secret, include_client_id=True)
    exchange = {"grant_type": "fb_exchange_token", "client_id": app_id, "client_secret": secret}
    exchange["fb_exchange_token"] = short["access_token"]
    user_token = _graph_token(ctx, token_url, "Facebook long-lived token", exchange)["access_token"]
    listing = {"fields": "id,name,access_token", "access_token": user_token, "limit": "100"}
    # Apps set to "Require App Secret" refuse user-token calls without it; others ignore it.
    listing["appsecret_proof"] = hmac.new(
        secret.encode(), user_token.encode(), "sha256"
    ).hexdigest()
    what = "Facebook Pages list"
    pages = request(
        ctx.http, "GET", f"{site.api}/{version}/me/accounts", what, ctx.redact, params=listing
    )
    page = _choose_page(ctx, pages.get("data") or [])
    page_token = required(page, "access_token", what)
    ctx.redact.add(page_token)
    notes = list(scope_notes(short, endpoints.FACEBOOK_SCOPES))
    if ctx.setup.value("page_id") != page["id"]:
        notes.append(f'set page_id = "{page["id"]}" in [accounts.{ctx.setup.account}]')
    return Obtained(
        {"page_access_token": page_token}, f"{page.get('name')} on Facebook", tuple(notes)
    )


def _graph_token(ctx: FlowContext, url: str, what: str, params: dict[str, str]) -> dict[str, Any]:
    """A Graph token exchange (GET, secrets in the query: hence the quiet urllib3 log)."""
    answer = request(ctx.http, "GET", url, what, ctx.redact, params=params)
    ctx.redact.add(required(answer, "access_token", what))
    return answer


def _choose_page(ctx: FlowContext, pages: list[Any]) -> dict[str, Any]:
    """The configured page_id's entry; without one, the person picks from the list."""
    listed = [p for p in pages if isinstance(p, dict) and isinstance(p.get("id"), str)]
    if not listed:
        raise SetupError("Facebook lists no Page this login manages (was a Page ticked?)")
    wanted = ctx.setup.value("page_id")
    if wanted:
        for page in listed:
            if page["id"] == wanted:
                return page
        names = ", ".join(f"{p.get('name')} ({p['id']})" for p in listed)
        raise SetupError(f"page_id {wanted} is not among the Pages this login manages: {names}")
    for number, page in enumerate(listed, start=1):
        ctx.console.say(f"  {number}. {page.get('name')} ({page['id']})")
    answer = ctx.console.ask("Which Page (number)?").strip()
    if not answer.isdecimal() or not 1 <= int(answer) <= len(listed):
        raise SetupError(f"expected a number from 1 to {len(listed)}")
    return listed[int(answer) - 1]


def threads(ctx: FlowContext) -> Obtained:
    site = endpoints.threads(ctx.setup.value("base_url"))
    version = ctx.setup.value("api_version") or THREADS_VERSION
    app_id, secret = _app_credentials(ctx, "Threads")
    grant = CodeGrant(
        app_id,
        f"{site.consent}/oauth/authorize",
        f"{site.api}/oauth/access_token",
        ",".join(endpoints.THREADS_SCOPES),
        "Threads token request",
    )
    short = grant_token(ctx, grant, client_secret=secret, include_client_id=True)
    exchange = {"grant_type": "th_exchange_token", "client_secret": secret}
    exchange["access_token"] = short["access_token"]
    what = "Threads long-lived token"
    long_lived = _graph_token(ctx, f"{site.api}/access_token", what, exchange)
    token = long_lived["access_token"]
    me_query = {"fields": "id,username", "access_token": token}
    me = request(
        ctx.http, "GET", f"{site.api}/{version}/me", "Threads me", ctx.redact, params=me_query
    )
    user_id = required(me, "id", "Threads me")
    notes = list(scope_notes(short, endpoints.THREADS_SCOPES))
    if ctx.setup.value("user_id") != user_id:
        notes.append(f'set user_id = "{user_id}" in [accounts.{ctx.setup.account}]')
    values = {"access_token": token, "expires_at": ctx.expires_at(long_lived)}
    return Obtained(values, f"@{me.get('username')} on Threads", tuple(notes))
