"""Plain data shared by every layer: frozen dataclasses and enums, stdlib only."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


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
    GONE = "gone"
    PAUSED = "paused"


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
    content_html: str
    published: datetime | None = None
    updated: datetime | None = None
    categories: tuple[str, ...] = ()
    author: str = ""


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str
    entries: tuple[FeedEntry, ...]
    hub: str = ""
    self_url: str = ""


@dataclass(frozen=True)
class Summary:
    """Platform-neutral summary of an entry, stored once and rendered per account."""

    title: str
    text: str
    sentences: tuple[str, ...]
    link: str
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Post:
    """Exactly what would be sent: the same object for preview and for publish."""

    platform: str
    text: str
    length: int
    limit: int


@dataclass(frozen=True)
class PublishResult:
    remote_id: str
    remote_url: str


@dataclass(frozen=True)
class Account:
    """A configured social account. `options` holds platform keys; secrets are `Secret`s."""

    name: str
    platform: str
    template: str
    options: Mapping[str, str | int | bool | Secret] = field(default_factory=dict)

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
    help: str = ""
