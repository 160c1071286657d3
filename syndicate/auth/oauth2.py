"""OAuth 2.0 authorization-code flows (requests-oauthlib): X with PKCE, LinkedIn, Mastodon.

The redirect comes back to the local listener, which checks `state`; the code is then traded
at the token endpoint with `code=` (not the callback URL, which oauthlib would refuse for
being plain http, although it never leaves this machine).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from syndicate.auth import endpoints
from syndicate.auth.common import HTTP_TIMEOUT, USER_AGENT, Obtained, SetupError, request
from syndicate.auth.flow import FlowContext, required
from syndicate.auth.listener import RedirectListener


@dataclass(frozen=True)
class CodeGrant:
    """One authorization-code grant: the app, where the person consents, where the code goes."""

    client_id: str
    authorize_url: str
    token_url: str
    scopes: Sequence[str] | str  # a string is sent as is (Meta separates scopes with commas)
    what: str  # names the token request in errors
    pkce: bool = False


def grant_token(
    ctx: FlowContext, grant: CodeGrant, listener: RedirectListener | None = None, **kw: Any
) -> dict[str, Any]:
    """Consent in the browser, then the code traded for a token (`kw`: client authentication)."""
    if listener is None:
        with ctx.listen() as own:
            session, code = authorize_code(ctx, own, grant)
    else:
        session, code = authorize_code(ctx, listener, grant)
    return fetch_token(ctx, session, grant.token_url, code, grant.what, **kw)


def authorize_code(
    ctx: FlowContext, listener: RedirectListener, grant: CodeGrant
) -> tuple[OAuth2Session, str]:
    """Send the person to the consent page; the session (holding the PKCE verifier) and the
    authorization code the redirect brought back."""
    scopes = grant.scopes if isinstance(grant.scopes, str) else list(grant.scopes)
    session = OAuth2Session(
        grant.client_id,
        redirect_uri=listener.redirect_uri,
        scope=scopes,
        pkce="S256" if grant.pkce else None,
    )
    session.headers["User-Agent"] = USER_AGENT
    url, state = session.authorization_url(grant.authorize_url)
    listener.expect(state=state)
    ctx.send_to_browser(url, listener.redirect_uri)
    code = listener.wait().params.get("code", "")
    if not code:
        raise SetupError("the redirect came back without an authorization code")
    ctx.redact.add(code)
    return session, code


def fetch_token(
    ctx: FlowContext, session: OAuth2Session, token_url: str, code: str, what: str, **kw: Any
) -> dict[str, Any]:
    try:
        token = dict(session.fetch_token(token_url, code=code, timeout=HTTP_TIMEOUT, **kw))
    except Warning as w:
        # oauthlib raises (not warns) when the granted scope differs from the one asked for,
        # which LinkedIn's comma-separated scopes always do; the token rides on the warning.
        token = dict(getattr(w, "token", {}))
    except OAuth2Error as e:
        reason = f"{e.error}: {e.description}" if e.description else str(e.error)
        raise SetupError(f"{what} refused: {ctx.redact(reason)}") from e
    except requests.RequestException as e:
        raise SetupError(f"{what} failed: {type(e).__name__}") from e
    except ValueError as e:  # an answer that is neither JSON nor a form
        raise SetupError(f"{what}: unreadable answer: {ctx.redact(str(e))}") from e
    ctx.redact.add(token.get("access_token"), token.get("refresh_token"))
    required(token, "access_token", what)
    return token


def bearer_get(ctx: FlowContext, url: str, what: str, token: str) -> dict[str, Any]:
    """A "who am I" call with the new token, which also proves the token works."""
    headers = {"Authorization": f"Bearer {token}"}
    return request(ctx.http, "GET", url, what, ctx.redact, headers=headers)


def missing_scopes(token: dict[str, Any], wanted: Sequence[str]) -> tuple[str, ...]:
    """Scopes asked for but not granted (platforms that let the person untick some)."""
    granted = token.get("scope")
    if not isinstance(granted, str | list) or not granted:
        return ()  # not reported: granted as asked (RFC 6749 §5.1)
    have = set(granted) if isinstance(granted, list) else set(re.split(r"[\s,]+", granted))
    return tuple(s for s in wanted if s not in have)


def scope_notes(token: dict[str, Any], wanted: Sequence[str]) -> tuple[str, ...]:
    missing = missing_scopes(token, wanted)
    if not missing:
        return ()
    return (f"not granted: {', '.join(missing)}; posting may be refused until it is",)


def x_oauth2(ctx: FlowContext) -> Obtained:
    site = endpoints.x(ctx.setup.value("base_url"))
    client_id = ctx.client_value("client_id", "X OAuth 2.0 client ID", secret=False)
    secret = ""
    if ctx.setup.mentions("client_secret"):
        secret = ctx.client_value("client_secret", "X OAuth 2.0 client secret", secret=True)
    grant = CodeGrant(
        client_id,
        f"{site.consent}/i/oauth2/authorize",
        f"{site.api}/2/oauth2/token",
        endpoints.X_SCOPES,
        "X token request",
        pkce=True,
    )
    # Confidential clients authenticate with HTTP Basic; public ones name themselves.
    if secret:
        token = grant_token(ctx, grant, auth=HTTPBasicAuth(client_id, secret))
    else:
        token = grant_token(ctx, grant, include_client_id=True)
    refresh = required(token, "refresh_token", "X token request (scope offline.access)")
    me = bearer_get(ctx, f"{site.api}/2/users/me", "X users/me", token["access_token"])
    username = required(me.get("data") or {}, "username", "X users/me")
    values = {"access_token": token["access_token"], "refresh_token": refresh}
    values["expires_at"] = ctx.expires_at(token)
    return Obtained(values, f"@{username} on X", scope_notes(token, endpoints.X_SCOPES))


def linkedin(ctx: FlowContext) -> Obtained:
    site = endpoints.linkedin(ctx.setup.value("base_url"))
    token_url = ctx.setup.value("token_url") or f"{site.consent}/oauth/v2/accessToken"
    client_id = ctx.client_value("client_id", "LinkedIn app client ID", secret=False)
    secret = ctx.client_value("client_secret", "LinkedIn app client secret", secret=True)
    author = ctx.setup.value("author")
    organization = author.startswith("urn:li:organization:")
    scopes = (
        endpoints.LINKEDIN_ORGANIZATION_SCOPES if organization else endpoints.LINKEDIN_MEMBER_SCOPES
    )
    authorize_url = token_url.rsplit("/", 1)[0] + "/authorization"
    grant = CodeGrant(client_id, authorize_url, token_url, scopes, "LinkedIn token request")
    token = grant_token(ctx, grant, client_secret=secret, include_client_id=True)
    values = {"access_token": token["access_token"], "expires_at": ctx.expires_at(token)}
    values["refresh_token"] = str(token.get("refresh_token") or "")  # approved partners only
    notes = list(scope_notes(token, scopes))
    if organization:
        return Obtained(values, f"{author} on LinkedIn", tuple(notes))
    info = bearer_get(ctx, f"{site.api}/v2/userinfo", "LinkedIn userinfo", token["access_token"])
    urn = f"urn:li:person:{required(info, 'sub', 'LinkedIn userinfo')}"
    if author != urn:
        notes.append(f'set author = "{urn}" in [accounts.{ctx.setup.account}]')
    return Obtained(values, f"{info.get('name') or urn} ({urn}) on LinkedIn", tuple(notes))


def mastodon(ctx: FlowContext) -> Obtained:
    site = endpoints.mastodon(ctx.setup.value("base_url"))
    scopes = " ".join(endpoints.MASTODON_SCOPES)
    with ctx.listen() as listener:
        client_id, secret = _register_app(ctx, site.api, listener.redirect_uri, scopes)
        grant = CodeGrant(
            client_id,
            f"{site.api}/oauth/authorize",
            f"{site.api}/oauth/token",
            scopes,
            "Mastodon token request",
            pkce=True,
        )
        token = grant_token(ctx, grant, listener, client_secret=secret, include_client_id=True)
    what = "Mastodon verify_credentials"
    me = bearer_get(
        ctx, f"{site.api}/api/v1/accounts/verify_credentials", what, token["access_token"]
    )
    who = f"@{required(me, 'acct', what)} on {site.api}"
    notes = scope_notes(token, endpoints.MASTODON_SCOPES)
    return Obtained({"access_token": token["access_token"]}, who, notes)


def _register_app(ctx: FlowContext, api: str, redirect_uri: str, scopes: str) -> tuple[str, str]:
    """POST /api/v1/apps: a client id and secret for this one sign-in (the publisher needs
    only the token, so they are not kept)."""
    form = {"client_name": "syndicate", "redirect_uris": redirect_uri, "scopes": scopes}
    what = "Mastodon app registration"
    app = request(ctx.http, "POST", f"{api}/api/v1/apps", what, ctx.redact, data=form)
    secret = required(app, "client_secret", what)
    ctx.redact.add(secret)
    return required(app, "client_id", what), secret
