"""The ledger's tables (DESIGN.md §3). Alembic migrations in ./migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("url", sa.Text, nullable=False),  # as configured
    sa.Column("fetch_url", sa.Text),  # where a 301/308 says it lives now; polled instead
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("body_hash", sa.String(64)),
    sa.Column("baselined_at", UTCDateTime),
    sa.Column("last_polled_at", UTCDateTime),
    sa.Column("next_poll_at", UTCDateTime),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("poll_token", sa.String(64)),  # fences a poller whose lease ran out
    # `syndicate feeds accept`: the next poll takes a quarantined feed's entries as baseline.
    sa.Column("accept_pending", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("defer_until", UTCDateTime),  # a future-dated entry comes due: poll afresh
    sa.Column("error_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("hub", sa.Text),
    sa.Column("self_url", sa.Text),
    sa.Column("websub_secret", sa.Text),  # the one the hub verified: pushes are signed with it
    # A renewal's fresh secret, also accepted until the hub verifies it and it replaces the old.
    sa.Column("websub_next_secret", sa.Text),
    sa.Column("websub_lease_until", UTCDateTime),
    # WebSub: the callback is /websub/<token>; the topic is the self URL we subscribed to.
    sa.Column("websub_token", sa.String(64), unique=True),
    sa.Column("websub_state", sa.String(16)),  # pending | subscribed | denied | unsubscribed
    sa.Column("websub_topic", sa.Text),
    sa.Column("websub_renew_at", UTCDateTime),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("platform", sa.String(32), nullable=False),
    sa.Column("health", sa.String(16), nullable=False, server_default="ok"),
    sa.Column("paused_reason", sa.Text),
    sa.Column("paused_at", UTCDateTime),
    # No request before this: a platform's rate-limit reset, or the account's minimum gap.
    sa.Column("next_allowed_at", UTCDateTime),
    sa.Column("last_posted_at", UTCDateTime),
    # One post in flight per account: the sender holds this lease while its request is out.
    sa.Column("lease_token", sa.String(64)),
    sa.Column("lease_until", UTCDateTime),
)

# What a platform must keep between processes (rotated OAuth pairs, a Bluesky session). Kept
# apart from `accounts` so no listing query ever selects it; never copied into events.
account_tokens = sa.Table(
    "account_tokens",
    metadata,
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("feed_id", sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("identity", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("content_html", sa.Text, nullable=False),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("author", sa.Text, nullable=False, server_default=""),
    sa.Column("content_is_summary", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("image_url", sa.Text, nullable=False, server_default=""),
    sa.Column("image_alt", sa.Text, nullable=False, server_default=""),
    sa.Column("published", UTCDateTime),
    sa.Column("updated", UTCDateTime),
    sa.Column("content_hash", sa.String(64), nullable=False),
    # a hash of the feed's own text for the entry (FeedEntry.source_hash); NULL before 0011
    sa.Column("source_hash", sa.String(64)),
    sa.Column("summary", sa.JSON),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("baseline", sa.Boolean, nullable=False),
    sa.UniqueConstraint("feed_id", "identity"),
)

# The states a delivery can still be sent or reconciled from (model.DeliveryState values),
# as SQL: a partial index's condition, which a query must repeat word for word, literals and
# all, for SQLite to use the index (store.accounts).
OPEN_DELIVERY_STATES = "state IN ('pending', 'waiting', 'unknown')"

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entry_id", sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("claim_token", sa.String(64)),
    sa.Column("enqueued_at", UTCDateTime),  # last doorbell rung; the sweeper re-rings stale ones
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("rendered_text", sa.Text),
    sa.Column("remote_id", sa.Text),
    sa.Column("remote_url", sa.Text),
    sa.Column("last_error", sa.Text),
    # unknown: when to ask the platform whether it posted; NULL means a person must decide.
    sa.Column("reconcile_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("entry_id", "account_id"),
    sa.Index("ix_deliveries_due", "state", "next_attempt_at"),
    sa.Index("ix_deliveries_updated_at", "updated_at"),
    # history pages filtered by state or account, newest id first (store.queries)
    sa.Index("ix_deliveries_state_id", "state", "id"),
    sa.Index("ix_deliveries_account_id_id", "account_id", "id"),
    # each send's "oldest due delivery of this account" (store.accounts), past all it posted
    sa.Index("ix_deliveries_account_id_state", "account_id", "state"),
    # ... and the account's open deliveries alone, oldest first: the first due row ends the
    # search however long the backlog (partial, so posted rows are not in it at all).
    sa.Index(
        "ix_deliveries_open_by_account",
        "account_id",
        "created_at",
        "id",
        sqlite_where=sa.text(OPEN_DELIVERY_STATES),
        postgresql_where=sa.text(OPEN_DELIVERY_STATES),
    ),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("feed_id", sa.Integer, index=True),
    sa.Column("entry_id", sa.Integer, index=True),
    sa.Column("delivery_id", sa.Integer, index=True),
    sa.Column("account_id", sa.Integer),
    sa.Column("attempt", sa.Integer),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)
