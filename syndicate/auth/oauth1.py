"""OAuth 1.0a flows (requests-oauthlib OAuth1Session): X's PIN flow and Tumblr's callback flow.

X shows the person a PIN after consent (`oauth_callback=oob`), so nothing needs to listen.
Tumblr redirects to the local listener, which accepts only the request token this run asked
for (OAuth 1.0a's answer to `state`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from requests_oauthlib import OAuth1Session

from syndicate.auth import endpoints
from syndicate.auth.common import HTTP_TIMEOUT, USER_AGENT, Obtained, SetupError, request
from syndicate.auth.flow import FlowContext, required


def _session(ctx: FlowContext, key: str, secret: str, callback: str) -> OAuth1Session:
    session = OAuth1Session(key, client_secret=secret, callback_uri=callback)
    session.headers["User-Agent"] = USER_AGENT
    return session


def _token_call(
    ctx: FlowContext, call: Callable[..., Any], url: str, what: str, **kw: Any
) -> dict[str, str]:
    """fetch_request_token / fetch_access_token, failing with a SetupError without secrets
    (requests-oauthlib puts the whole answer in its exception)."""
    try:
        token = dict(call(url, timeout=HTTP_TIMEOUT, **kw))
    except requests.RequestException as e:
        raise SetupError(f"{what} failed: {type(e).__name__}") from e
    except ValueError as e:  # TokenRequestDenied, TokenMissing, an unreadable answer
        status = getattr(getattr(e, "response", None), "status_code", None)
        prefix = f"HTTP {status}: " if status else ""
        raise SetupError(f"{what} refused: {prefix}{ctx.redact(str(e))}") from e
    ctx.redact.add(token.get("oauth_token"), token.get("oauth_token_secret"))
    required(token, "oauth_token", what)
    required(token, "oauth_token_secret", what)
    return token


def _consumer(ctx: FlowContext, platform: str) -> tuple[str, str]:
    key = ctx.client_value("consumer_key", f"{platform} consumer key (API key)", secret=True)
    secret = ctx.client_value("consumer_secret", f"{platform} consumer secret", secret=True)
    return key, secret


def x_oauth1(ctx: FlowContext) -> Obtained:
    site = endpoints.x(ctx.setup.value("base_url"))
    key, secret = _consumer(ctx, "X")
    session = _session(ctx, key, secret, "oob")
    _token_call(
        ctx, session.fetch_request_token, f"{site.api}/oauth/request_token", "X request token"
    )
    ctx.send_to_browser(session.authorization_url(f"{site.api}/oauth/authorize"), None)
    pin = ctx.console.ask("X shows a PIN after you approve; enter it here").strip()
    if not pin:
        raise SetupError("no PIN given")
    ctx.redact.add(pin)
    token = _token_call(
        ctx,
        session.fetch_access_token,
        f"{site.api}/oauth/access_token",
        "X access token",
        verifier=pin,
    )
    values = {
        "access_token": token["oauth_token"],
        "access_token_secret": token["oauth_token_secret"],
    }
    return Obtained(values, f"@{token.get('screen_name') or token.get('user_id')} on X")


def tumblr(ctx: FlowContext) -> Obtained:
    site = endpoints.tumblr(ctx.setup.value("base_url"))
    key, secret = _consumer(ctx, "Tumblr")
    with ctx.listen() as listener:
        session = _session(ctx, key, secret, listener.redirect_uri)
        ask = _token_call(
            ctx,
            session.fetch_request_token,
            f"{site.consent}/oauth/request_token",
            "Tumblr request token",
        )
        listener.expect(oauth_token=ask["oauth_token"])
        ctx.send_to_browser(
            session.authorization_url(f"{site.consent}/oauth/authorize"), listener.redirect_uri
        )
        verifier = listener.wait().params.get("oauth_verifier", "")
    if not verifier:
        raise SetupError("the redirect came back without an oauth_verifier")
    token = _token_call(
        ctx,
        session.fetch_access_token,
        f"{site.consent}/oauth/access_token",
        "Tumblr access token",
        verifier=verifier,
    )
    info = request(session, "GET", f"{site.api}/v2/user/info", "Tumblr user/info", ctx.redact)
    user = (info.get("response") or {}).get("user") or {}
    values = {
        "oauth_token": token["oauth_token"],
        "oauth_token_secret": token["oauth_token_secret"],
    }
    return Obtained(values, f"{user.get('name') or 'the user'} on Tumblr")
