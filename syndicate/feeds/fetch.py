"""Fetch a feed's bytes: HTTP with timeouts, a decoded-size cap, conditional GET and redirects
followed by hand; or a local file for feeds configured as paths. Never parses."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import requests

from syndicate.errors import FeedGone, FetchError

MAX_REDIRECTS = 5
TOTAL_TIME_FACTOR = 4  # a whole body must arrive within 4 read timeouts
CONNECT_TIMEOUT = 5.0
ACCEPT = (
    "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,"
    "application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1"
)


@dataclass(frozen=True)
class FetchResult:
    url: str
    not_modified: bool
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # set when a 301/308 says the feed lives elsewhere now
    headers: dict[str, str] = field(default_factory=dict)


class Fetcher:
    def __init__(
        self,
        *,
        timeout: float,
        max_bytes: int,
        user_agent: str,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.session = session or requests.Session()

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

    def _read_file(self, path: Path) -> bytes:
        try:
            if path.stat().st_size > self.max_bytes:
                raise FetchError(f"{path}: larger than the {self.max_bytes} byte cap")
            return path.read_bytes()
        except OSError as e:
            raise FetchError(f"{path}: {e.strerror}") from e

    def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {"User-Agent": self.user_agent, "Accept": ACCEPT, "A-IM": "feed"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        permanent, hops = True, 0
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            response = self._get(url, headers)
            with response:
                location = _redirect_target(response, url)
                if location is None:
                    # Only a chain of permanent hops (301/308) moves the feed for good.
                    return self._result(response, url, url if hops and permanent else None)
                permanent = permanent and response.status_code in (301, 308)
                hops += 1
                url = location
        raise FetchError(f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str, headers: dict[str, str]) -> requests.Response:
        try:
            return self.session.get(
                url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
            )
        except requests.RequestException as e:
            raise FetchError(f"{redact_url(url)}: {_reason(e)}") from e

    def _result(self, response: requests.Response, url: str, moved_to: str | None) -> FetchResult:
        status = response.status_code
        if status == 304:
            return FetchResult(url=url, not_modified=True, moved_to=moved_to)
        if status == 410:
            raise FeedGone(f"{redact_url(url)}: HTTP 410 Gone")
        if status >= 400 or status < 200:
            raise FetchError(f"{redact_url(url)}: HTTP {status} {response.reason}")
        return FetchResult(
            url=url,
            not_modified=False,
            body=self._read_capped(response, url),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            moved_to=moved_to,
            headers={k.lower(): v for k, v in response.headers.items()},
        )

    def _read_capped(self, response: requests.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(
                f"{redact_url(url)}: Content-Length {declared} exceeds the {self.max_bytes} cap"
            )
        chunks: list[bytes] = []
        size = 0
        # The read timeout is per read: a server dripping a byte a second never trips it.
        deadline = time.monotonic() + self.timeout[1] * TOTAL_TIME_FACTOR
        try:
            # iter_content decodes gzip/deflate, so the cap counts decoded bytes (bomb-proof).
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        f"{redact_url(url)}: body exceeds the {self.max_bytes} byte cap"
                    )
                if time.monotonic() > deadline:
                    raise FetchError(f"{redact_url(url)}: body still arriving after the time cap")
                chunks.append(chunk)
        except requests.RequestException as e:
            raise FetchError(f"{redact_url(url)}: {_reason(e)} while reading") from e
        return b"".join(chunks)


def redact_url(url: str) -> str:
    """The URL without credentials or query values: safe for errors, logs and events."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = "&".join(f"{key}=***" for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _reason(error: requests.RequestException) -> str:
    """The kind of failure, without requests' message (it repeats the URL, query and all)."""
    cause = error.__context__ or error.__cause__
    detail = f" ({type(cause).__name__})" if cause else ""
    return f"{type(error).__name__}{detail}"


def _check_scheme(url: str) -> None:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
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
