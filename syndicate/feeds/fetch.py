"""Fetch a feed's bytes: HTTP with timeouts, a decoded-size cap, a total time cap, conditional
GET, redirects followed by hand and checked against the SSRF rule at every hop; or a local file
for feeds configured as paths. Never parses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote_plus, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3

from syndicate.errors import FeedGone, FetchError
from syndicate.feeds.freshness import freshness_lifetime, retry_after
from syndicate.feeds.netguard import GuardedAdapter, check_host
from syndicate.httpenv import EnvironmentProxies, ca_bundle

MAX_REDIRECTS = 5
# Every hop and the body must arrive within 4 read timeouts. Residual risk: response headers
# are read by http.client with only the per-read timeout, so a server trickling header lines
# can outlast the cap; the worker's task time limit is the backstop there.
TOTAL_TIME_FACTOR = 4
CONNECT_TIMEOUT = 5.0
READ_CHUNK = 65536
TEMPLATES_KEPT = 10_000  # prepared requests kept, one per feed URL; then they start over
RATE_LIMIT_STATUSES = frozenset({429, 503})
ACCEPT = (
    "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,"
    "application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1"
)
# Fixed, not requests' default, which adds "br" and "zstd" whenever those packages happen to
# be installed: what we accept should not depend on that, and the cap is tested on these two.
ACCEPT_ENCODING = "gzip, deflate"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


class HTTPStatusError(FetchError):
    """The server answered with an error status (404, 500...): count it and back off."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RateLimitedFetch(HTTPStatusError):
    """429 or 503: do not ask again before `retry_after` (UTC; None when the server gave no
    usable Retry-After, and the usual error backoff applies)."""

    def __init__(self, message: str, status: int, retry_after: datetime | None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PostResult:
    status: int  # of the final answer
    url: str  # the URL that gave it, after any 307/308 hops
    redirects: int = 0


@dataclass(frozen=True)
class FetchResult:
    url: str
    not_modified: bool
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # set when a 301/308 says the feed lives elsewhere now
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    # Seconds the server says the answer stays fresh (Cache-Control max-age, else Expires
    # minus Date): the scheduler should not poll sooner. None when it says nothing usable.
    max_age: float | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Fetcher:
    """Fetches one feed at a time. The session gets a `GuardedAdapter` mounted for http and
    https, so a session passed in is changed: link-local and metadata addresses are refused on
    every connection it makes from then on.

    The session's `trust_env` is turned off: with it, requests scans the whole environment for
    proxy variables and stats ~/.netrc on every request, which was a third of the CPU of a 304
    poll (docs/benchmarks.md). Proxy variables (and no_proxy) still apply: they are looked up
    once per scheme and host, by the same requests function. A CA bundle named by
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE is read once here; ~/.netrc is not used (a feed that
    needs credentials carries them in its URL)."""

    def __init__(
        self,
        *,
        timeout: float,
        max_bytes: int,
        user_agent: str,
        session: requests.Session | None = None,
        block_private_networks: bool = False,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.block_private = block_private_networks
        self.now = now
        self.session = session or requests.Session()
        if self.session.trust_env:
            self.session.trust_env = False
            self.session.verify = ca_bundle() or self.session.verify
        self.verify: bool | str = True if self.session.verify is None else self.session.verify
        self._environment = EnvironmentProxies()
        self._templates: dict[str, requests.PreparedRequest] = {}
        adapter = GuardedAdapter(block_private=block_private_networks)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def fetch(
        self,
        url: str,
        *,
        is_path: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        if is_path:
            return FetchResult(url=url, not_modified=False, body=self._read_file(Path(url)))
        return self._fetch_http(url, etag, last_modified)

    def post_form(
        self, url: str, form: Mapping[str, str], *, vet: Callable[[str], None] | None = None
    ) -> PostResult:
        """POST a form (a WebSub hub request) under the same SSRF guard and time cap as a fetch.

        307 and 308 are followed by hand, with the same method and the same bytes (RFC 9110
        §15.4.8-9), at most MAX_REDIRECTS hops, each hop checked like a feed's. 301, 302 and
        303 are not: clients turn those into a GET, which would drop the request, so their
        status is returned as is. `vet` may refuse a hop (raise FetchError) before anything is
        sent to it: the hub secret travels in the body. FetchError when no answer came."""
        body = urlencode(dict(form)).encode()  # once, so every hop sends the very same bytes
        deadline = time.monotonic() + self.timeout[1] * TOTAL_TIME_FACTOR
        for hops in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            if vet is not None:
                vet(url)  # before the host is even resolved
            self._check_hop(url, deadline)
            with self._post(url, body) as response:
                if response.status_code not in (307, 308):
                    return PostResult(status=response.status_code, url=url, redirects=hops)
                url = _location(response, url)
        raise FetchError(f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects")

    def _post(self, url: str, body: bytes) -> requests.Response:
        headers = {"User-Agent": self.user_agent, "Content-Type": FORM_CONTENT_TYPE}
        try:
            # stream: the answer's status is all we need, so its body is never read (a hub
            # cannot make us buffer megabytes); closing the response drops the connection.
            return self.session.post(
                url,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
                proxies=self.proxies(url),
            )
        except requests.RequestException as e:
            raise FetchError(f"{redact_url(url)}: {_reason(e)}") from e

    def proxies(self, url: str) -> dict[str, str] | None:
        """The environment's proxies for `url` (none when no_proxy names its host), looked
        up once per scheme and host. None rather than empty: requests then skips merging."""
        return self._environment.for_url(url) or None

    def _read_file(self, path: Path) -> bytes:
        try:
            if path.stat().st_size > self.max_bytes:
                raise FetchError(f"{path}: larger than the {self.max_bytes} byte cap")
            return path.read_bytes()
        except OSError as e:
            raise FetchError(f"{path}: {e.strerror}") from e

    def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {
            "User-Agent": self.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
            "A-IM": "feed",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        # The read timeout is per read: a server dripping a byte a second never trips it.
        deadline = time.monotonic() + self.timeout[1] * TOTAL_TIME_FACTOR
        permanent, hops = True, 0
        for _ in range(MAX_REDIRECTS + 1):
            self._check_hop(url, deadline)
            with self._get(url, headers) as response:
                location = _redirect_target(response, url)
                if location is None:
                    # Only a chain of permanent hops (301/308) moves the feed for good.
                    moved_to = url if hops and permanent else None
                    return self._result(response, url, moved_to, deadline)
                permanent = permanent and response.status_code in (301, 308)
                hops += 1
                url = location
        raise FetchError(f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects")

    def _check_hop(self, url: str, deadline: float) -> None:
        """Before any connection to `url`: scheme, SSRF rule and time left."""
        _check_scheme(url)
        check_host(urlsplit(url).hostname or "", block_private=self.block_private)
        if time.monotonic() > deadline:
            raise FetchError(f"{redact_url(url)}: redirects still going after the time cap")

    def _get(self, url: str, headers: dict[str, str]) -> requests.Response:
        """One GET through the session's adapter. `Session.get` would merge the session's
        headers, auth, params and hooks into every request (we set none: `headers` is the
        whole request) at a fifth of a 304 poll's CPU; cookies are the one thing it kept, so
        they are sent from and kept in the session's jar here."""
        prepared = self._prepared(url).copy()
        prepared.headers.update(headers)
        jar = self.session.cookies
        if len(jar):
            prepared.prepare_cookies(jar)
        try:
            response = self.session.get_adapter(url).send(
                prepared,
                stream=True,
                timeout=self.timeout,
                verify=self.verify,
                proxies=self.proxies(url),
            )
        except requests.RequestException as e:
            raise FetchError(f"{redact_url(url)}: {_reason(e)}") from e
        if "set-cookie" in response.raw.headers:
            requests.cookies.extract_cookies_to_jar(jar, prepared, response.raw)  # type: ignore[no-untyped-call]
        return response

    def _prepared(self, url: str) -> requests.PreparedRequest:
        """The request for `url` before headers and cookies: its address checked, encoded and
        its credentials made an Authorization header once per URL, not once per poll (a
        quarter of a 304 poll's HTTP CPU). Copied before use."""
        prepared = self._templates.get(url)
        if prepared is None:
            if len(self._templates) >= TEMPLATES_KEPT:
                self._templates.clear()
            prepared = self._templates[url] = requests.Request("GET", url).prepare()
        return prepared

    def _result(
        self, response: requests.Response, url: str, moved_to: str | None, deadline: float
    ) -> FetchResult:
        headers = {k.lower(): v for k, v in response.headers.items()}
        self._raise_for_status(response.status_code, response.reason, headers, url)
        not_modified = response.status_code == 304
        body = b"" if not_modified else self._read_capped(response, url, deadline)
        # Nothing left unread: hand the connection back to the pool for the next poll (closing
        # the response would drop it, and a 304-heavy round would open one per feed).
        response.raw.release_conn()
        return FetchResult(
            url=url,
            not_modified=not_modified,
            body=body,
            # A 304 carries the validators too and updates them (RFC 9111 §4.3.4).
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            moved_to=moved_to,
            headers=headers,
            max_age=freshness_lifetime(headers, self.now()),
        )

    def _raise_for_status(
        self, status: int, reason: str, headers: Mapping[str, str], url: str
    ) -> None:
        if 200 <= status < 300 or status == 304:
            return
        message = f"{redact_url(url)}: HTTP {status} {reason}"
        if status == 410:
            raise FeedGone(message)
        if status in RATE_LIMIT_STATUSES:
            until = retry_after(headers, self.now())
            hint = f", retry after {until.isoformat()}" if until else ""
            raise RateLimitedFetch(message + hint, status, until)
        raise HTTPStatusError(message, status)

    def _read_capped(self, response: requests.Response, url: str, deadline: float) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(
                f"{redact_url(url)}: Content-Length {declared} exceeds the {self.max_bytes} cap"
            )
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in _decoded_chunks(response.raw):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        f"{redact_url(url)}: body exceeds the {self.max_bytes} byte cap"
                    )
                if time.monotonic() > deadline:
                    raise FetchError(f"{redact_url(url)}: body still arriving after the time cap")
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise FetchError(f"{redact_url(url)}: {_reason(e)} while reading") from e
        return b"".join(chunks)


def _decoded_chunks(raw: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """The body, decoded, as it arrives. read1 returns after a single socket read, so the time
    cap is checked between reads (iter_content would block until 64 kB had dripped in), and it
    never returns more than READ_CHUNK decoded bytes, so a gzip bomb cannot expand in one go."""
    while chunk := raw.read1(READ_CHUNK, decode_content=True):
        yield chunk


# ------------------------------------------------------------------------ URLs


def redact_url(url: str) -> str:
    """The URL without credentials or query values: safe for errors, logs and events."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # an unbalanced IPv6 bracket or a port out of range
        return "(unparseable URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    # Keys are re-quoted: an unquoted "&" or "=" in a key would read back as a bare value.
    query = "&".join(f"{quote_plus(key)}=***" for key, _ in pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _reason(error: BaseException) -> str:
    """The kind of failure, without the library's message (it repeats the URL, query and all)."""
    cause = error.__context__ or error.__cause__
    detail = f" ({type(cause).__name__})" if cause else ""
    return f"{type(error).__name__}{detail}"


def _check_scheme(url: str) -> None:
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as e:
        raise FetchError(f"{redact_url(url)}: not a valid URL") from e
    if scheme not in ("http", "https"):
        raise FetchError(f"{redact_url(url)}: only http and https feeds can be fetched")


def _redirect_target(response: requests.Response, url: str) -> str | None:
    if response.status_code not in (301, 302, 303, 307, 308):
        return None
    return _location(response, url)


def _location(response: requests.Response, url: str) -> str:
    location = response.headers.get("Location")
    if not location:
        raise FetchError(
            f"{redact_url(url)}: HTTP {response.status_code} without a Location header"
        )
    return urljoin(url, location)
