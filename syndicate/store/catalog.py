"""Feeds, accounts and entries: what is watched and what has been seen.

Every function takes an open transaction; the caller (service) groups a change and its event.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syndicate.model import FeedEntry, FeedStatus, KnownEntry
from syndicate.store.rows import (
    AccountRow,
    EntryRow,
    FeedRow,
    bound_values,
    from_row,
    inserted_id,
    new_params,
)
from syndicate.store.schema import accounts, entries, feeds

# --- feeds and accounts -------------------------------------------------------------------


# (feed id, event kind, message) for each change `sync_feeds` made, for the audit log.
FeedChange = tuple[int, str, str]


def lock_for_sync(conn: sa.Connection) -> None:
    """Serialise config syncs: several workers may start at once (SQLite's BEGIN IMMEDIATE
    already serialises writers)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7412504)"))


def sync_feeds(
    conn: sa.Connection, configured: Mapping[str, str]
) -> tuple[dict[str, int], list[FeedChange]]:
    """Upsert configured feeds (name -> url); pause feeds no longer configured."""
    query = sa.select(feeds.c.id, feeds.c.name, feeds.c.url, feeds.c.status)
    existing = {row.name: row for row in conn.execute(query)}
    ids: dict[str, int] = {}
    log: list[FeedChange] = []
    for name, url in configured.items():
        row = existing.get(name)
        if row is None:
            ids[name] = inserted_id(conn.execute(feeds.insert().values(name=name, url=url)))
            log.append((ids[name], "feed_added", f"{name}: added from the config"))
            continue
        ids[name] = row.id
        changes: dict[str, Any] = {}
        if row.url != url:
            # Another document: start over with a fresh baseline, so its back catalogue
            # is not mistaken for new entries.
            changes.update(url=url, etag=None, last_modified=None, body_hash=None)
            changes.update(baselined_at=None, fetch_url=None)
            log.append((row.id, "feed_url_changed", f"{name}: URL changed; new baseline"))
        if row.status == FeedStatus.PAUSED:
            changes["status"] = FeedStatus.ACTIVE
            log.append((row.id, "feed_resumed", f"{name}: back in the config"))
        if changes:
            conn.execute(feeds.update().where(feeds.c.id == row.id).values(**changes))
    for name, row in existing.items():
        if name not in configured and row.status == FeedStatus.ACTIVE:
            conn.execute(
                feeds.update()
                .where(feeds.c.id == row.id)
                .values(status=FeedStatus.PAUSED, last_error="no longer in the config")
            )
            log.append((row.id, "feed_paused", f"{name}: no longer in the config"))
    return ids, log


def set_fetch_url(conn: sa.Connection, feed_id: int, url: str) -> None:
    conn.execute(feeds.update().where(feeds.c.id == feed_id).values(fetch_url=url))


def request_accept(conn: sa.Connection, feed_id: int, now: datetime) -> bool:
    """A quarantined feed: poll it now and take what it shows as the new baseline."""
    result = conn.execute(
        feeds.update()
        .where(feeds.c.id == feed_id, feeds.c.status == FeedStatus.QUARANTINED)
        .values(status=FeedStatus.ACTIVE, accept_pending=True, next_poll_at=now)
    )
    return result.rowcount == 1


def feed_ids(conn: sa.Connection) -> dict[str, int]:
    return {row.name: row.id for row in conn.execute(sa.select(feeds.c.id, feeds.c.name))}


def sync_accounts(conn: sa.Connection, configured: Mapping[str, str]) -> dict[str, int]:
    """Upsert configured accounts (name -> platform). Returns ids."""
    existing = {row.name: row for row in conn.execute(sa.select(accounts))}
    ids: dict[str, int] = {}
    for name, platform in configured.items():
        row = existing.get(name)
        if row is None:
            ids[name] = inserted_id(
                conn.execute(accounts.insert().values(name=name, platform=platform))
            )
        else:
            ids[name] = row.id
            if row.platform != platform:
                conn.execute(
                    accounts.update().where(accounts.c.id == row.id).values(platform=platform)
                )
    return ids


def get_feed(conn: sa.Connection, feed_id: int) -> FeedRow | None:
    row = conn.execute(sa.select(feeds).where(feeds.c.id == feed_id)).one_or_none()
    return None if row is None else _feed_row(row)


def list_feeds(conn: sa.Connection) -> list[FeedRow]:
    return [_feed_row(row) for row in conn.execute(sa.select(feeds).order_by(feeds.c.name))]


def _feed_row(row: sa.Row[Any]) -> FeedRow:
    return from_row(FeedRow, row, status=FeedStatus(row.status))


_GET_ACCOUNT = sa.select(accounts).where(accounts.c.id == sa.bindparam("account_id"))


def get_account(conn: sa.Connection, account_id: int) -> AccountRow | None:
    row = conn.execute(_GET_ACCOUNT, {"account_id": account_id}).one_or_none()
    return None if row is None else from_row(AccountRow, row)


def account_ids(conn: sa.Connection) -> dict[str, int]:
    return {row.name: row.id for row in conn.execute(sa.select(accounts.c.id, accounts.c.name))}


# The statements run on every poll are built once, with bind parameters: SQLAlchemy keys its
# compiled-statement cache on a key it memoises on the statement object, so a poll only binds
# values. Building them per call cost more CPU than SQLite's own work (docs/benchmarks.md).
_CLAIM_FEED = (
    feeds.update()
    .where(
        feeds.c.id == sa.bindparam("feed_id"),
        feeds.c.status == FeedStatus.ACTIVE.value,
        sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < sa.bindparam("now")),
    )
    .values(lease_until=sa.bindparam("until"), poll_token=sa.bindparam("token"))
)
_CLAIM_FEED_RETURNING = _CLAIM_FEED.returning(*feeds.c)


def claim_feed(
    conn: sa.Connection, feed_id: int, token: str, now: datetime, lease: timedelta
) -> FeedRow | None:
    """Take the feed's poll lease and read it in the same statement (UPDATE ... RETURNING);
    None when another poller holds it or the feed is inactive."""
    params = {"feed_id": feed_id, "now": now, "until": now + lease, "token": token}
    if not conn.dialect.update_returning:  # SQLite before 3.35: claim, then read
        claimed = conn.execute(_CLAIM_FEED, params).rowcount == 1
        return get_feed(conn, feed_id) if claimed else None
    row = conn.execute(_CLAIM_FEED_RETURNING, params).one_or_none()
    return None if row is None else _feed_row(row)


def feed_name(conn: sa.Connection, feed_id: int) -> str | None:
    return conn.execute(sa.select(feeds.c.name).where(feeds.c.id == feed_id)).scalar_one_or_none()


def due_feeds(conn: sa.Connection, now: datetime) -> list[int]:
    query = sa.select(feeds.c.id).where(
        feeds.c.status == FeedStatus.ACTIVE,
        sa.or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= now),
        sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now),
    )
    return list(conn.execute(query.order_by(feeds.c.next_poll_at)).scalars())


def push_next_poll(conn: sa.Connection, feed_id: int, now: datetime, until: datetime) -> bool:
    """Move a due feed's next poll to `until`; False if another scheduler already did."""
    result = conn.execute(
        feeds.update()
        .where(
            feeds.c.id == feed_id,
            sa.or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= now),
        )
        .values(next_poll_at=until)
    )
    return result.rowcount == 1


def record_poll(conn: sa.Connection, feed_id: int, token: str, **values: Any) -> bool:
    """Store the outcome of a poll and release the lease; False if the lease was lost (it
    expired and another poller took the feed), in which case nothing is written."""
    params = new_params(values)
    statement = _record_poll_statement(frozenset(values))
    result = conn.execute(statement, {"feed_id": feed_id, "token": token, **params})
    return result.rowcount == 1


@functools.cache
def _record_poll_statement(columns: frozenset[str]) -> sa.Update:
    """One statement per set of columns a poll outcome writes (a handful: unchanged, stored,
    failed, gone, quarantined), built once like `_CLAIM_FEED`."""
    return (
        feeds.update()
        .where(feeds.c.id == sa.bindparam("feed_id"), feeds.c.poll_token == sa.bindparam("token"))
        .values(
            lease_until=None,
            poll_token=None,
            **bound_values(feeds, columns),
        )
    )


# --- entries ------------------------------------------------------------------------------


_KNOWN_ENTRIES = sa.select(
    entries.c.identity,
    entries.c.id,
    entries.c.content_hash,
    entries.c.link,
    entries.c.source_hash,
).where(entries.c.feed_id == sa.bindparam("feed_id"))


def known_entries(conn: sa.Connection, feed_id: int) -> dict[str, KnownEntry]:
    """identity -> what the watcher compares, for every entry ever seen in the feed."""
    rows = conn.execute(_KNOWN_ENTRIES, {"feed_id": feed_id})
    return {
        row.identity: KnownEntry(row.id, row.content_hash, row.link, row.source_hash or "")
        for row in rows
    }


def _entry_values(entry: FeedEntry, content_hash: str) -> dict[str, Any]:
    if entry.raw_content is not None:
        raise ValueError("an entry's raw body given to the store: clean it (feeds.parse.finish)")
    return {
        "link": entry.link,
        "title": entry.title,
        "content_html": entry.content_html,
        "categories": list(entry.categories),
        "author": entry.author,
        "content_is_summary": entry.content_is_summary,
        "image_url": entry.image_url,
        "image_alt": entry.image_alt,
        "published": entry.published,
        "updated": entry.updated,
        "content_hash": content_hash,
        "source_hash": entry.source_hash or None,
    }


_INSERT_ENTRY = entries.insert()


def insert_entry(
    conn: sa.Connection,
    feed_id: int,
    entry: FeedEntry,
    content_hash: str,
    now: datetime,
    *,
    baseline: bool,
) -> int:
    values = _entry_values(entry, content_hash)
    values.update(feed_id=feed_id, identity=entry.identity, first_seen_at=now, baseline=baseline)
    # The columns come from the parameters' keys, so the one statement is compiled once.
    return inserted_id(conn.execute(_INSERT_ENTRY, values))


def update_entry(conn: sa.Connection, entry_id: int, entry: FeedEntry, content_hash: str) -> None:
    """An edited entry: new text, and the stored summary is dropped so it is made again."""
    values = _entry_values(entry, content_hash)
    conn.execute(entries.update().where(entries.c.id == entry_id).values(summary=None, **values))


_SET_SOURCE_HASH = (
    entries.update()
    .where(entries.c.id == sa.bindparam("entry_id"))
    .values(source_hash=sa.bindparam("source_hash"))
)


def set_source_hash(conn: sa.Connection, entry_id: int, source_hash: str) -> None:
    """The feed's text for the entry changed but the cleaned entry did not: remember the new
    source, so the next poll need not clean it again. Not an edit; no event."""
    conn.execute(_SET_SOURCE_HASH, {"entry_id": entry_id, "source_hash": source_hash or None})


def get_entry(conn: sa.Connection, entry_id: int) -> EntryRow | None:
    row = conn.execute(sa.select(entries).where(entries.c.id == entry_id)).one_or_none()
    if row is None:
        return None
    return from_row(EntryRow, row, categories=tuple(row.categories))


def list_entries(
    conn: sa.Connection, feed_id: int, *, match: str | None = None, limit: int = 10
) -> list[EntryRow]:
    """Newest first; `match` is an entry id, identity or link."""
    query = sa.select(entries).where(entries.c.feed_id == feed_id)
    if match is not None:
        by_id = entries.c.id == int(match) if match.isdigit() else sa.false()
        query = query.where(sa.or_(by_id, entries.c.identity == match, entries.c.link == match))
    query = query.order_by(entries.c.first_seen_at.desc(), entries.c.id.desc()).limit(limit)
    return [
        from_row(EntryRow, row, categories=tuple(row.categories)) for row in conn.execute(query)
    ]


def store_summary(conn: sa.Connection, entry_id: int, summary: Mapping[str, Any]) -> None:
    """Keep the first summary made for an entry; a concurrent second one is ignored."""
    conn.execute(
        entries.update()
        .where(entries.c.id == entry_id, entries.c.summary.is_(None))
        .values(summary=dict(summary))
    )


# --- WebSub subscriptions -----------------------------------------------------------------

_WEBSUB_COLUMNS = frozenset(
    {
        "hub",
        "self_url",
        "websub_state",
        "websub_topic",
        "websub_lease_until",
        "websub_renew_at",
    }
)


def feed_by_websub_token(conn: sa.Connection, token: str) -> FeedRow | None:
    """The feed whose callback URL carries `token` (None for an unknown or empty token)."""
    if not token:
        return None
    row = conn.execute(sa.select(feeds).where(feeds.c.websub_token == token)).one_or_none()
    return None if row is None else _feed_row(row)


def prepare_websub_request(conn: sa.Connection, feed_id: int, token: str, secret: str) -> None:
    """Before a (re)subscription: the callback token is given once and kept (the hub knows the
    subscription by topic and callback); the secret is fresh for each renewal, but a request
    retried before the hub verified the last one reuses that one's secret, so whichever
    request the hub verifies, we know the secret it holds."""
    conn.execute(
        feeds.update()
        .where(feeds.c.id == feed_id)
        .values(
            websub_token=sa.func.coalesce(feeds.c.websub_token, token),
            websub_next_secret=sa.func.coalesce(feeds.c.websub_next_secret, secret),
        )
    )


def confirm_websub_secret(conn: sa.Connection, feed_id: int) -> bool:
    """The hub verified our subscription: the secret sent with it is the only one from now on.
    False when no fresh secret was waiting (nothing changed)."""
    result = conn.execute(
        feeds.update()
        .where(feeds.c.id == feed_id, feeds.c.websub_next_secret.is_not(None))
        .values(websub_secret=feeds.c.websub_next_secret, websub_next_secret=None)
    )
    return result.rowcount == 1


def set_websub(conn: sa.Connection, feed_id: int, **values: Any) -> None:
    """Update the feed's hub, self URL or subscription state (and nothing else)."""
    unknown = set(values) - _WEBSUB_COLUMNS
    if unknown:
        raise ValueError(f"not a WebSub column: {sorted(unknown)}")
    conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))


def websub_subscriptions_due(conn: sa.Connection, now: datetime) -> list[int]:
    """Active feeds with a hub that were never subscribed, whose lease is due for renewal, or
    whose request failed or was never verified (retried once `websub_renew_at` passes)."""
    query = sa.select(feeds.c.id).where(
        feeds.c.status == FeedStatus.ACTIVE,
        feeds.c.hub.is_not(None),
        feeds.c.self_url.is_not(None),
        sa.or_(feeds.c.websub_state.is_(None), feeds.c.websub_state.in_(("pending", "subscribed"))),
        sa.or_(feeds.c.websub_renew_at.is_(None), feeds.c.websub_renew_at <= now),
    )
    return list(conn.execute(query.order_by(feeds.c.id)).scalars())


def websub_unsubscriptions_due(conn: sa.Connection) -> list[int]:
    """Feeds no longer in the config (paused) that still hold a subscription."""
    query = sa.select(feeds.c.id).where(
        feeds.c.status == FeedStatus.PAUSED,
        feeds.c.websub_state.in_(("pending", "subscribed")),
    )
    return list(conn.execute(query.order_by(feeds.c.id)).scalars())
