"""Typed rows read from the ledger."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from syndicate.model import DeliveryState, FeedStatus


@dataclass(frozen=True)
class FeedRow:
    id: int
    name: str
    url: str
    status: FeedStatus
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    baselined_at: datetime | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    error_count: int
    last_error: str | None
    accept_pending: bool = False
    defer_until: datetime | None = None
    fetch_url: str | None = None
    hub: str | None = None
    self_url: str | None = None
    websub_token: str | None = field(default=None, repr=False)
    websub_secret: str | None = field(default=None, repr=False)
    websub_next_secret: str | None = field(default=None, repr=False)
    websub_state: str | None = None
    websub_topic: str | None = None
    websub_lease_until: datetime | None = None
    websub_renew_at: datetime | None = None


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    platform: str
    health: str


@dataclass(frozen=True)
class EntryRow:
    id: int
    feed_id: int
    identity: str
    link: str
    title: str
    content_html: str
    categories: tuple[str, ...]
    author: str
    content_is_summary: bool
    image_url: str
    image_alt: str
    published: datetime | None
    updated: datetime | None
    content_hash: str
    summary: dict[str, Any] | None
    baseline: bool


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    entry_id: int
    account_id: int
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    claim_token: str | None
    idempotency_key: str
    rendered_text: str | None
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    reconcile_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class HistoryRow:
    delivery_id: int
    at: datetime
    feed: str
    entry_title: str
    entry_link: str
    account: str
    platform: str
    state: DeliveryState
    attempts: int
    remote_url: str | None
    last_error: str | None
    entry_id: int | None = None  # set by store.queries, so a row links to the entry timeline


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    kind: str
    trigger: str
    actor: str
    feed_id: int | None
    entry_id: int | None
    delivery_id: int | None
    account_id: int | None
    attempt: int | None
    message: str
    data: dict[str, Any]


if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = TypeVar("_T", bound="DataclassInstance")


def from_row(cls: type[_T], row: sa.Row[Any], **overrides: Any) -> _T:
    """Build a row dataclass from the columns it names; `overrides` convert what needs it.
    Every poll and every send builds a few, so the names are listed once per class."""
    columns = row._mapping
    values = {name: columns[name] for name in _field_names(cls) if name in columns}
    return cls(**{**values, **overrides})


@functools.cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def inserted_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row always has one
    return int(key[0])


# --- UPDATEs built once per set of columns (a poll's outcome, a delivery's finish) ---------


def bound_values(table: sa.Table, names: frozenset[str]) -> dict[str, Any]:
    """`.values()` for an UPDATE built once: each column in `names` takes the bind parameter
    `new_<name>` (see `new_params`), typed as its column."""
    return {name: sa.bindparam(f"new_{name}", type_=table.c[name].type) for name in names}


def new_params(values: dict[str, Any]) -> dict[str, Any]:
    """The bind parameters of `bound_values` for these column values."""
    return {f"new_{name}": value for name, value in values.items()}
