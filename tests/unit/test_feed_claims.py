"""The poll's ledger statements (store.catalog), on SQLite and PostgreSQL: the lease claim that
reads the feed in the same statement, its fallback for SQLite before 3.35, and the recorded
outcome that releases the lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syndicate.model import FeedStatus
from syndicate.store import Store, catalog

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def add_feed(store: Store, name: str = "blog") -> int:
    with store.begin() as conn:
        ids, _ = catalog.sync_feeds(conn, {name: f"https://{name}.example/feed"})
        catalog.set_fetch_url(conn, ids[name], f"https://{name}.example/moved")
    return ids[name]


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "pre-3.35"])
def test_a_claim_returns_the_feed_as_it_is_stored(
    store: Store, monkeypatch: pytest.MonkeyPatch, returning: bool
) -> None:
    feed_id = add_feed(store)
    monkeypatch.setattr(store.engine.dialect, "update_returning", returning)
    with store.begin() as conn:
        stored = catalog.get_feed(conn, feed_id)
        claimed = catalog.claim_feed(conn, feed_id, "t1", NOW, LEASE)
    assert claimed is not None and claimed == stored
    assert claimed.fetch_url == "https://blog.example/moved"
    assert claimed.status is FeedStatus.ACTIVE
    with store.begin() as conn:  # held: nobody else gets it until it ends
        assert catalog.claim_feed(conn, feed_id, "t2", NOW + LEASE / 2, LEASE) is None
        assert catalog.claim_feed(conn, feed_id, "t3", NOW + LEASE * 2, LEASE) is not None


def test_an_inactive_or_unknown_feed_is_not_claimed(store: Store) -> None:
    feed_id = add_feed(store)
    with store.begin() as conn:
        catalog.sync_feeds(conn, {})  # no longer configured: paused
        assert catalog.claim_feed(conn, feed_id, "t", NOW, LEASE) is None
        assert catalog.claim_feed(conn, feed_id + 1000, "t", NOW, LEASE) is None
        assert catalog.feed_name(conn, feed_id) == "blog"
        assert catalog.feed_name(conn, feed_id + 1000) is None


def test_an_outcome_is_written_only_by_the_lease_holder_and_releases_it(store: Store) -> None:
    feed_id = add_feed(store)
    with store.begin() as conn:
        catalog.claim_feed(conn, feed_id, "mine", NOW, LEASE)
        assert not catalog.record_poll(conn, feed_id, "other", etag='"x"', error_count=3)
        assert catalog.record_poll(conn, feed_id, "mine", etag='"v1"', last_polled_at=NOW)
        feed = catalog.get_feed(conn, feed_id)
        assert feed is not None and (feed.etag, feed.error_count) == ('"v1"', 0)
        assert feed.last_polled_at == NOW
        # Released: the next poller claims at once, and a different set of columns is written.
        assert catalog.claim_feed(conn, feed_id, "next", NOW, LEASE) is not None
        assert catalog.record_poll(conn, feed_id, "next", last_error="boom", error_count=1)
        feed = catalog.get_feed(conn, feed_id)
        assert feed is not None and (feed.etag, feed.last_error) == ('"v1"', "boom")


def test_an_unknown_column_in_an_outcome_is_a_bug_not_a_silent_skip(store: Store) -> None:
    feed_id = add_feed(store)
    with store.begin() as conn, pytest.raises(KeyError):
        catalog.record_poll(conn, feed_id, "t", no_such_column=1)
