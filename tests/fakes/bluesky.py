"""A stateful loopback fake of a Bluesky PDS (reference/platforms.md §6, §11).

The XRPC methods the publisher uses, as the reference PDS answers them: `createSession` (app
password check, JWT-shaped tokens, a didDoc naming this server as the PDS), `refreshSession`
(rotation: a refresh token works once), `getSession`, `createRecord` (the lexicon essentials
of `app.bsky.feed.post`), `getRecord`, `uploadBlob`; access tokens expire by the fake's clock
with 400 `ExpiredToken`; write points per account with `RateLimit-*` headers.

Stricter than a real PDS on purpose, to catch our own bugs: facets must cover the text they
claim (a tag facet "#tag", a link facet a visible form of its URI), and a reply must point at
records that exist here with the right CID. A duplicate record key is answered 500, as the
reference PDS does (`duplicate_status=400` answers InvalidRequest instead).

Faults use the same API on every fake: `fail_next`, `set_random_faults`, `violations`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import random
import socket
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import parse_qs, urlsplit

from syndicate.platforms.bluesky_record import TID_PATTERN, encode_tid
from syndicate.platforms.textlen import grapheme_length
from tests.fakes import _http
from tests.fakes._http import LoopbackService, RequestHandler, RequestRecord

FaultKind = Literal["status", "rate_limit", "unauthorized", "hang", "drop", "reset"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
_REFUSING_FAULTS = frozenset({"status", "rate_limit", "unauthorized", "reset"})
Action = Literal["send", "hang", "drop", "reset"]

POST = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
MAX_IMAGE_BYTES = 1_000_000
CREATE_COST = 3  # write points per created record (platforms.md §6.4)
_XRPC = "/xrpc/"


@dataclass(frozen=True)
class Request:
    method: str
    nsid: str  # the XRPC method, "" for a path outside /xrpc/
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    client_host: str


@dataclass
class Reply(_http.Reply):
    action: Action = "send"
    delay: float = 0.0


@dataclass(frozen=True)
class _Fault:
    kind: str
    status: int
    reset_in: float
    hang_seconds: float


@dataclass
class _Account:
    did: str
    handle: str
    password: str
    generation: int = 0  # bumped when the app password is revoked: older tokens die


@dataclass
class _Token:
    kind: str  # access | refresh
    did: str
    expires: float
    generation: int
    used: bool = False


@dataclass
class _Auth:
    """Who a request is from, or the answer refusing it."""

    account: _Account | None = None
    refusal: Reply | None = None


@dataclass
class _State:
    posts: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: deque[_Fault] = field(default_factory=deque)
    blocked_until: dict[str, float] = field(default_factory=dict)
    points: dict[tuple[str, int], int] = field(default_factory=dict)
    logins: int = 0
    refreshes: int = 0


class FakeBluesky(LoopbackService):
    """A PDS with one account (`handle`, `did`, app password `password`); `add_account` adds
    more. The public state properties return copies."""

    _label = "FakeBluesky"

    def __init__(
        self,
        *,
        handle: str = "writer.bsky.social",
        password: str = "abcd-efgh-ijkl-mnop",
        clock: Callable[[], float] = time.time,
        access_ttl: float = 7200.0,
        refresh_ttl: float = 90 * 86400.0,
        points_per_hour: int = 5000,
        duplicate_status: int = 500,
        max_blob_bytes: int = 5_000_000,
        did_doc: bool = True,
    ) -> None:
        self.clock = clock
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.points_per_hour = points_per_hour
        self.duplicate_status = duplicate_status
        self.max_blob_bytes = max_blob_bytes
        self.did_doc = did_doc
        self.pds_endpoint: str | None = None  # what the didDoc names; None: this server
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        self._tokens: dict[str, _Token] = {}
        self._serial = 0
        self._random: tuple[dict[str, float], random.Random, tuple[float, float]] | None = None
        self._state = _State()
        self.did = self.add_account(handle, password)

    # ----------------------------------------------------------------- lifecycle

    def _request_handler(self) -> type[_RequestHandler]:
        return _RequestHandler

    def _on_start(self) -> None:
        self.stopping.clear()

    def _on_stop(self) -> None:
        self.stopping.set()

    # ------------------------------------------------------------------ accounts

    def add_account(self, handle: str, password: str) -> str:
        """Create an account; returns its DID."""
        did = "did:plc:" + _b32(hashlib.sha256(handle.encode()).digest())[:24]
        with self._lock:
            self._accounts[did] = _Account(did, handle, password)
        return did

    def revoke_app_password(self, did: str | None = None, new_password: str = "") -> None:
        """The user revoked the app password: its sessions die and it no longer logs in."""
        with self._lock:
            account = self._accounts[did or self.did]
            account.password = new_password or f"revoked-{account.generation + 1}"
            account.generation += 1

    # ------------------------------------------------------------- introspection

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Stored records, oldest first: did, rkey (the record key), uri, cid, text, record
        (as sent), created_at (clock seconds)."""
        with self._lock:
            return copy.deepcopy(self._state.posts)

    @property
    def blobs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in b.items() if k != "data"} for b in self._state.blobs.values()]

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request: (method, path-with-query, lower-cased headers, body)."""
        with self._lock:
            return list(self._state.requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of bugs inside the fake (answered 500); tests assert it stays empty."""
        with self._lock:
            return list(self._state.errors)

    @property
    def violations(self) -> list[str]:
        """Post-creating requests that arrived for an account before its rate-limit reset."""
        with self._lock:
            return list(self._state.violations)

    @property
    def logins(self) -> int:
        """createSession calls received, successful or not."""
        with self._lock:
            return self._state.logins

    @property
    def refreshes(self) -> int:
        """Successful refreshSession calls."""
        with self._lock:
            return self._state.refreshes

    def posts_with_link(self, url: str) -> int:
        """Stored records whose text, or one of whose link facets, carries `url`."""
        with self._lock:
            return sum(1 for p in self._state.posts if _carries_link(p["record"], url))

    def reset(self) -> None:
        """Forget records, blobs, requests, faults, counters and rate windows. Accounts and
        their sessions stay valid, like a server that keeps running."""
        with self._lock:
            self._state = _State()
            self._random = None

    # ----------------------------------------------------------- fault injection

    def fail_next(
        self,
        kind: FaultKind,
        *,
        count: int = 1,
        status: int = 500,
        reset_in: float = 60.0,
        hang_seconds: float = 30.0,
    ) -> None:
        """Script the next `count` createRecord requests (FIFO after faults already queued).

        status: answer `status` with an XRPC error body, store nothing.
        rate_limit: 429 RateLimitExceeded, RateLimit-Reset = now + reset_in (epoch seconds);
          the account is refused until then, and a create before it is a violation.
        unauthorized: 401 InvalidToken, as for a revoked session.
        hang: store the record, then wait `hang_seconds` before answering.
        drop: store the record, then close the socket without answering.
        reset: close the socket with a TCP RST, store nothing.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._state.faults.extend([_Fault(kind, status, reset_in, hang_seconds)] * count)

    def set_random_faults(
        self,
        rates: Mapping[str, float],
        *,
        seed: int = 0,
        reset_in: tuple[float, float] = (1.0, 3.0),
    ) -> None:
        """Apply fault kinds at random to createRecord requests without a scripted fault:
        `rates` are probabilities per request ({} turns random faults off)."""
        unknown = set(rates) - FAULT_KINDS
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        if any(r < 0 for r in rates.values()) or sum(rates.values()) > 1:
            raise ValueError("rates must be >= 0 and add up to at most 1")
        with self._lock:
            self._random = (dict(sorted(rates.items())), random.Random(seed), reset_in)

    def _next_fault(self) -> _Fault | None:
        if self._state.faults:
            return self._state.faults.popleft()
        if self._random is None:
            return None
        rates, rng, (low, high) = self._random
        draw, total = rng.random(), 0.0
        for kind, rate in rates.items():
            total += rate
            if draw < total:
                return _Fault(kind, 500, rng.uniform(low, high), 30.0)
        return None

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request, target: str) -> Reply:
        with self._lock:
            self._state.requests.append((req.method, target, dict(req.headers), req.body))
            try:
                return self._respond(req)
            except Exception as exc:
                self._state.errors.append(traceback.format_exc())
                return _error(500, "InternalServerError", f"fake Bluesky crashed: {exc!r}")

    def _respond(self, req: Request) -> Reply:
        caller = self._authenticate(req, "access").account
        bucket = caller.did if caller else f"ip:{req.client_host}"
        posting = req.method == "POST" and req.nsid == "com.atproto.repo.createRecord"
        if posting and caller is not None and (refusal := self._before_reset(caller.did)):
            return refusal
        fault = self._next_fault() if posting else None
        if fault is not None and fault.kind in _REFUSING_FAULTS:
            return self._refuse(fault, bucket)
        reply = self._route(req)
        if req.nsid:
            reply.headers = self._rate_headers(bucket) | reply.headers
        if fault is not None:  # hang or drop: processed, only the answer goes wrong
            reply.action = "hang" if fault.kind == "hang" else "drop"
            reply.delay = fault.hang_seconds
        return reply

    def _before_reset(self, did: str) -> Reply | None:
        until = self._state.blocked_until.get(did, 0.0)
        now = self.clock()
        if now >= until:
            return None
        self._state.violations.append(f"{did}: createRecord at {now:.3f}, reset at {until:.3f}")
        return self._rate_limited(did, until)

    def _refuse(self, fault: _Fault, bucket: str) -> Reply:
        if fault.kind == "reset":
            return Reply(0, action="reset")
        if fault.kind == "rate_limit":
            return self._rate_limited(bucket, self.clock() + fault.reset_in)
        if fault.kind == "unauthorized":
            reply = _error(401, "InvalidToken", "Token could not be verified")
        else:
            reply = _error(fault.status, _status_error(fault.status), "Internal Server Error")
        reply.headers.update(self._rate_headers(bucket))
        return reply

    def _rate_limited(self, bucket: str, until: float) -> Reply:
        # The header carries whole seconds: refuse until the second it announces, no longer.
        until = float(math.ceil(until))
        self._state.blocked_until[bucket] = max(until, self._state.blocked_until.get(bucket, 0))
        reply = _error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        reply.headers.update(self._rate_headers(bucket, remaining=0, reset=until))
        return reply

    def _rate_headers(
        self, bucket: str, *, remaining: int | None = None, reset: float | None = None
    ) -> dict[str, str]:
        window = int(self.clock() // 3600)
        used = self._state.points.get((bucket, window), 0)
        left = max(self.points_per_hour - used, 0) if remaining is None else remaining
        return {
            "RateLimit-Limit": str(self.points_per_hour),
            "RateLimit-Remaining": str(left),
            "RateLimit-Reset": str(int((window + 1) * 3600 if reset is None else reset)),
            "RateLimit-Policy": f"{self.points_per_hour};w=3600",
        }

    def _route(self, req: Request) -> Reply:
        routes: dict[tuple[str, str], Callable[[Request], Reply]] = {
            ("POST", "com.atproto.server.createSession"): self._create_session,
            ("POST", "com.atproto.server.refreshSession"): self._refresh_session,
            ("GET", "com.atproto.server.getSession"): self._get_session,
            ("POST", "com.atproto.repo.createRecord"): self._create_record,
            ("GET", "com.atproto.repo.getRecord"): self._get_record,
            ("POST", "com.atproto.repo.uploadBlob"): self._upload_blob,
        }
        route = routes.get((req.method, req.nsid))
        if route is None:
            return _error(501, "MethodNotImplemented", "Method Not Implemented")
        return route(req)

    # ------------------------------------------------------------------ sessions

    def _create_session(self, req: Request) -> Reply:
        self._state.logins += 1
        body = _json_body(req)
        identifier = str(body.get("identifier", "")).lower().removeprefix("@")
        account = next(
            (a for a in self._accounts.values() if identifier in (a.did, a.handle.lower())), None
        )
        if account is None or body.get("password") != account.password:
            return _error(401, "AuthenticationRequired", "Invalid identifier or password")
        return _json_reply(200, self._session_json(account))

    def _refresh_session(self, req: Request) -> Reply:
        auth = self._authenticate(req, "refresh")
        if auth.account is None:
            return auth.refusal or _error(401, "AuthenticationRequired", "Authentication Required")
        self._tokens[_bearer(req)].used = True  # rotation: this refresh token is spent
        self._state.refreshes += 1
        return _json_reply(200, self._session_json(auth.account))

    def _get_session(self, req: Request) -> Reply:
        auth = self._authenticate(req, "access")
        if auth.account is None:
            return auth.refusal or _error(401, "AuthenticationRequired", "Authentication Required")
        account = auth.account
        return _json_reply(200, {"handle": account.handle, "did": account.did, "active": True})

    def _session_json(self, account: _Account) -> dict[str, Any]:
        session: dict[str, Any] = {
            "accessJwt": self._issue("access", account, self.access_ttl),
            "refreshJwt": self._issue("refresh", account, self.refresh_ttl),
            "handle": account.handle,
            "did": account.did,
            "active": True,
        }
        if self.did_doc:
            endpoint = self.pds_endpoint or self.base_url
            session["didDoc"] = {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": account.did,
                "alsoKnownAs": [f"at://{account.handle}"],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": endpoint,
                    }
                ],
            }
        return session

    def _issue(self, kind: str, account: _Account, ttl: float) -> str:
        self._serial += 1
        now = self.clock()
        scope = "com.atproto.access" if kind == "access" else "com.atproto.refresh"
        header = {"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "HS256"}
        claims = {"scope": scope, "sub": account.did, "iat": int(now), "exp": int(now + ttl)}
        claims["jti"] = str(self._serial)
        unsigned = f"{_b64url(header)}.{_b64url(claims)}"
        signature = hashlib.sha256(unsigned.encode()).digest()
        token = f"{unsigned}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
        self._tokens[token] = _Token(kind, account.did, now + ttl, account.generation)
        return token

    def _authenticate(self, req: Request, kind: str) -> _Auth:
        """The account behind a Bearer token of `kind`, or the reference PDS's refusal."""
        token = self._tokens.get(_bearer(req))
        if not _bearer(req):
            return _Auth(refusal=_error(401, "AuthenticationRequired", "Authentication Required"))
        account = self._accounts.get(token.did) if token else None
        if token is None or account is None or token.generation != account.generation:
            return _Auth(refusal=_error(401, "InvalidToken", "Token could not be verified"))
        if token.kind != kind:
            return _Auth(refusal=_error(400, "InvalidToken", "Bad token scope"))
        if token.used:
            return _Auth(refusal=_error(400, "ExpiredToken", "Token has been revoked"))
        if self.clock() >= token.expires:
            return _Auth(refusal=_error(400, "ExpiredToken", "Token has expired"))
        return _Auth(account=account)

    # ------------------------------------------------------------------- records

    def _create_record(self, req: Request) -> Reply:
        auth = self._authenticate(req, "access")
        if auth.account is None:
            return auth.refusal or _error(401, "AuthenticationRequired", "Authentication Required")
        account, body = auth.account, _json_body(req)
        if body.get("repo") not in (account.did, account.handle):
            return _error(401, "AuthenticationRequired", "Input/repo must be the caller")
        if body.get("collection") != POST:
            return _error(400, "InvalidRequest", "this fake stores app.bsky.feed.post only")
        rkey = body.get("rkey") or encode_tid(int(self.clock() * 1e6), self._serial % 1024)
        if not isinstance(rkey, str) or not TID_PATTERN.fullmatch(rkey):
            return _error(400, "InvalidRequest", f"Invalid record key: {rkey!r}")
        problem = self._post_problem(account.did, body.get("record"))
        if problem is not None:
            return _error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {problem}")
        if self._find(account.did, rkey) is not None:
            if self.duplicate_status == 400:
                return _error(400, "InvalidRequest", f"Record already exists: {rkey}")
            return _error(self.duplicate_status, "InternalServerError", "Internal Server Error")
        if (refusal := self._spend_points(account.did)) is not None:
            return refusal
        stored = self._store(account, rkey, body["record"])
        commit = {"cid": stored["cid"], "rev": rkey}
        return _json_reply(200, {**_ref(stored), "commit": commit, "validationStatus": "valid"})

    def _spend_points(self, did: str) -> Reply | None:
        window = int(self.clock() // 3600)
        used = self._state.points.get((did, window), 0)
        if used + CREATE_COST > self.points_per_hour:
            return self._rate_limited(did, (window + 1) * 3600)
        self._state.points[(did, window)] = used + CREATE_COST
        return None

    def _store(self, account: _Account, rkey: str, record: dict[str, Any]) -> dict[str, Any]:
        canonical = json.dumps(record, sort_keys=True, ensure_ascii=False).encode()
        stored = {
            "did": account.did,
            "rkey": rkey,
            "uri": f"at://{account.did}/{POST}/{rkey}",
            "cid": "bafyrei" + _b32(hashlib.sha256(canonical).digest())[:52],
            "text": record["text"],
            "record": copy.deepcopy(record),
            "created_at": self.clock(),
        }
        self._state.posts.append(stored)
        return stored

    def _find(self, did: str, rkey: str) -> dict[str, Any] | None:
        return next((p for p in self._state.posts if (p["did"], p["rkey"]) == (did, rkey)), None)

    def _get_record(self, req: Request) -> Reply:
        repo = req.query.get("repo", "")
        account = next((a for a in self._accounts.values() if repo in (a.did, a.handle)), None)
        if account is None:
            return _error(400, "InvalidRequest", f"Could not find repo: {repo}")
        rkey, collection = req.query.get("rkey", ""), req.query.get("collection", "")
        found = self._find(account.did, rkey) if collection == POST else None
        if found is None:
            uri = f"at://{account.did}/{collection}/{rkey}"
            return _error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return _json_reply(200, {**_ref(found), "value": found["record"]})

    def _upload_blob(self, req: Request) -> Reply:
        auth = self._authenticate(req, "access")
        if auth.account is None:
            return auth.refusal or _error(401, "AuthenticationRequired", "Authentication Required")
        if len(req.body) > self.max_blob_bytes:
            return _error(400, "BlobTooLarge", f"blob over {self.max_blob_bytes} bytes")
        cid = "bafkrei" + _b32(hashlib.sha256(req.body).digest())[:52]
        mime_type = req.headers.get("content-type", "*/*").split(";")[0].strip()
        blob = {
            "$type": "blob",
            "ref": {"$link": cid},
            "mimeType": mime_type,
            "size": len(req.body),
        }
        self._state.blobs[cid] = {**blob, "did": auth.account.did, "data": req.body}
        return _json_reply(200, {"blob": blob})

    # ---------------------------------------------------------------- validation

    def _post_problem(self, did: str, record: object) -> str | None:
        """What the lexicon (plus this fake's own checks) finds wrong, or None."""
        if not isinstance(record, dict) or record.get("$type") != POST:
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text")
        if not isinstance(text, str):
            return "Record/text must be a string"
        if grapheme_length(text) > MAX_GRAPHEMES:
            return f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
        if len(text.encode("utf-8")) > MAX_BYTES:
            return f"Record/text must not be longer than {MAX_BYTES} characters"
        if not _is_datetime(record.get("createdAt")):
            return "Record/createdAt must be a valid datetime"
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3:
            return "Record/langs must not have more than 3 elements"
        return (
            _facets_problem(text, record.get("facets", []))
            or self._reply_problem(record.get("reply"))
            or self._embed_problem(did, record.get("embed"))
        )

    def _reply_problem(self, reply: object) -> str | None:
        if reply is None:
            return None
        if not isinstance(reply, dict):
            return "Record/reply must be an object"
        for part in ("root", "parent"):
            ref = reply.get(part)
            pair = {k: ref.get(k) for k in ("uri", "cid")} if isinstance(ref, dict) else {}
            if not any(_ref(p) == pair for p in self._state.posts):
                return f"Record/reply/{part} names no record stored here with that cid"
        return None

    def _embed_problem(self, did: str, embed: object) -> str | None:
        if embed is None:
            return None
        if not isinstance(embed, dict):
            return "Record/embed must be an object"
        kind = embed.get("$type")
        if kind == "app.bsky.embed.external":
            external = embed.get("external")
            if not isinstance(external, dict) or not all(
                isinstance(external.get(k), str) for k in ("uri", "title", "description")
            ):
                return "Record/embed/external must have uri, title and description"
            thumb = external.get("thumb")
            return None if thumb is None else self._blob_problem(did, thumb, "external/thumb")
        if kind == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or not 1 <= len(images) <= 4:
                return "Record/embed/images must hold 1 to 4 images"
            for n, image in enumerate(images):
                if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
                    return f"Record/embed/images/{n}/alt must be a string"
                if problem := self._blob_problem(did, image.get("image"), f"images/{n}/image"):
                    return problem
        return None  # other embeds are an open union: not this fake's business

    def _blob_problem(self, did: str, blob: object, where: str) -> str | None:
        ref = blob.get("ref") if isinstance(blob, dict) else None
        cid = ref.get("$link") if isinstance(ref, dict) else None
        stored = self._state.blobs.get(str(cid))
        if stored is None or stored["did"] != did or not isinstance(blob, dict):
            return f"Record/embed/{where} is not a blob uploaded by this account"
        if not str(stored["mimeType"]).startswith("image/"):
            return f"Record/embed/{where} mimeType must be image/*"
        if stored["size"] > MAX_IMAGE_BYTES:
            return f"Record/embed/{where} file too large: {stored['size']} > {MAX_IMAGE_BYTES}"
        return None


# ---------------------------------------------------------------------- helpers


def _facets_problem(text: str, facets: object) -> str | None:
    if not isinstance(facets, list):
        return "Record/facets must be a list"
    data = text.encode("utf-8")
    for n, facet in enumerate(facets):
        index = facet.get("index") if isinstance(facet, dict) else None
        start = index.get("byteStart") if isinstance(index, dict) else None
        end = index.get("byteEnd") if isinstance(index, dict) else None
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
            return f"Record/facets/{n}/index must have 0 <= byteStart < byteEnd"
        if end > len(data) or _inside_character(data, start) or _inside_character(data, end):
            return f"Record/facets/{n}/index is outside the text or splits a character"
        features = facet.get("features")
        if not isinstance(features, list) or not features:
            return f"Record/facets/{n}/features must not be empty"
        covered = data[start:end].decode("utf-8")
        for feature in features:
            if not _feature_matches(feature, covered):
                return f"Record/facets/{n}: {feature!r} does not match {covered!r}"
    return None


def _inside_character(data: bytes, offset: int) -> bool:
    return offset < len(data) and 0x80 <= data[offset] <= 0xBF


def _feature_matches(feature: object, covered: str) -> bool:
    if not isinstance(feature, dict):
        return False
    kind = feature.get("$type")
    if kind == "app.bsky.richtext.facet#tag":
        tag = feature.get("tag")
        return isinstance(tag, str) and covered in (f"#{tag}", f"＃{tag}")
    if kind == "app.bsky.richtext.facet#link":
        uri = feature.get("uri")
        shown = covered.removesuffix("…").removesuffix("...")
        return isinstance(uri, str) and bool(shown) and shown.split("://")[-1] in uri
    if kind == "app.bsky.richtext.facet#mention":
        return str(feature.get("did", "")).startswith("did:")
    return True  # unknown features are allowed by the open union


def _carries_link(record: dict[str, Any], url: str) -> bool:
    if url in record.get("text", ""):
        return True
    features = [f for facet in record.get("facets", []) for f in facet.get("features", [])]
    return any(f.get("uri") == url for f in features)


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.tzinfo is not None


def _ref(stored: dict[str, Any]) -> dict[str, str]:
    return {"uri": stored["uri"], "cid": stored["cid"]}


def _bearer(req: Request) -> str:
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _json_body(req: Request) -> dict[str, Any]:
    try:
        body = json.loads(req.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _json_reply(status: int, payload: object) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8"})


def _error(status: int, error: str, message: str) -> Reply:
    return _json_reply(status, {"error": error, "message": message})


def _status_error(status: int) -> str:
    names = {400: "InvalidRequest", 502: "UpstreamFailure", 503: "NotEnoughResources"}
    return names.get(status, "InternalServerError" if status >= 500 else "InvalidRequest")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")


def _b64url(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# ------------------------------------------------------------------- HTTP plumbing


class _RequestHandler(RequestHandler[FakeBluesky]):
    def respond(self, headers: dict[str, str], body: bytes) -> None:
        split = urlsplit(self.path)
        nsid = split.path[len(_XRPC) :] if split.path.startswith(_XRPC) else ""
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(self.command, nsid, query, headers, body, self.client_address[0])
        reply = self.server.app.handle(request, self.path)
        if reply.action == "reset":
            # SO_LINGER 0 makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if reply.action == "drop":
            self.close_connection = True
            return
        if reply.action == "hang":
            self.server.app.stopping.wait(reply.delay)
        self.send_reply(reply)
