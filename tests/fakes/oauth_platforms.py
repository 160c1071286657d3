"""The platform endpoints around the fake authorization server's OAuth protocol (tests/fakes/
oauth.py): each platform's "who am I", Mastodon's app registration, the Graph API's token
exchanges and Page list (Facebook, Threads), and Bluesky's createSession, which tells an app
password (scope com.atproto.appPass) from the account password (com.atproto.access)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from tests.fakes._http import Reply


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class Identities:
    """Who signs in on each platform."""

    x_username: str = "writer"
    x_user_id: str = "1445880548472328192"
    linkedin_sub: str = "abc123XYZ"
    linkedin_name: str = "Ada Writer"
    mastodon_acct: str = "writer"
    tumblr_name: str = "writerblog"
    threads_id: str = "17841400000000001"
    threads_username: str = "writer"
    pages: list[tuple[str, str]] = field(default_factory=lambda: [("1234567890", "Ada's Blog")])


class Server(Protocol):
    """What these endpoints need from the server's state."""

    ids: Identities

    def clock(self) -> float: ...

    def bearer_is(self, req: Request, kind: str) -> bool: ...

    def mint(self, kind: str) -> str: ...

    def token_kind(self, token: str) -> str | None: ...

    def client_secret(self, client_id: str) -> str | None: ...

    def new_app(
        self, redirect_uris: tuple[str, ...], scopes: tuple[str, ...]
    ) -> tuple[str, str]: ...

    def bluesky_account(self, handle: str) -> tuple[str, str, str] | None: ...

    def oauth1_access_ok(self, req: Request) -> bool: ...


def json_reply(status: int, body: Any) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


def jwt(claims: dict[str, Any]) -> str:
    """JWT-shaped (atproto clients decode the payload; nothing checks the signature)."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


# ------------------------------------------------------------------ who am I


def x_me(server: Server, req: Request) -> Reply:
    if not server.bearer_is(req, "x"):
        return json_reply(401, {"title": "Unauthorized", "status": 401, "type": "about:blank"})
    user = {"id": server.ids.x_user_id, "name": "Ada", "username": server.ids.x_username}
    return json_reply(200, {"data": user})


def linkedin_userinfo(server: Server, req: Request) -> Reply:
    if not server.bearer_is(req, "linkedin"):
        error = {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN"}
        return json_reply(401, error)
    return json_reply(200, {"sub": server.ids.linkedin_sub, "name": server.ids.linkedin_name})


def mastodon_me(server: Server, req: Request) -> Reply:
    if not server.bearer_is(req, "mastodon"):
        return json_reply(401, {"error": "The access token is invalid"})
    acct = server.ids.mastodon_acct
    return json_reply(200, {"id": "1", "username": acct, "acct": acct})


def tumblr_info(server: Server, req: Request) -> Reply:
    if not server.oauth1_access_ok(req):
        return json_reply(401, {"meta": {"status": 401, "msg": "Unauthorized"}, "response": []})
    user = {"name": server.ids.tumblr_name, "blogs": [{"name": server.ids.tumblr_name}]}
    return json_reply(200, {"meta": {"status": 200, "msg": "OK"}, "response": {"user": user}})


# ------------------------------------------------------------------ Mastodon


def register_app(server: Server, req: Request) -> Reply:
    form = req.form()
    if not form.get("client_name") or not form.get("redirect_uris"):
        return json_reply(422, {"error": "Validation failed: Name can't be blank"})
    uris, scopes = tuple(form["redirect_uris"].split()), tuple(form.get("scopes", "read").split())
    client_id, secret = server.new_app(uris, scopes)
    app = {"id": client_id[:6], "name": form["client_name"], "redirect_uri": form["redirect_uris"]}
    return json_reply(200, app | {"client_id": client_id, "client_secret": secret})


# ---------------------------------------------------------------- Graph (Meta)


def graph_error(message: str) -> Reply:
    error = {"message": message, "type": "OAuthException", "code": 190, "fbtrace_id": "AbC"}
    return json_reply(400, {"error": error})


def _exchange(server: Server, short: str, kind: str, secret_ok: bool) -> Reply:
    if not secret_ok or server.token_kind(short) != kind:
        return graph_error("Error validating client secret or access token")
    token = server.mint(kind.partition("_")[0] + "_long")  # fb_short -> fb_long
    return json_reply(200, {"access_token": token, "token_type": "bearer", "expires_in": 5183944})


def facebook_exchange(server: Server, req: Request) -> Reply:
    q = req.query
    secret = server.client_secret(q.get("client_id", ""))
    ok = q.get("grant_type") == "fb_exchange_token" and secret == q.get("client_secret")
    return _exchange(server, q.get("fb_exchange_token", ""), "fb_short", ok)


def threads_exchange(server: Server, req: Request) -> Reply:
    # No client_id here: the short-lived token names its app, whose secret must come along.
    q = req.query
    short = q.get("access_token", "")
    kind = server.token_kind(short) or ""
    secret = server.client_secret(kind.removeprefix("threads_short:"))
    ok = q.get("grant_type") == "th_exchange_token" and secret == q.get("client_secret")
    return _exchange(server, short, kind, ok and kind.startswith("threads_short:"))


def facebook_pages(server: Server, req: Request) -> Reply:
    if not server.bearer_is(req, "fb_long"):
        return graph_error("Invalid OAuth access token - Cannot parse access token")
    pages = [
        {"id": page_id, "name": name, "access_token": server.mint(f"page:{page_id}")}
        for page_id, name in server.ids.pages
    ]
    return json_reply(200, {"data": pages, "paging": {}})


def threads_me(server: Server, req: Request) -> Reply:
    if not server.bearer_is(req, "threads_long"):
        return graph_error("Invalid OAuth access token")
    return json_reply(200, {"id": server.ids.threads_id, "username": server.ids.threads_username})


# ------------------------------------------------------------------- Bluesky


def create_session(server: Server, req: Request) -> Reply:
    body = json.loads(req.body or b"{}")
    account = server.bluesky_account(body.get("identifier", ""))
    password = body.get("password", "")
    if account is None or password not in account[1:]:
        error = {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
        return json_reply(401, error)
    did, app_password, _ = account
    scope = "com.atproto.appPass" if password == app_password else "com.atproto.access"
    now = int(server.clock())
    access = jwt({"scope": scope, "sub": did, "iat": now, "exp": now + 7200})
    refresh = jwt({"scope": "com.atproto.refresh", "sub": did, "jti": secrets.token_hex(8)})
    session = {"accessJwt": access, "refreshJwt": refresh, "did": did, "active": True}
    return json_reply(200, session | {"handle": body["identifier"]})


Handler = Callable[[Server, Request], Reply]
_V = r"v\d+\.\d+"  # a Graph API version
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", rf"/{_V}/oauth/access_token", facebook_exchange),
    ("GET", r"/access_token", threads_exchange),
    ("GET", rf"/{_V}/me/accounts", facebook_pages),
    ("GET", rf"/{_V}/me", threads_me),
    ("POST", r"/api/v1/apps", register_app),
    ("POST", r"/xrpc/com\.atproto\.server\.createSession", create_session),
    ("GET", r"/2/users/me", x_me),
    ("GET", r"/v2/userinfo", linkedin_userinfo),
    ("GET", r"/api/v1/accounts/verify_credentials", mastodon_me),
    ("GET", r"/v2/user/info", tumblr_info),
)
