"""Bluesky records as plain data: record keys (TIDs), post records, facets, embeds. Pure.

Shapes from the lexicons `app.bsky.feed.post`, `app.bsky.richtext.facet`,
`app.bsky.embed.external` and `app.bsky.embed.images` (reference/platforms.md §6.2-6.3).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syndicate.model import Facet, LinkCard

POST_COLLECTION = "app.bsky.feed.post"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_PATTERN = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
# Derived TIDs carry a timestamp between 2023-01-01 (the network's start) and 2^46 µs (about
# 2.2 years) later: never in the future, so no server can take one for a clock error.
_TID_EPOCH_US = 1_672_531_200_000_000
_TID_SPAN = 1 << 46
_FEATURES = {
    "link": ("app.bsky.richtext.facet#link", "uri"),
    "tag": ("app.bsky.richtext.facet#tag", "tag"),
}


@dataclass(frozen=True)
class StrongRef:
    """A record by URI and content hash: what a reply points at."""

    uri: str
    cid: str

    @property
    def rkey(self) -> str:
        return self.uri.rpartition("/")[2]

    def json(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}


def tid_for(key: str) -> str:
    """A valid TID derived from `key` alone: the same delivery key always names the same
    record, so a retry can only ever collide with its own earlier attempt.

    56 bits of a SHA-256 of the key fill the timestamp offset and the 10-bit clock id; two
    keys of one account share a TID with odds around n²/2^57."""
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    micros = _TID_EPOCH_US + (digest >> 10) % _TID_SPAN
    return encode_tid(micros, digest & 0x3FF)


def encode_tid(micros: int, clock_id: int) -> str:
    """53 bits of microseconds and 10 of clock id, top bit 0, as 13 base32-sortable chars."""
    if not 0 <= micros < 1 << 53 or not 0 <= clock_id < 1 << 10:
        raise ValueError(f"TID out of range: {micros}, {clock_id}")
    value = (micros << 10) | clock_id
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def datetime_string(moment: datetime) -> str:
    """The lexicon's datetime: UTC with milliseconds and a `Z`, as the reference client."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def post_record(
    text: str,
    facets: tuple[Facet, ...],
    created_at: datetime,
    *,
    langs: tuple[str, ...] = (),
    embed: dict[str, Any] | None = None,
    reply: tuple[StrongRef, StrongRef] | None = None,
) -> dict[str, Any]:
    """An `app.bsky.feed.post` record; `reply` is (root, parent)."""
    record: dict[str, Any] = {
        "$type": POST_COLLECTION,
        "text": text,
        "createdAt": datetime_string(created_at),
    }
    features = [facet_json(f) for f in facets if f.kind in _FEATURES]
    if features:
        record["facets"] = features
    if langs:
        record["langs"] = list(langs)
    if reply is not None:
        record["reply"] = {"root": reply[0].json(), "parent": reply[1].json()}
    if embed is not None:
        record["embed"] = embed
    return record


def facet_json(facet: Facet) -> dict[str, Any]:
    kind, name = _FEATURES[facet.kind]
    return {
        "index": {"byteStart": facet.byte_start, "byteEnd": facet.byte_end},
        "features": [{"$type": kind, name: facet.value}],
    }


def external_embed(card: LinkCard, thumb: dict[str, Any] | None) -> dict[str, Any]:
    external: dict[str, Any] = {
        "uri": card.url,
        "title": card.title,
        "description": card.description,
    }
    if thumb is not None:
        external["thumb"] = thumb
    return {"$type": "app.bsky.embed.external", "external": external}


def images_embed(image: dict[str, Any], alt: str) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.images", "images": [{"image": image, "alt": alt}]}
