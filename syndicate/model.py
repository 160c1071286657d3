"""Plain data shared by every layer: frozen dataclasses and enums, stdlib only."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


class Secret:
    """A credential that never shows itself in repr, str or logs; `reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    POSTED = "posted"
    WAITING = "waiting"
    FAILED = "failed"
    HELD = "held"
    UNKNOWN = "unknown"


CLAIMABLE_STATES = (DeliveryState.PENDING, DeliveryState.WAITING)


class FeedStatus(enum.StrEnum):
    ACTIVE = "active"
    GONE = "gone"  # HTTP 410: never polled again
    PAUSED = "paused"  # no longer in the config
    QUARANTINED = "quarantined"  # the ids changed wholesale; waits for `syndicate feeds accept`


class Trigger(enum.StrEnum):
    """What set a change in motion; recorded on every event."""

    SCHEDULE = "schedule"
    WEBSUB = "websub"
    CLI = "cli"
    WEB = "web"
    SWEEPER = "sweeper"
    RETRY = "retry"


@dataclass(frozen=True)
class FeedEntry:
    """One entry as the watcher sees it, normalised from whatever the feed format was."""

    identity: str
    link: str
    title: str
    content_html: str  # the full body when the feed has one, else the feed's summary
    published: datetime | None = None
    updated: datetime | None = None
    categories: tuple[str, ...] = ()
    author: str = ""
    content_is_summary: bool = False  # no full body in the feed: the page may say more
    image_url: str = ""  # from an image enclosure or media:thumbnail/content
    image_alt: str = ""
    # A hash of what the feed itself says (title, link, raw body and how to clean it,
    # categories): the same source means the same entry, with no cleaning. "" when the format
    # gives none (JSON Feed); the hash of the cleaned entry then decides.
    source_hash: str = ""
    # Set while content_html is the feed's raw markup (`parse_feed(clean=False)`): the base URL,
    # content type and encoding to clean it with, in `feeds.parse.finish`, which also settles
    # content_is_summary (until then: whether the body came from a description). None: final.
    raw_content: tuple[str, str, str] | None = None


class KnownEntry(NamedTuple):
    """What the ledger keeps of an entry to tell whether a poll shows it anew or edited."""

    id: int
    content_hash: str  # of the cleaned entry's visible fields (feeds.watcher.entry_hash)
    link: str
    source_hash: str = ""  # FeedEntry.source_hash when it was stored ("" before there was one)


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str
    entries: tuple[FeedEntry, ...]
    hub: str = ""
    self_url: str = ""
    ttl: float | None = None  # RSS <ttl>: minutes the feed asks to be left alone


@dataclass(frozen=True)
class Summary:
    """Platform-neutral summary of an entry, stored once and rendered per account.

    `sentences` are in the order the composer should take them: it uses the longest prefix
    that fits. Hashtags are a composition concern: platforms make them from `categories`.
    """

    title: str
    text: str
    sentences: tuple[str, ...]
    link: str
    categories: tuple[str, ...] = ()
    author: str = ""
    image_url: str = ""
    image_alt: str = ""
    abstract: str = ""  # an optional model-written summary; used only when it fits whole
    source: str = "extractive"  # extractive | page (text from the web page) | llm


@dataclass(frozen=True)
class Facet:
    """A rich-text span in UTF-8 byte offsets (Bluesky): a link, a #tag or a @mention."""

    kind: str  # link | tag | mention
    byte_start: int
    byte_end: int
    value: str  # the URI, the tag without '#', or the handle


@dataclass(frozen=True)
class LinkCard:
    """A link preview the client builds when the server does not (Bluesky, LinkedIn)."""

    url: str
    title: str
    description: str
    image_url: str = ""


@dataclass(frozen=True)
class Post:
    """Exactly what would be sent: the same object for preview and for publish."""

    platform: str
    text: str  # the first (or only) post
    length: int  # by the platform's own counter
    limit: int
    facets: tuple[Facet, ...] = ()
    card: LinkCard | None = None
    thread: tuple[str, ...] = ()  # thread mode: every part in order, thread[0] == text
    notes: tuple[str, ...] = ()  # why the render chose what it did (e.g. abstract too long)
    image_url: str = ""  # an image to attach itself (Bluesky `embed = "images"`), not a card
    image_alt: str = ""


LINK_ALWAYS = "always"
LINK_WHEN_TRUNCATED = "when_truncated"


@dataclass(frozen=True)
class ComposeOptions:
    """Per-account composition choices (config keys of the same names)."""

    template: str = "{title}\n\n{summary}\n\n{url}"
    link: str = LINK_ALWAYS  # always | when_truncated
    hashtags: bool = True
    max_hashtags: int = 3
    categories_allow: tuple[str, ...] = ()  # only these categories become hashtags
    categories_deny: tuple[str, ...] = ()  # never these
    camel_case_tags: bool = True  # "Social Media" -> #SocialMedia; False drops multi-word ones
    thread: bool = False  # a long summary becomes a numbered chain ending with the link


@dataclass(frozen=True)
class DeliveryOptions:
    """Per-account pacing and retry choices (config keys of the same names; seconds)."""

    settle: float = 0.0  # hold a new delivery this long, so an edit right after publishing wins
    min_gap: float = 0.0  # at least this long between two posts to the account
    quota: int = 0  # at most this many posts per quota_window (0: no quota)
    quota_window: float = 3600.0
    retry_base: float = 30.0  # first backoff step; doubles per attempt, with jitter
    retry_cap: float = 3600.0
    max_attempts: int = 8


@dataclass(frozen=True)
class PublishResult:
    remote_id: str
    remote_url: str


@dataclass(frozen=True)
class Account:
    """A configured social account. `options` holds platform keys; secrets are `Secret`s."""

    name: str
    platform: str
    compose: ComposeOptions = field(default_factory=ComposeOptions)
    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    options: Mapping[str, str | int | bool | Secret] = field(default_factory=dict)

    @property
    def template(self) -> str:
        return self.compose.template

    def option(self, key: str, default: str = "") -> str:
        value = self.options.get(key, default)
        return value.reveal() if isinstance(value, Secret) else str(value)


@dataclass(frozen=True)
class OptionSpec:
    """One account option a platform accepts; settings validates against these."""

    name: str
    kind: type[str] | type[int] | type[bool] = str
    required: bool = False
    secret: bool = False
    default: str | int | bool | None = None
    help: str = ""  # also what a value that fails `pattern` is told it should be
    choices: tuple[str, ...] = ()  # str options: the only values accepted
    url: bool = False  # str options: an http(s) URL with a host (empty allowed unless required)
    pattern: str = ""  # str options: a regular expression the whole value must match
    minimum: int | None = None  # int options: the smallest value accepted
