"""Bluesky: `com.atproto.repo.createRecord` with a record key derived from the delivery key.

Plain requests rather than the atproto SDK: `send_post` takes no record key, the SDK pulls in
httpx, pydantic and libipld, and we need our own timeouts, no sleeping, and every status to
classify (reference/platforms.md §6). The record key (a TID) is a function of the delivery
key, so a retry can only meet its own earlier attempt ("already exists") and `find_existing`
is one `getRecord` per part. Sessions, errors and redaction live in `bluesky_xrpc`, record
shapes in `bluesky_record`, image fetching in `bluesky_media`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests

from syndicate.errors import (
    AlreadyPosted,
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
from syndicate.platforms.bluesky_media import MAX_IMAGE_BYTES, fetch_image
from syndicate.platforms.bluesky_record import (
    POST_COLLECTION,
    StrongRef,
    external_embed,
    images_embed,
    post_record,
    tid_for,
)
from syndicate.platforms.bluesky_xrpc import Xrpc, classify, error_name, excerpt, json_object
from syndicate.platforms.compose import render
from syndicate.platforms.facets import facets_for
from syndicate.platforms.rules import BLUESKY_MAX_BYTES, BLUESKY_MAX_GRAPHEMES, RULES

__all__ = ["BlueskyPublisher", "classify", "part_key"]

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "https://bsky.social"
CONNECT_TIMEOUT = 5.0
# A handle (domain name), an account e-mail or a DID: what createSession takes as identifier.
_IDENTIFIER = (
    r"@?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
    r"|did:[a-z]+:[A-Za-z0-9._:%-]+|[^@\s]+@[^@\s]+\.[^@\s]+"
)


def part_key(key: str, number: int) -> str:
    """The key of part `number` (0-based) of a thread: the delivery key, then `key-2`, ..."""
    return key if number == 0 else f"{key}-{number + 1}"


class BlueskyPublisher:
    PLATFORM: ClassVar[str] = "bluesky"
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec(
            "base_url",
            default=DEFAULT_SERVICE,
            url=True,
            help="where to log in: the entryway https://bsky.social or your own PDS",
        ),
        OptionSpec(
            "handle",
            required=True,
            pattern=_IDENTIFIER,
            help="the account's handle (writer.bsky.social), e-mail or DID",
        ),
        OptionSpec(
            "app_password", required=True, secret=True, help="an app password, not the login one"
        ),
        OptionSpec(
            "embed",
            default="card",
            choices=("card", "images", "none"),
            help="card: a link card; images: the entry's image with alt text; none",
        ),
        OptionSpec(
            "language",
            default="",
            pattern=r"(?:[a-z]{2,3})?",
            help="an ISO 639 code of 2-3 lowercase letters like 'en', or empty",
        ),
    )
    MAX_GRAPHEMES: ClassVar[int] = BLUESKY_MAX_GRAPHEMES
    MAX_BYTES: ClassVar[int] = BLUESKY_MAX_BYTES
    MAX_IMAGE_BYTES: ClassVar[int] = MAX_IMAGE_BYTES

    def __init__(
        self,
        account: Account,
        *,
        timeout: float,
        tokens: TokenCache | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account = account
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.xrpc = Xrpc(
            account.option("base_url") or DEFAULT_SERVICE,
            account.option("handle").removeprefix("@"),
            account.option("app_password"),
            timeout=self.timeout,
            tokens=tokens if tokens is not None else MemoryTokenCache(),
        )
        # Images come from anywhere on the web: a session of their own never carries a token.
        self.images = HttpSession()
        language = account.option("language")
        self.langs = (language,) if language else ()

    def render(self, summary: Summary) -> Post:
        """The composed post; with `embed = "images"` it carries the entry's image (alt text:
        the feed's, else the title) instead of a card, with `"none"` neither."""
        post = render(summary, self.account.compose, RULES[self.PLATFORM])
        embed = self.account.option("embed", "card")
        if embed == "none":
            return replace(post, card=None)
        if embed == "images" and summary.image_url.strip():
            alt = " ".join((summary.image_alt or summary.title).split())
            return replace(post, image_url=summary.image_url.strip(), image_alt=alt)
        return post

    def publish(self, post: Post, key: str) -> PublishResult:
        """One record, or a thread of replies, each part under its own derived record key.

        A part that already exists (an earlier attempt got that far) is looked up and the
        chain continues from it; when no part was new, AlreadyPosted names the first."""
        did = self.xrpc.session().did
        embed = self._embed(post)
        link = post.card.url if post.card else ""
        refs: list[StrongRef] = []
        created = False
        for number, text in enumerate(post.thread or (post.text,)):
            record = post_record(
                text,
                post.facets if number == 0 else facets_for(text, link),
                self.clock(),
                langs=self.langs,
                embed=embed if number == 0 else None,
                reply=(refs[0], refs[-1]) if refs else None,
            )
            ref, new = self._create(did, tid_for(part_key(key, number)), record)
            refs.append(ref)
            created = created or new
        result = _result(did, refs[0])
        if not created:
            raise AlreadyPosted(f"{result.remote_url} already exists", result)
        return result

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        """The first record when every part of the post exists; None when one is definitely
        missing (a re-send then fills the gap under the same keys)."""
        try:
            return self._find(key, post)
        except (RateLimited, AuthError, OutcomeUnknown):
            raise
        except PublishError as e:
            raise OutcomeUnknown(f"bluesky: cannot tell whether {key} was posted: {e}") from e

    def check(self) -> str:
        body = json_object(self.xrpc.call("GET", "com.atproto.server.getSession"))
        return f"@{body.get('handle')} on Bluesky ({body.get('did')})"

    def _find(self, key: str, post: Post) -> PublishResult | None:
        did = self.xrpc.session().did
        first: StrongRef | None = None
        for number in range(len(post.thread) or 1):
            ref = self._get_record(did, tid_for(part_key(key, number)))
            if ref is None:
                return None
            first = first or ref
        assert first is not None  # a post has at least one part
        return _result(did, first)

    def _create(self, did: str, rkey: str, record: dict[str, Any]) -> tuple[StrongRef, bool]:
        """The record's reference, and whether this call created it."""
        body = {
            "repo": did,
            "collection": POST_COLLECTION,
            "rkey": rkey,
            "validate": True,
            "record": record,
        }
        try:
            response = self.xrpc.call("POST", "com.atproto.repo.createRecord", json=body)
        except (TransientError, PermanentError) as e:
            # The reference PDS answers an existing rkey with 500, other servers with 400
            # (platforms.md §6.4-6.5): only a lookup tells "already there" from a failure.
            return self._existing_after(e, did, rkey), False
        return _ref(response, "createRecord"), True

    def _existing_after(self, error: PublishError, did: str, rkey: str) -> StrongRef:
        try:
            found = self._get_record(did, rkey)
        except PublishError as e:
            if isinstance(error, PermanentError):
                # Refused, or a duplicate we cannot confirm: let a later attempt decide.
                raise TransientError(f"{error} (and looking up {rkey} failed: {e})") from e
            raise error from e
        if found is None:
            raise error
        log.info("bluesky: record %s already exists; an earlier attempt created it", rkey)
        return found

    def _get_record(self, did: str, rkey: str) -> StrongRef | None:
        params = {"repo": did, "collection": POST_COLLECTION, "rkey": rkey}
        response = self.xrpc.call(
            "GET", "com.atproto.repo.getRecord", params=params, allow=(400, 404)
        )
        if response.status_code >= 300:
            if error_name(response) == "RecordNotFound":
                return None
            raise classify(response)
        return _ref(response, "getRecord")

    def _embed(self, post: Post) -> dict[str, Any] | None:
        """Images with alt text when the post carries an image that can be fetched, else the
        link card (with its thumbnail when that can be fetched), else nothing."""
        if post.image_url:
            image = self._upload_image(post.image_url)
            if image is not None:
                return images_embed(image, post.image_alt)
        if post.card is None:
            return None
        thumb_url = post.card.image_url
        # An image that just failed is not fetched a second time for the thumbnail.
        thumb = self._upload_image(thumb_url) if thumb_url and thumb_url != post.image_url else None
        return external_embed(post.card, thumb)

    def _upload_image(self, url: str) -> dict[str, Any] | None:
        image = fetch_image(self.images, url, self.timeout)
        if image is None:
            return None
        try:
            response = self.xrpc.call(
                "POST",
                "com.atproto.repo.uploadBlob",
                content_type=image.mime_type,
                data=image.data,
            )
        except PermanentError as e:
            log.warning("image %s left out: the PDS refused it: %s", url, e)
            return None
        except OutcomeUnknown as e:
            # An orphan blob harms nothing and no post exists yet: a retry is safe.
            raise TransientError(f"uploadBlob: {e}") from e
        blob = json_object(response).get("blob")
        if not isinstance(blob, dict):
            log.warning("image %s left out: uploadBlob answered %s", url, excerpt(response))
            return None
        return blob


def _ref(response: requests.Response, method: str) -> StrongRef:
    body = json_object(response)
    uri, cid = body.get("uri"), body.get("cid")
    if isinstance(uri, str) and uri.startswith("at://") and isinstance(cid, str) and cid:
        return StrongRef(uri, cid)
    # 2xx: the record most likely exists; only a lookup can tell.
    raise OutcomeUnknown(f"bluesky {method}: unexpected answer: {excerpt(response)}")


def _result(did: str, ref: StrongRef) -> PublishResult:
    return PublishResult(ref.uri, f"https://bsky.app/profile/{did}/post/{ref.rkey}")
