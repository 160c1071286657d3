"""A loopback fake authorization server for `syndicate auth` (reference/platforms.md §4.5, §6.1,
§7.3, §8, §9, §10.3).

One server plays every platform's sign-in endpoints on its own paths, the way each documents
them: OAuth 1.0a request-token / authorize / access-token, with HMAC-SHA1 signatures checked
against a base string built here (X's PIN page, Tumblr's callback); OAuth 2.0 authorize and
token with registered redirect URIs, single-use codes, client authentication (HTTP Basic or
body) and S256 PKCE verification (X, LinkedIn, Facebook, Threads, Mastodon). The platforms'
own endpoints around them (who am I, Mastodon app registration, the Graph token exchanges,
Bluesky createSession) are in `oauth_platforms`.

The person's consent is `consent = "approve" | "deny"`: the authorize endpoint answers at once
with the redirect (or X's PIN page), which a test "browser" follows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from oauthlib.oauth1.rfc5849 import signature, utils

from tests.fakes._http import LoopbackService, Reply, RequestHandler
from tests.fakes.oauth_platforms import ROUTES, Identities, Request, json_reply

CODE_TTL = 600.0
X_SCOPE_REFRESH = "offline.access"


@dataclass(frozen=True)
class Client:
    """A registered OAuth 2.0 app. secret "" = a public client (PKCE only)."""

    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]
    pkce_required: bool = False
    scopes: tuple[str, ...] = ()  # Mastodon: what the app registered for


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str
    issued_at: float
    used: bool = False


@dataclass
class _RequestToken:
    consumer: str
    secret: str
    callback: str
    verifier: str = ""
    used: bool = False


def _oauth_error(status: int, error: str, description: str) -> Reply:
    return json_reply(status, {"error": error, "error_description": description})


def _redirect(location: str) -> Reply:
    return Reply(302, b"", {"Location": location})


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _oauth_params(header: str) -> dict[str, str]:
    """The Authorization: OAuth parameters, percent-decoded (RFC 5849 §3.5.1)."""
    if not header.startswith("OAuth "):
        return {}
    return {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}


class FakeAuthServer(LoopbackService):
    _label = "FakeAuthServer"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.consent = "approve"
        self.ids = Identities()
        self.linkedin_refresh = False  # approved partners get refresh tokens
        self._lock = threading.RLock()  # platform endpoints call back in while handling
        self._clients: dict[str, Client] = {}
        self._consumers: dict[str, str] = {}
        self._bluesky: dict[str, tuple[str, str, str]] = {}  # handle -> did, app pw, main pw
        self._codes: dict[str, _Code] = {}
        self._request_tokens: dict[str, _RequestToken] = {}
        self._access: dict[str, str] = {}  # OAuth 1.0a access token -> its secret
        self._tokens: dict[str, str] = {}  # bearer token -> kind (x, fb_short, page, ...)
        self._faults: dict[str, list[Reply]] = {}
        self._requests: list[Request] = []
        self._errors: list[str] = []

    # ------------------------------------------------------------------ set-up

    def register_client(self, client: Client) -> None:
        with self._lock:
            self._clients[client.client_id] = client

    def register_consumer(self, key: str, secret: str) -> None:
        with self._lock:
            self._consumers[key] = secret

    def add_bluesky_account(self, handle: str, did: str, app_password: str, password: str) -> None:
        with self._lock:
            self._bluesky[handle] = (did, app_password, password)

    def fail_next(self, path: str, status: int, body: dict[str, Any]) -> None:
        """Answer the next request to `path` with `status` and `body`, doing nothing else."""
        with self._lock:
            self._faults.setdefault(path, []).append(json_reply(status, body))

    # ----------------------------------------------------------- introspection

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        with self._lock:
            return list(self._errors)

    def token_kind(self, token: str) -> str | None:
        with self._lock:
            return self._tokens.get(token) or ("oauth1" if token in self._access else None)

    def access_secret(self, token: str) -> str | None:
        with self._lock:
            return self._access.get(token)

    # ----------------------------------------------------------------- serving

    def _request_handler(self) -> type[_Handler]:
        return _Handler

    def handle(self, req: Request) -> Reply:
        with self._lock:
            self._requests.append(req)
            try:
                faults = self._faults.get(req.path)
                return faults.pop(0) if faults else self._route(req)
            except Exception as exc:
                self._errors.append(traceback.format_exc())
                return json_reply(500, {"error": f"fake auth server crashed: {exc!r}"})

    def _route(self, req: Request) -> Reply:
        for method, pattern, handler in (*_PROTOCOL_ROUTES, *ROUTES):
            if req.method == method and re.fullmatch(pattern, req.path):
                return handler(self, req)
        return json_reply(404, {"error": "not found"})

    def _authorize(self, req: Request) -> Reply:
        return self._authorize1(req) if "oauth_token" in req.query else self._authorize2(req)

    def _post_access_token(self, req: Request) -> Reply:
        # OAuth 1.0a's access-token step (X, Tumblr) and Threads' code exchange share the path.
        if req.headers.get("authorization", "").startswith("OAuth "):
            return self._access_token1(req)
        return self._token(req)

    # ------------------------------------------------------------- OAuth 2.0

    def _authorize2(self, req: Request) -> Reply:
        q = req.query
        client = self._clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if client is None or redirect_uri not in client.redirect_uris:
            # RFC 6749 §4.1.2.1: never redirect to an unregistered URI.
            return Reply(400, b"unknown client or unregistered redirect_uri")
        back = {"state": q["state"]} if "state" in q else {}
        problem = self._authorize_problem(client, q)
        if problem:
            return _redirect(_with_query(redirect_uri, {**back, **problem}))
        if self.consent != "approve":
            denied = {"error": "access_denied", "error_description": "The user denied access"}
            return _redirect(_with_query(redirect_uri, {**back, **denied}))
        code = secrets.token_urlsafe(16)
        self._codes[code] = _Code(
            client.client_id,
            redirect_uri,
            q.get("scope", ""),
            q.get("code_challenge", ""),
            self.clock(),
        )
        return _redirect(_with_query(redirect_uri, {"code": code, **back}))

    def _authorize_problem(self, client: Client, q: dict[str, str]) -> dict[str, str]:
        if q.get("response_type") != "code":
            return {"error": "unsupported_response_type"}
        if "state" not in q:
            return {"error": "invalid_request", "error_description": "state is required"}
        if client.pkce_required and q.get("code_challenge_method") != "S256":
            return {"error": "invalid_request", "error_description": "PKCE S256 is required"}
        wanted = set(q.get("scope", "").replace(",", " ").split())
        if client.scopes and not wanted <= set(client.scopes):
            return {"error": "invalid_scope", "error_description": "scope not registered"}
        return {}

    def _client_auth(self, req: Request, form: dict[str, str]) -> Client | None:
        basic = req.headers.get("authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self._clients.get(client_id)
        if client is None or not secrets.compare_digest(client.secret, secret):
            return None
        return client

    def _token(self, req: Request) -> Reply:
        form = req.form()
        client = self._client_auth(req, form)
        if client is None:
            return _oauth_error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "authorization_code only")
        code = self._codes.get(form.get("code", ""))
        problem = self._code_problem(code, client, form)
        if problem or code is None:
            return _oauth_error(400, "invalid_grant", problem or "unknown code")
        code.used = True
        return json_reply(200, self._issue(req.path, code.scope, client.client_id))

    def _code_problem(self, code: _Code | None, client: Client, form: dict[str, str]) -> str:
        if code is None or code.used or self.clock() - code.issued_at > CODE_TTL:
            return "the code is unknown, used or expired"
        if code.client_id != client.client_id or code.redirect_uri != form.get("redirect_uri"):
            return "the code was issued to another client or redirect_uri"
        if code.challenge:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not secrets.compare_digest(computed, code.challenge):
                return "PKCE verification failed: code_verifier does not match"
        return ""

    def _issue(self, path: str, scope: str, client_id: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        if path == "/2/oauth2/token":
            self._tokens[token] = "x"
            body: dict[str, Any] = {"token_type": "bearer", "expires_in": 7200, "scope": scope}
            if X_SCOPE_REFRESH in scope.split():
                body["refresh_token"] = secrets.token_urlsafe(24)
        elif path == "/oauth/v2/accessToken":
            self._tokens[token] = "linkedin"
            body = {"expires_in": 5184000, "scope": ",".join(scope.split())}
            if self.linkedin_refresh:
                body |= {
                    "refresh_token": secrets.token_urlsafe(24),
                    "refresh_token_expires_in": 31536000,
                }
        elif path == "/oauth/token":
            self._tokens[token] = "mastodon"
            body = {"token_type": "Bearer", "scope": scope, "created_at": int(self.clock())}
        elif path == "/oauth/access_token":  # Threads: no token_type, a numeric user_id
            self._tokens[token] = f"threads_short:{client_id}"  # exchanged with its secret
            body = {"user_id": int(self.ids.threads_id)}
        else:  # /{version}/oauth/access_token: Facebook
            self._tokens[token] = "fb_short"
            body = {"token_type": "bearer", "expires_in": 5400}
        return {"access_token": token, **body}

    # ------------------------------------------- for the platform endpoints

    def bearer_is(self, req: Request, kind: str) -> bool:
        """The request carries (as Bearer or access_token) a live token of `kind`."""
        auth = req.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else req.query.get("access_token", "")
        return self.token_kind(token) == kind

    def mint(self, kind: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = kind
        return token

    def client_secret(self, client_id: str) -> str | None:
        with self._lock:
            client = self._clients.get(client_id)
            return client.secret if client else None

    def new_app(self, redirect_uris: tuple[str, ...], scopes: tuple[str, ...]) -> tuple[str, str]:
        """Mastodon's /api/v1/apps: a confidential client limited to `scopes`."""
        client = Client(
            secrets.token_urlsafe(12), secrets.token_urlsafe(24), redirect_uris, scopes=scopes
        )
        self.register_client(client)
        return client.client_id, client.secret

    def bluesky_account(self, handle: str) -> tuple[str, str, str] | None:
        """did, app password, account password."""
        with self._lock:
            return self._bluesky.get(handle)

    # ------------------------------------------------------------- OAuth 1.0a

    def _verify1(self, req: Request, token_secret: str | None) -> dict[str, str] | None:
        """The OAuth parameters when the HMAC-SHA1 signature (RFC 5849 §3.4.2) verifies."""
        header = req.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return None
        oauth = _oauth_params(header)
        consumer_secret = self._consumers.get(oauth.get("oauth_consumer_key", ""))
        if consumer_secret is None or oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return None
        form = req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        query = urlencode(req.query)
        params = signature.collect_parameters(
            uri_query=query,
            body=req.body.decode() if form else "",
            headers={"Authorization": header},
            exclude_oauth_signature=True,
        )
        # RFC 5849 §3.4.1: the base string, built here rather than by the library that signed.
        pairs = sorted((utils.escape(k), utils.escape(v)) for k, v in params)
        normalized = "&".join(f"{k}={v}" for k, v in pairs)
        uri = signature.base_string_uri(f"http://{req.headers['host']}{req.path}")
        base = "&".join([req.method, utils.escape(uri), utils.escape(normalized)])
        key = f"{utils.escape(consumer_secret)}&{utils.escape(token_secret or '')}"
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
        return oauth if hmac.compare_digest(expected, oauth.get("oauth_signature", "")) else None

    def _request_token(self, req: Request) -> Reply:
        oauth = self._verify1(req, None)
        if oauth is None or not oauth.get("oauth_callback"):
            return Reply(401, b"Failed to validate oauth signature and token")
        token, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
        self._request_tokens[token] = _RequestToken(
            oauth["oauth_consumer_key"], secret, oauth["oauth_callback"]
        )
        body = urlencode(
            {"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"}
        )
        return Reply(200, body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})

    def _authorize1(self, req: Request) -> Reply:
        token = req.query["oauth_token"]
        pending = self._request_tokens.get(token)
        if pending is None:
            return Reply(400, b"This page is no longer valid")
        if self.consent != "approve":
            if pending.callback == "oob":
                return Reply(200, b"<p>You did not authorise the app.</p>")
            return _redirect(_with_query(pending.callback, {"denied": token}))
        pending.verifier = f"{secrets.randbelow(10**7):07d}"
        if pending.callback == "oob":
            page = f'<p>Enter this PIN: <code id="pin">{pending.verifier}</code></p>'
            return Reply(200, page.encode(), {"Content-Type": "text/html"})
        back = {"oauth_token": token, "oauth_verifier": pending.verifier}
        return _redirect(_with_query(pending.callback, back))

    def _access_token1(self, req: Request) -> Reply:
        header = _oauth_params(req.headers["authorization"])
        pending = self._request_tokens.get(header.get("oauth_token", ""))
        if pending is None or pending.used:
            return Reply(401, b"Invalid request token")
        oauth = self._verify1(req, pending.secret)
        verifier = (oauth or {}).get("oauth_verifier") or req.form().get("oauth_verifier")
        if oauth is None or not pending.verifier or verifier != pending.verifier:
            return Reply(
                401, b"Error processing your OAuth request: Invalid oauth_verifier parameter"
            )
        pending.used = True
        token, secret = (
            f"{self.ids.x_user_id}-{secrets.token_urlsafe(16)}",
            secrets.token_urlsafe(24),
        )
        self._access[token] = secret
        body = {
            "oauth_token": token,
            "oauth_token_secret": secret,
            "user_id": self.ids.x_user_id,
            "screen_name": self.ids.x_username,
        }
        return Reply(
            200, urlencode(body).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def oauth1_access_ok(self, req: Request) -> bool:
        """A request signed with an access token this server issued (protected resources)."""
        header = _oauth_params(req.headers.get("authorization", ""))
        secret = self._access.get(header.get("oauth_token", ""))
        return secret is not None and self._verify1(req, secret) is not None


Route = tuple[str, str, Callable[[FakeAuthServer, Request], Reply]]
_V = r"v\d+\.\d+"  # a Graph API version
_PROTOCOL_ROUTES: tuple[Route, ...] = (  # each platform's documented sign-in paths
    (
        "GET",
        rf"/i/oauth2/authorize|/oauth/v2/authorization|/{_V}/dialog/oauth|/oauth/authorize",
        FakeAuthServer._authorize,
    ),
    ("POST", r"/oauth/request_token", FakeAuthServer._request_token),
    ("POST", r"/oauth/access_token", FakeAuthServer._post_access_token),
    (
        "POST",
        rf"/2/oauth2/token|/oauth/v2/accessToken|/{_V}/oauth/access_token|/oauth/token",
        FakeAuthServer._token,
    ),
)


class _Handler(RequestHandler[FakeAuthServer]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        req = Request(self.command, parts.path, query, headers, body)
        self.send_reply(self.server.app.handle(req))
