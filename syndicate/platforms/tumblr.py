"""Tumblr: NPF posts through POST /v2/blog/{blog}/posts, signed with OAuth 1.0a.

requests with requests-oauthlib's `OAuth1` auth: OAuth 1.0a tokens never expire, and the JSON
body is not part of the signature (RFC 5849 signs form bodies only), so posts go as NPF JSON.
Tumblr has no idempotency key (reference/platforms.md §9.3): every post carries a `slug` that
ends in a digest of the delivery key, and the entry link as `source_url`; `find_existing`
lists the blog's recent posts and matches either. Every call is signed, so the consumer key
never travels in a URL (where exception messages would carry it).

The NPF body is a pure function of the Post (`npf_body`): one text block per line, with link
formatting over each URL; a line made only of hashtags becomes the post's native tags (Tumblr
shows them as "#tag" under the post, where a reader expects them); the link card becomes a
link block.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote

import requests
from requests_oauthlib import OAuth1

from syndicate.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.httpenv import HttpSession
from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary
from syndicate.platforms.base import MemoryTokenCache, TokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES
from syndicate.platforms.textlen import find_urls

log = logging.getLogger(__name__)
# Their DEBUG lines show the consumer key and the token (secrets here) and every signed body.
for _name in ("oauthlib", "requests_oauthlib"):
    if logging.getLogger(_name).level < logging.INFO:
        logging.getLogger(_name).setLevel(logging.INFO)

DEFAULT_BASE_URL = "https://api.tumblr.com"
CONNECT_TIMEOUT = 5.0
USER_AGENT = "syndicate (+https://github.com/syndicate)"  # Tumblr asks for a consistent one
RECENT_POSTS = 20  # the most one page of /posts returns
DAILY_LIMIT_CODE = 8023
# 403s that refuse this post for good (queue full, media limits); other 403s need a person.
POST_REFUSED_CODES = frozenset({8004, 8011, 8022})
# The daily post limit follows Tumblr's server calendar day, believed to be New York's
# (unverified). Midnight EST (05:00 UTC) is an hour late in summer but never early.
SERVER_DAY_START = timedelta(hours=5)
_EPOCH_SECONDS = 1_000_000_000  # a reset header above this is a timestamp, not a delay
_DATE_RESOLUTION = timedelta(seconds=1)  # Date is whole seconds: a delay may end 1 s later
_TAG = r"#\w*[^\W\d_]\w*"  # a hashtag has at least one letter ("#1" is not a tag)
_TAG_LINE = re.compile(rf"{_TAG}(?:\s+{_TAG})*")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_SLUG_WORDS = 40
_BLOG = r"t:[A-Za-z0-9_-]+|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*"


class TumblrPublisher:
    PLATFORM: ClassVar[str] = "tumblr"
    TEXT_BLOCK_LIMIT: ClassVar[int] = 4096  # Unicode code points per text block
    MAX_BLOCKS: ClassVar[int] = 1000
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("base_url", default=DEFAULT_BASE_URL, url=True, help="the API root"),
        OptionSpec(
            "blog",
            required=True,
            pattern=_BLOG,
            help="a blog name like 'myblog', its host 'myblog.tumblr.com', or its UUID 't:…'",
        ),
        OptionSpec("consumer_key", required=True, secret=True, help="the app's OAuth key"),
        OptionSpec("consumer_secret", required=True, secret=True, help="the app's secret"),
        OptionSpec("oauth_token", required=True, secret=True, help="the user's access token"),
        OptionSpec("oauth_token_secret", required=True, secret=True, help="its secret"),
    )

    def __init__(
        self, account: Account, *, timeout: float, tokens: TokenCache | None = None
    ) -> None:
        self.account = account
        self.base_url = (account.option("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.blog = account.option("blog")
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.tokens = tokens or MemoryTokenCache()  # OAuth 1.0a tokens never rotate
        self.session = HttpSession()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.auth = OAuth1(
            account.option("consumer_key"),
            account.option("consumer_secret"),
            account.option("oauth_token"),
            account.option("oauth_token_secret"),
        )

    def render(self, summary: Summary) -> Post:
        return render(summary, self.account.compose, RULES[self.PLATFORM])

    def publish(self, post: Post, key: str) -> PublishResult:
        """One post. Tumblr has no replies to chain, so a thread's parts go into it in order
        (the link is in the last part); Tumblr's own render never makes a thread."""
        body = npf_body(post, key)
        response = self._request("POST", self._blog_path("/posts"), creating=True, json=body)
        try:
            post_id = str(response.json()["response"]["id"])
        except (ValueError, KeyError, TypeError) as e:
            # 2xx means the post most likely exists; only a lookup can tell.
            raise OutcomeUnknown(f"unexpected response shape: {_excerpt(response)}") from e
        return PublishResult(post_id, self._public_url(post_id, body["slug"]))

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        """The blog's recent posts, matched on the slug's key digest or the entry link.

        A lookup that fails says nothing about the post: OutcomeUnknown, except for a refused
        token or a rate limit, which say what to do next more precisely."""
        try:
            response = self._request(
                "GET", self._blog_path("/posts"), params={"npf": "true", "limit": RECENT_POSTS}
            )
            posts = _response(response).get("posts")
        except (TransientError, PermanentError) as e:
            raise OutcomeUnknown(f"cannot list recent posts: {e}") from e
        if not isinstance(posts, list):
            raise OutcomeUnknown(f"no post list in the answer: {_excerpt(response)}")
        digest, source = key_digest(key), source_url(post)
        for item in posts:
            if isinstance(item, dict) and _matches(item, digest, source):
                post_id = str(item.get("id_string") or item.get("id"))
                return PublishResult(post_id, str(item.get("post_url") or ""))
        return None

    def check(self) -> str:
        """Who the token belongs to, and that the configured blog is one of theirs."""
        user = _response(self._request("GET", "/v2/user/info")).get("user")
        if not isinstance(user, dict):
            raise TransientError("GET /v2/user/info answered without a user")
        blogs = [b for b in user.get("blogs") or [] if isinstance(b, dict)]
        if not any(_is_blog(self.blog, b) for b in blogs):
            names = ", ".join(str(b.get("name")) for b in blogs) or "none"
            raise PermanentError(f"blog {self.blog!r} is not one of this user's blogs ({names})")
        return f"{user.get('name')} on Tumblr, posting to {self.blog}"

    # ------------------------------------------------------------------ plumbing

    def _blog_path(self, rest: str) -> str:
        return f"/v2/blog/{quote(self.blog, safe=':.')}{rest}"

    def _public_url(self, post_id: str, slug: str) -> str:
        """The post's address (as Tumblr's post_url), built from the blog where it can be."""
        if not self.blog.startswith("t:"):
            host = self.blog if "." in self.blog else f"{self.blog}.tumblr.com"
            return f"https://{host}/post/{post_id}/{slug}"
        # A UUID names no host: ask for post_url, which must not turn a posted post into an error.
        try:
            found = _response(self._request("GET", self._blog_path(f"/posts/{post_id}")))
        except PublishError as e:
            log.warning("tumblr post %s: no public URL (%s)", post_id, e)
            return ""
        return str(found.get("post_url") or "")

    def _request(
        self, method: str, path: str, *, creating: bool = False, **kwargs: Any
    ) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.ConnectTimeout as e:
            raise TransientError(f"{url}: connect timeout") from e
        except requests.ConnectionError as e:
            raise _connection_error(url, e) from e
        except requests.Timeout as e:
            raise OutcomeUnknown(f"{url}: no answer within {self.timeout[1]}s") from e
        except requests.RequestException as e:
            # The exception's text may hold the request; its type says enough.
            raise OutcomeUnknown(f"{url}: {type(e).__name__}") from e
        if response.status_code >= 300:
            raise classify(response, creating=creating)
        return response


# ---------------------------------------------------------------------- NPF body (pure)


def npf_body(post: Post, key: str) -> dict[str, Any]:
    """The NPF create body for `post`: text blocks, the link block, tags, slug, source."""
    blocks: list[dict[str, Any]] = []
    tags: list[str] = []
    for line in _lines(post):
        if _TAG_LINE.fullmatch(line):
            tags.extend(tag.lstrip("#") for tag in line.split())
        else:
            blocks.append(text_block(line))
    if post.card is not None:
        card = post.card
        blocks.append(
            {"type": "link", "url": card.url, "title": card.title, "description": card.description}
        )
    _check_limits(blocks)
    body: dict[str, Any] = {"content": blocks, "state": "published", "slug": slug(key, post)}
    if tags:
        body["tags"] = ",".join(dict.fromkeys(tags))  # repeats dropped, order kept
    if source := source_url(post):
        body["source_url"] = source
    return body


def _check_limits(blocks: list[dict[str, Any]]) -> None:
    """Tumblr refuses these (400, subcode 8001): say so before spending a call."""
    if len(blocks) > TumblrPublisher.MAX_BLOCKS:
        limit = TumblrPublisher.MAX_BLOCKS
        raise PermanentError(f"{len(blocks)} content blocks; Tumblr takes at most {limit}")
    longest = max((len(b.get("text", "")) for b in blocks), default=0)
    if longest > TumblrPublisher.TEXT_BLOCK_LIMIT:
        limit = TumblrPublisher.TEXT_BLOCK_LIMIT
        raise PermanentError(f"a line of {longest} characters; a Tumblr text block holds {limit}")


def text_block(line: str) -> dict[str, Any]:
    """One paragraph; URLs become links (offsets in code points, as Python indexes)."""
    block: dict[str, Any] = {"type": "text", "text": line}
    links = [
        {"start": start, "end": end, "type": "link", "url": line[start:end]}
        for start, end in find_urls(line)
    ]
    if links:
        block["formatting"] = links
    return block


def slug(key: str, post: Post) -> str:
    """Readable words from the first line, then the key's digest that `find_existing` seeks."""
    first = next(iter(_lines(post)), "")
    ascii_words = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode()
    words = _SLUG_JUNK.sub("-", ascii_words.lower())[:_SLUG_WORDS].strip("-")
    return f"{words or 'post'}-{key_digest(key)}"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def source_url(post: Post) -> str:
    """The entry's link: the card's, else the last URL of the text (where templates put it)."""
    if post.card is not None:
        return post.card.url
    text = "\n".join(post.thread or (post.text,))
    urls = find_urls(text)
    return text[urls[-1][0] : urls[-1][1]] if urls else ""


def _lines(post: Post) -> list[str]:
    parts = post.thread or (post.text,)
    return [line.strip() for part in parts for line in part.splitlines() if line.strip()]


def _matches(item: Mapping[str, Any], digest: str, source: str) -> bool:
    # Link-block URLs may be rewritten through Tumblr's redirector; slug and source_url are not.
    found_slug = str(item.get("slug") or "")
    return found_slug.endswith(f"-{digest}") or bool(source and item.get("source_url") == source)


def _is_blog(identifier: str, blog: Mapping[str, Any]) -> bool:
    name = str(blog.get("name") or "")
    host = str(blog.get("url") or "").removeprefix("https://").removeprefix("http://")
    candidates = {name, f"{name}.tumblr.com", str(blog.get("uuid") or ""), host.rstrip("/")}
    return identifier.lower() in {c.lower() for c in candidates if c}


def _response(response: requests.Response) -> dict[str, Any]:
    """The `response` member of Tumblr's envelope."""
    try:
        inner = response.json()["response"]
    except (ValueError, KeyError, TypeError) as e:
        raise TransientError(f"unexpected response: {_excerpt(response)}") from e
    if not isinstance(inner, dict):
        raise TransientError(f"unexpected response: {_excerpt(response)}")
    return inner


# ----------------------------------------------------------------------- classification


def _connection_error(url: str, error: requests.ConnectionError) -> PublishError:
    text = repr(error)
    if "NewConnectionError" in text or "NameResolutionError" in text:
        return TransientError(f"{url}: cannot connect ({type(error).__name__})")
    # The connection broke after the request may have been sent.
    return OutcomeUnknown(f"{url}: connection dropped ({type(error).__name__})")


def classify(response: requests.Response, *, creating: bool = False) -> PublishError:
    """Map a non-2xx answer to what to do next (reference/platforms.md §9.2).

    `creating`: the request was a create, so a 500/502/504 may have posted (no key to replay).
    """
    status = response.status_code
    codes = error_codes(response)
    message = f"HTTP {status}: {_error_text(response)}"
    if status == 429:
        return RateLimited(message, _reset_at(response))
    if status == 403:
        return _forbidden(message, codes, response)
    if status == 401:
        return AuthError(message)  # OAuth 1.0a tokens do not expire: this one was revoked
    if creating and status in (500, 502, 504):
        return OutcomeUnknown(message)
    if status >= 500 or status == 408:
        return TransientError(message)
    return PermanentError(message)


def _forbidden(message: str, codes: set[int], response: requests.Response) -> PublishError:
    if DAILY_LIMIT_CODE in codes:
        return RateLimited(message, _next_server_day(_server_now(response)))
    if codes & POST_REFUSED_CODES:
        return PermanentError(message)
    return AuthError(message)  # not allowed to post here: a person must look


def error_codes(response: requests.Response) -> set[int]:
    """Tumblr's subcodes from `errors[].code` (the fields inside are unverified)."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return set()
    if not isinstance(errors, list):
        return set()
    return {e["code"] for e in errors if isinstance(e, dict) and isinstance(e.get("code"), int)}


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
        meta = body.get("meta") or {}
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    except (ValueError, AttributeError):
        return _excerpt(response)
    details = [f"{e.get('detail') or e.get('title')} (code {e.get('code')})" for e in errors]
    return "; ".join([str(meta.get("msg") or ""), *details])[:300] or _excerpt(response)


def _excerpt(response: requests.Response) -> str:
    return response.text[:200].replace("\n", " ") or f"empty body (HTTP {response.status_code})"


def _server_now(response: requests.Response) -> datetime | None:
    try:
        return parsedate_to_datetime(response.headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _next_server_day(now: datetime | None) -> datetime | None:
    if now is None:
        return None
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0) + SERVER_DAY_START
    return day_start if day_start > now else day_start + timedelta(days=1)


def _reset_at(response: requests.Response) -> datetime | None:
    """Retry-After, else the latest exhausted X-Ratelimit-Per{day,hour}-Reset (names
    unverified: seconds to wait, or a Unix time), counted from the server's Date."""
    now = _server_now(response)
    if after := response.headers.get("Retry-After", "").strip():
        if after.isdigit():
            return None if now is None else now + _DATE_RESOLUTION + timedelta(seconds=int(after))
        try:
            return parsedate_to_datetime(after).astimezone(UTC)
        except (TypeError, ValueError):
            return None
    resets = [_reset_header(response.headers, window, now) for window in ("Perday", "Perhour")]
    known = [r for r in resets if r is not None]
    return max(known) if known else None


def _reset_header(headers: Mapping[str, str], window: str, now: datetime | None) -> datetime | None:
    remaining = headers.get(f"X-Ratelimit-{window}-Remaining", "").strip()
    value = headers.get(f"X-Ratelimit-{window}-Reset", "").strip()
    if remaining not in ("", "0") or not value.replace(".", "", 1).isdigit():
        return None  # this window is not the one exhausted
    seconds = float(value)
    if seconds >= _EPOCH_SECONDS:
        return datetime.fromtimestamp(seconds, UTC)
    return None if now is None else now + _DATE_RESOLUTION + timedelta(seconds=seconds)
