"""The ledger on real SQLite and real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from syndicate.model import DeliveryState, FeedEntry, Trigger
from syndicate.store import Store, catalog, ledger
from syndicate.store.db import is_current
from syndicate.store.schema import events

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
ENTRY = FeedEntry(
    identity="tag:1", link="https://blog.example.com/1", title="One", content_html="<p>x</p>"
)


def seed(store: Store) -> tuple[int, int, int]:
    with store.begin() as conn:
        feed_id = catalog.sync_feeds(conn, {"blog": "https://blog.example.com/feed"})[0]["blog"]
        account_id = catalog.sync_accounts(conn, {"toots": "mastodon"})["toots"]
        entry_id = catalog.insert_entry(conn, feed_id, ENTRY, "h1", NOW, baseline=False)
    return feed_id, account_id, entry_id


def test_migrations_reach_head_and_are_idempotent(store: Store) -> None:
    assert is_current(store.engine)
    store.migrate()
    assert is_current(store.engine)


def test_migrations_match_the_schema(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from syndicate.store.schema import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_the_open_states_in_sql_are_the_models() -> None:
    from syndicate.model import CLAIMABLE_STATES
    from syndicate.store.schema import OPEN_DELIVERY_STATES

    named = OPEN_DELIVERY_STATES.removeprefix("state IN (").removesuffix(")")
    assert [v.strip(" '") for v in named.split(",")] == [
        s.value for s in (*CLAIMABLE_STATES, DeliveryState.UNKNOWN)
    ]


def test_an_accounts_oldest_due_delivery_is_read_from_the_open_index(store: Store) -> None:
    """The partial index serves the query in order: no sort of the account's backlog."""
    from syndicate.store import accounts

    _, account_id, _ = seed(store)
    explain = "EXPLAIN QUERY PLAN " if store.engine.dialect.name == "sqlite" else "EXPLAIN "

    def prefixed(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        return explain + statement, parameters

    with store.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            # An empty table is cheapest to scan; forbid that to see whether the index fits.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        sa.event.listen(conn, "before_cursor_execute", prefixed, retval=True)
        try:
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    accounts._OLDEST_DUE, {"account_id": account_id, "now": NOW}
                )
            )
        finally:
            sa.event.remove(conn, "before_cursor_execute", prefixed)
    assert "ix_deliveries_open_by_account" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan


def test_the_store_refuses_an_entry_whose_body_was_never_cleaned(store: Store) -> None:
    import dataclasses

    feed_id, _, _ = seed(store)
    raw = dataclasses.replace(ENTRY, identity="tag:2", raw_content=("", "text/html", "utf-8"))
    with pytest.raises(ValueError, match="raw body"), store.begin() as conn:
        catalog.insert_entry(conn, feed_id, raw, "h2", NOW, baseline=False)


def test_one_delivery_per_entry_and_account(store: Store) -> None:
    _, account_id, entry_id = seed(store)
    with store.begin() as conn:
        ledger.create_delivery(conn, entry_id, account_id, "k1", NOW)
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        ledger.create_delivery(conn, entry_id, account_id, "k2", NOW)


def test_claim_is_granted_once(store: Store) -> None:
    _, account_id, entry_id = seed(store)
    with store.begin() as conn:
        delivery_id = ledger.create_delivery(conn, entry_id, account_id, "k1", NOW)
    with store.begin() as conn:
        assert ledger.claim_delivery(conn, delivery_id, "token-a", NOW, LEASE)
    with store.begin() as conn:
        assert not ledger.claim_delivery(conn, delivery_id, "token-b", NOW, LEASE)
        row = ledger.get_delivery(conn, delivery_id)
    assert row is not None
    assert row.state is DeliveryState.SENDING
    assert row.attempts == 1
    assert row.claim_token == "token-a"


def test_only_the_claim_holder_can_finish(store: Store) -> None:
    _, account_id, entry_id = seed(store)
    with store.begin() as conn:
        delivery_id = ledger.create_delivery(conn, entry_id, account_id, "k1", NOW)
        ledger.claim_delivery(conn, delivery_id, "mine", NOW, LEASE)
    with store.begin() as conn:
        assert not ledger.finish_delivery(conn, delivery_id, "stale", DeliveryState.POSTED, NOW)
        assert ledger.finish_delivery(
            conn, delivery_id, "mine", DeliveryState.POSTED, NOW, remote_url="https://x/1"
        )
        row = ledger.get_delivery(conn, delivery_id)
    assert row is not None
    assert (row.state, row.remote_url, row.claim_token) == (
        DeliveryState.POSTED,
        "https://x/1",
        None,
    )


def test_waiting_delivery_is_not_claimable_before_its_time(store: Store) -> None:
    _, account_id, entry_id = seed(store)
    later = NOW + timedelta(minutes=10)
    with store.begin() as conn:
        delivery_id = ledger.create_delivery(conn, entry_id, account_id, "k1", NOW)
        ledger.claim_delivery(conn, delivery_id, "t", NOW, LEASE)
        ledger.finish_delivery(
            conn, delivery_id, "t", DeliveryState.WAITING, NOW, next_attempt_at=later
        )
    with store.begin() as conn:
        assert ledger.due_deliveries(conn, NOW) == []
        assert not ledger.claim_delivery(conn, delivery_id, "t2", NOW, LEASE)
        assert ledger.due_deliveries(conn, later) == [delivery_id]
        assert ledger.claim_delivery(conn, delivery_id, "t2", later, LEASE)


def test_expired_send_lease_becomes_unknown(store: Store) -> None:
    _, account_id, entry_id = seed(store)
    with store.begin() as conn:
        delivery_id = ledger.create_delivery(conn, entry_id, account_id, "k1", NOW)
        ledger.claim_delivery(conn, delivery_id, "t", NOW, LEASE)
    with store.begin() as conn:
        assert ledger.expired_sending(conn, NOW + LEASE / 2) == []
        [row] = ledger.expired_sending(conn, NOW + LEASE * 2)
        assert ledger.expire_lease(conn, row.id, row.claim_token, NOW + LEASE * 2)
        current = ledger.get_delivery(conn, delivery_id)
    assert current is not None
    assert current.state is DeliveryState.UNKNOWN


def test_feed_lease_excludes_a_second_poller(store: Store) -> None:
    feed_id, _, _ = seed(store)
    with store.begin() as conn:
        assert catalog.claim_feed(conn, feed_id, "a", NOW, LEASE)
    with store.begin() as conn:
        assert not catalog.claim_feed(conn, feed_id, "b", NOW + timedelta(seconds=1), LEASE)
        assert not catalog.record_poll(conn, feed_id, "b", last_polled_at=NOW)
        assert catalog.record_poll(conn, feed_id, "a", last_polled_at=NOW)
    with store.begin() as conn:
        assert catalog.claim_feed(conn, feed_id, "b", NOW + timedelta(seconds=2), LEASE)


def test_a_poller_whose_lease_expired_cannot_record(store: Store) -> None:
    feed_id, _, _ = seed(store)
    with store.begin() as conn:
        assert catalog.claim_feed(conn, feed_id, "slow", NOW, LEASE)
        assert catalog.claim_feed(conn, feed_id, "fresh", NOW + LEASE * 2, LEASE)
        assert not catalog.record_poll(conn, feed_id, "slow", last_polled_at=NOW)
        assert catalog.record_poll(conn, feed_id, "fresh", last_polled_at=NOW + LEASE * 2)


def test_due_feed_is_handed_to_one_scheduler_only(store: Store) -> None:
    feed_id, _, _ = seed(store)
    with store.begin() as conn:
        assert catalog.due_feeds(conn, NOW) == [feed_id]
        assert catalog.push_next_poll(conn, feed_id, NOW, NOW + LEASE)
        assert not catalog.push_next_poll(conn, feed_id, NOW, NOW + LEASE)
        assert catalog.due_feeds(conn, NOW) == []


def test_removed_feed_is_paused_and_comes_back(store: Store) -> None:
    feed_id, _, _ = seed(store)
    with store.begin() as conn:
        _, paused = catalog.sync_feeds(conn, {})
        feed = catalog.get_feed(conn, feed_id)
        assert feed is not None and feed.status == "paused"
        _, resumed = catalog.sync_feeds(conn, {"blog": "https://blog.example.com/feed"})
        feed = catalog.get_feed(conn, feed_id)
        assert feed is not None and feed.status == "active"
    assert [kind for _, kind, _ in paused + resumed] == ["feed_paused", "feed_resumed"]


def test_a_feed_whose_url_changes_gets_a_fresh_baseline(store: Store) -> None:
    feed_id, _, _ = seed(store)
    with store.begin() as conn:
        catalog.claim_feed(conn, feed_id, "t", NOW, LEASE)
        catalog.record_poll(conn, feed_id, "t", baselined_at=NOW, etag='"v1"')
        _, changes = catalog.sync_feeds(conn, {"blog": "https://elsewhere.example.com/feed"})
        feed = catalog.get_feed(conn, feed_id)
    assert feed is not None
    assert (feed.url, feed.baselined_at, feed.etag) == (
        "https://elsewhere.example.com/feed",
        None,
        None,
    )
    assert [kind for _, kind, _ in changes] == ["feed_url_changed"]


def test_events_are_append_only_records_with_secrets_redacted(store: Store) -> None:
    from syndicate.model import Secret

    with store.begin() as conn:
        ledger.append_event(
            conn, at=NOW, kind="test", trigger=Trigger.CLI, message="m", data={"token": Secret("x")}
        )
        [event] = ledger.list_events(conn, kinds=["test"])
        raw = conn.execute(sa.select(events.c.data)).scalar_one()
    assert event.at == NOW
    assert event.data == {"token": "***"}
    assert "x" not in str(raw)


def test_times_round_trip_as_aware_utc(store: Store) -> None:
    feed_id, _, _ = seed(store)
    with store.begin() as conn:
        catalog.claim_feed(conn, feed_id, "t", NOW, LEASE)
        catalog.record_poll(conn, feed_id, "t", last_polled_at=NOW)
        feed = catalog.get_feed(conn, feed_id)
    assert feed is not None
    assert feed.last_polled_at == NOW
    assert feed.last_polled_at.tzinfo is not None


def test_a_sqlite_ledger_locked_by_another_writer_is_a_store_error(sqlite_url: str) -> None:
    """The transaction's BEGIN IMMEDIATE goes to the driver directly; when the lock does not
    come, the caller still gets a StoreError (tasks retry those), not a bare sqlite3 error."""
    import sqlite3

    from syndicate.errors import StoreError

    store = Store(sqlite_url)
    store.migrate()
    pooled = store.engine.raw_connection()  # the pool's one connection: wait 10 ms, not 30 s
    pooled.driver_connection.execute("PRAGMA busy_timeout = 10")  # type: ignore[union-attr]
    pooled.close()
    other = sqlite3.connect(sa.make_url(sqlite_url).database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="locked"), store.begin() as conn:
            conn.execute(sa.select(1))
    finally:
        other.execute("ROLLBACK")
        other.close()
    with store.begin() as conn:  # and the lock gone, the same connection works again
        assert conn.execute(sa.select(1)).scalar() == 1
    store.dispose()
