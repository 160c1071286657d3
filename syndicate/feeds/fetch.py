"""Fetch a feed's bytes: HTTP with timeouts, a decoded-size cap, a total time cap, conditional
GET, redirects followed by hand and checked against the SSRF rule at every hop; or a local file
for feeds configured as paths. Never parses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote_plus, urljoin, urlsplit, urlunsplit

import requests
import urllib3

from syndicate.errors import FeedGone, FetchError
from syndicate.feeds.netguard import GuardedAdapter, check_host

MAX_REDIRECTS = 5
# Every hop and the body must arrive within 4 read timeouts. Residual risk: response headers
# are read by http.client with only the per-read timeout, so a server trickling header lines
# can outlast the cap; the worker's task time limit is the backstop there.
TOTAL_TIME_FACTOR = 4
CONNECT_TIMEOUT = 5.0
READ_CHUNK = 65536
# A longer wait is more likely a bug than a plan; it also keeps the datetime sum in range.
MAX_RETRY_AFTER = timedelta(days=31)
RATE_LIMIT_STATUSES = frozenset({429, 503})
ACCEPT = (
    "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,"
    "application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1"
)
# Fixed, not requests' default, which adds "br" and "zstd" whenever those packages happen to
# be installed: what we accept should not depend on that, and the cap is tested on these two.
ACCEPT_ENCODING = "gzip, deflate"


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
    every connection it makes from then on."""

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

    def post_form(self, url: str, form: Mapping[str, str]) -> int:
        """POST a form (a WebSub hub request) under the same SSRF guard as a fetch; redirects
        are not followed. The status code, or FetchError when no answer came."""
        _check_scheme(url)
        check_host(urlsplit(url).hostname or "", block_private=self.block_private)
        try:
            response = self.session.post(
                url,
                data=dict(form),
                headers={"User-Agent": self.user_agent},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as e:
            raise FetchError(f"{redact_url(url)}: {_reason(e)}") from e
        with response:
            return response.status_code

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
        try:
            return self.session.get(
                url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
            )
        except requests.RequestException as e:
            raise FetchError(f"{redact_url(url)}: {_reason(e)}") from e

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


# ------------------------------------------------------------- pure header decisions


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a 429/503 lets us ask again (UTC), from Retry-After in either form (RFC 9110
    §10.2.3); None without a usable value. `headers` has lower-cased names."""
    value = headers.get("retry-after", "").strip()
    seconds = _delta_seconds(value)
    if seconds is not None:
        delay = timedelta(seconds=seconds)
    else:
        at = _http_date(value)
        if at is None:
            return None
        # Measured against the server's own Date, so a skewed server clock does not matter.
        delay = at - (_http_date(headers.get("date", "")) or now)
    return now + min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def freshness_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the response stays fresh (RFC 9111 §4.2.1): max-age wins over Expires, and
    no-cache or no-store mean the server gives no freshness at all. Lower-cased names."""
    directives = _cache_directives(headers.get("cache-control", ""))
    if "no-cache" in directives or "no-store" in directives:
        return None
    max_age = _delta_seconds(directives.get("max-age", ""))
    if max_age is not None:
        return float(max_age)
    expires = _http_date(headers.get("expires", ""))
    if expires is None:
        return None
    served = _http_date(headers.get("date", "")) or now
    return max(0.0, (expires - served).total_seconds())


def _cache_directives(value: str) -> dict[str, str]:
    directives = {}
    for part in value.split(","):
        name, _, argument = part.partition("=")
        if name.strip():
            directives[name.strip().lower()] = argument.strip().strip('"')
    return directives


def _delta_seconds(value: str) -> int | None:
    # Digits only (RFC 9110 §1.2); long runs are refused before int() (it caps at 4,300 digits).
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP-dates are always GMT; "-0000" or an obsolete form may parse as naive.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


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
    location = response.headers.get("Location")
    if not location:
        raise FetchError(
            f"{redact_url(url)}: HTTP {response.status_code} without a Location header"
        )
    return urljoin(url, location)
