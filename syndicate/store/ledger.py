"""Reads and conditional writes on the ledger. Every function takes an open transaction.

The caller (service) groups a state change and its audit event in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syndicate.model import CLAIMABLE_STATES, DeliveryState, FeedEntry, FeedStatus, Secret, Trigger
from syndicate.store.rows import AccountRow, DeliveryRow, EntryRow, EventRow, FeedRow, HistoryRow
from syndicate.store.schema import accounts, deliveries, entries, events, feeds


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row always has one
    return int(key[0])


# --- feeds and accounts -------------------------------------------------------------------


def sync_feeds(conn: sa.Connection, configured: Mapping[str, str]) -> dict[str, int]:
    """Upsert configured feeds (name -> url); pause feeds no longer configured. Returns ids."""
    existing = {
        row.name: row
        for row in conn.execute(sa.select(feeds.c.id, feeds.c.name, feeds.c.url, feeds.c.status))
    }
    ids: dict[str, int] = {}
    for name, url in configured.items():
        row = existing.get(name)
        if row is None:
            ids[name] = _new_id(conn.execute(feeds.insert().values(name=name, url=url)))
            continue
        ids[name] = row.id
        changes: dict[str, Any] = {}
        if row.url != url:
            changes.update(url=url, etag=None, last_modified=None, body_hash=None)
        if row.status == FeedStatus.PAUSED:
            changes["status"] = FeedStatus.ACTIVE
        if changes:
            conn.execute(feeds.update().where(feeds.c.id == row.id).values(**changes))
    gone = [row.id for name, row in existing.items() if name not in configured]
    if gone:
        conn.execute(
            feeds.update()
            .where(feeds.c.id.in_(gone), feeds.c.status == FeedStatus.ACTIVE)
            .values(status=FeedStatus.PAUSED, last_error="no longer in the config")
        )
    return ids


def sync_accounts(conn: sa.Connection, configured: Mapping[str, str]) -> dict[str, int]:
    """Upsert configured accounts (name -> platform). Returns ids."""
    existing = {row.name: row for row in conn.execute(sa.select(accounts))}
    ids: dict[str, int] = {}
    for name, platform in configured.items():
        row = existing.get(name)
        if row is None:
            ids[name] = _new_id(
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
    return FeedRow(
        id=row.id,
        name=row.name,
        url=row.url,
        status=FeedStatus(row.status),
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        baselined_at=row.baselined_at,
        last_polled_at=row.last_polled_at,
        next_poll_at=row.next_poll_at,
        error_count=row.error_count,
        last_error=row.last_error,
    )


def get_account(conn: sa.Connection, account_id: int) -> AccountRow | None:
    row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).one_or_none()
    return None if row is None else AccountRow(row.id, row.name, row.platform, row.health)


def account_ids(conn: sa.Connection) -> dict[str, int]:
    return {row.name: row.id for row in conn.execute(sa.select(accounts.c.id, accounts.c.name))}


def claim_feed(conn: sa.Connection, feed_id: int, now: datetime, lease: timedelta) -> bool:
    """Take the feed's poll lease; False when another poller holds it or the feed is inactive."""
    result = conn.execute(
        feeds.update()
        .where(
            feeds.c.id == feed_id,
            feeds.c.status == FeedStatus.ACTIVE,
            sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now),
        )
        .values(lease_until=now + lease)
    )
    return result.rowcount == 1


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


def polled_since(conn: sa.Connection, feed_ids: Sequence[int], since: datetime) -> bool:
    """True when every feed in `feed_ids` finished a poll (ok or failed) at or after `since`."""
    if not feed_ids:
        return True
    query = sa.select(sa.func.count()).where(
        feeds.c.id.in_(list(feed_ids)), feeds.c.last_polled_at >= since
    )
    return int(conn.execute(query).scalar_one()) == len(set(feed_ids))


def leased_feeds(conn: sa.Connection, now: datetime) -> int:
    query = sa.select(sa.func.count()).where(feeds.c.lease_until >= now)
    return int(conn.execute(query).scalar_one())


def record_poll(conn: sa.Connection, feed_id: int, **values: Any) -> None:
    """Store the outcome of a poll and release the lease."""
    conn.execute(feeds.update().where(feeds.c.id == feed_id).values(lease_until=None, **values))


# --- entries ------------------------------------------------------------------------------


def known_entries(conn: sa.Connection, feed_id: int) -> dict[str, tuple[int, str]]:
    """identity -> (entry id, content hash) for every entry ever seen in the feed."""
    query = sa.select(entries.c.identity, entries.c.id, entries.c.content_hash).where(
        entries.c.feed_id == feed_id
    )
    return {row.identity: (row.id, row.content_hash) for row in conn.execute(query)}


def _entry_values(entry: FeedEntry, content_hash: str) -> dict[str, Any]:
    return {
        "link": entry.link,
        "title": entry.title,
        "content_html": entry.content_html,
        "categories": list(entry.categories),
        "published": entry.published,
        "updated": entry.updated,
        "content_hash": content_hash,
    }


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
    result = conn.execute(
        entries.insert().values(
            feed_id=feed_id, identity=entry.identity, first_seen_at=now, baseline=baseline, **values
        )
    )
    return _new_id(result)


def update_entry(conn: sa.Connection, entry_id: int, entry: FeedEntry, content_hash: str) -> None:
    """An edited entry: new text, and the stored summary is dropped so it is made again."""
    values = _entry_values(entry, content_hash)
    conn.execute(entries.update().where(entries.c.id == entry_id).values(summary=None, **values))


def get_entry(conn: sa.Connection, entry_id: int) -> EntryRow | None:
    row = conn.execute(sa.select(entries).where(entries.c.id == entry_id)).one_or_none()
    if row is None:
        return None
    return EntryRow(
        id=row.id,
        feed_id=row.feed_id,
        identity=row.identity,
        link=row.link,
        title=row.title,
        content_html=row.content_html,
        categories=tuple(row.categories),
        published=row.published,
        updated=row.updated,
        content_hash=row.content_hash,
        summary=row.summary,
        baseline=row.baseline,
    )


def store_summary(conn: sa.Connection, entry_id: int, summary: Mapping[str, Any]) -> None:
    """Keep the first summary made for an entry; a concurrent second one is ignored."""
    conn.execute(
        entries.update()
        .where(entries.c.id == entry_id, entries.c.summary.is_(None))
        .values(summary=dict(summary))
    )


# --- deliveries ---------------------------------------------------------------------------


def create_delivery(
    conn: sa.Connection, entry_id: int, account_id: int, key: str, now: datetime
) -> int:
    result = conn.execute(
        deliveries.insert().values(
            entry_id=entry_id,
            account_id=account_id,
            state=DeliveryState.PENDING,
            next_attempt_at=now,
            idempotency_key=key,
            created_at=now,
            updated_at=now,
        )
    )
    return _new_id(result)


def get_delivery(conn: sa.Connection, delivery_id: int) -> DeliveryRow | None:
    row = conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).one_or_none()
    if row is None:
        return None
    return DeliveryRow(
        id=row.id,
        entry_id=row.entry_id,
        account_id=row.account_id,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_until=row.lease_until,
        claim_token=row.claim_token,
        idempotency_key=row.idempotency_key,
        rendered_text=row.rendered_text,
        remote_id=row.remote_id,
        remote_url=row.remote_url,
        last_error=row.last_error,
    )


def claim_delivery(
    conn: sa.Connection, delivery_id: int, token: str, now: datetime, lease: timedelta
) -> bool:
    """pending|waiting and due -> sending, with a lease and a claim token. False: not ours."""
    result = conn.execute(
        deliveries.update()
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.state.in_([s.value for s in CLAIMABLE_STATES]),
            deliveries.c.next_attempt_at <= now,
        )
        .values(
            state=DeliveryState.SENDING,
            attempts=deliveries.c.attempts + 1,
            claim_token=token,
            lease_until=now + lease,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def set_rendered(conn: sa.Connection, delivery_id: int, token: str, text: str) -> bool:
    result = conn.execute(
        deliveries.update()
        .where(deliveries.c.id == delivery_id, deliveries.c.claim_token == token)
        .values(rendered_text=text)
    )
    return result.rowcount == 1


def finish_delivery(
    conn: sa.Connection,
    delivery_id: int,
    token: str,
    state: DeliveryState,
    now: datetime,
    **values: Any,
) -> bool:
    """sending -> `state`, only for the holder of the claim token (fences a stale owner)."""
    result = conn.execute(
        deliveries.update()
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.claim_token == token,
            deliveries.c.state == DeliveryState.SENDING,
        )
        .values(state=state, lease_until=None, claim_token=None, updated_at=now, **values)
    )
    return result.rowcount == 1


def due_deliveries(
    conn: sa.Connection, now: datetime, *, rung_before: datetime | None = None, limit: int = 500
) -> list[int]:
    """Claimable deliveries whose time has come; with `rung_before`, only those whose last
    doorbell is older than that (or that never had one)."""
    query = sa.select(deliveries.c.id).where(
        deliveries.c.state.in_([s.value for s in CLAIMABLE_STATES]),
        deliveries.c.next_attempt_at <= now,
    )
    if rung_before is not None:
        query = query.where(
            sa.or_(deliveries.c.enqueued_at.is_(None), deliveries.c.enqueued_at < rung_before)
        )
    order = (deliveries.c.next_attempt_at, deliveries.c.id)
    return list(conn.execute(query.order_by(*order).limit(limit)).scalars())


def mark_enqueued(conn: sa.Connection, delivery_ids: Sequence[int], now: datetime) -> None:
    if delivery_ids:
        conn.execute(
            deliveries.update()
            .where(deliveries.c.id.in_(list(delivery_ids)))
            .values(enqueued_at=now)
        )


def expired_sending(conn: sa.Connection, now: datetime) -> list[DeliveryRow]:
    query = sa.select(deliveries.c.id).where(
        deliveries.c.state == DeliveryState.SENDING, deliveries.c.lease_until < now
    )
    rows = (get_delivery(conn, delivery_id) for delivery_id in conn.execute(query).scalars())
    return [row for row in rows if row is not None]


def expire_lease(conn: sa.Connection, delivery_id: int, token: str | None, now: datetime) -> bool:
    """sending with an expired lease -> unknown: the send may or may not have happened."""
    result = conn.execute(
        deliveries.update()
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.state == DeliveryState.SENDING,
            deliveries.c.claim_token == token,
            deliveries.c.lease_until < now,
        )
        .values(state=DeliveryState.UNKNOWN, lease_until=None, claim_token=None, updated_at=now)
    )
    return result.rowcount == 1


def count_deliveries(conn: sa.Connection, states: Iterable[DeliveryState]) -> int:
    query = sa.select(sa.func.count()).where(deliveries.c.state.in_([s.value for s in states]))
    return int(conn.execute(query).scalar_one())


# --- events and history -------------------------------------------------------------------


def _redact(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: "***" if isinstance(value, Secret) else value for key, value in data.items()}


def append_event(
    conn: sa.Connection,
    *,
    at: datetime,
    kind: str,
    trigger: Trigger,
    message: str,
    actor: str = "syndicate",
    feed_id: int | None = None,
    entry_id: int | None = None,
    delivery_id: int | None = None,
    account_id: int | None = None,
    attempt: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        events.insert().values(
            at=at,
            kind=kind,
            trigger=trigger,
            actor=actor,
            feed_id=feed_id,
            entry_id=entry_id,
            delivery_id=delivery_id,
            account_id=account_id,
            attempt=attempt,
            message=message,
            data=_redact(data or {}),
        )
    )


def list_events(
    conn: sa.Connection, *, kinds: Sequence[str] = (), delivery_id: int | None = None
) -> list[EventRow]:
    query = sa.select(events).order_by(events.c.id)
    if kinds:
        query = query.where(events.c.kind.in_(kinds))
    if delivery_id is not None:
        query = query.where(events.c.delivery_id == delivery_id)
    return [EventRow(**row._mapping) for row in conn.execute(query)]


def history(conn: sa.Connection, limit: int = 50) -> list[HistoryRow]:
    """Deliveries, newest change first, with their feed, entry and account."""
    query = (
        sa.select(
            deliveries.c.id,
            deliveries.c.updated_at,
            feeds.c.name.label("feed"),
            entries.c.title,
            entries.c.link,
            accounts.c.name.label("account"),
            accounts.c.platform,
            deliveries.c.state,
            deliveries.c.attempts,
            deliveries.c.remote_url,
            deliveries.c.last_error,
        )
        .join(entries, entries.c.id == deliveries.c.entry_id)
        .join(feeds, feeds.c.id == entries.c.feed_id)
        .join(accounts, accounts.c.id == deliveries.c.account_id)
        .order_by(deliveries.c.updated_at.desc(), deliveries.c.id.desc())
        .limit(limit)
    )
    return [
        HistoryRow(
            delivery_id=row.id,
            at=row.updated_at,
            feed=row.feed,
            entry_title=row.title,
            entry_link=row.link,
            account=row.account,
            platform=row.platform,
            state=DeliveryState(row.state),
            attempts=row.attempts,
            remote_url=row.remote_url,
            last_error=row.last_error,
        )
        for row in conn.execute(query)
    ]
