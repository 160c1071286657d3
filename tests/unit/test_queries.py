"""store.queries: filtered, keyset-paged reads shared by the CLI and the web app, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from syndicate.model import DeliveryState, FeedEntry, Trigger
from syndicate.store import Store, catalog, ledger, queries
from syndicate.store.queries import DeliveryFilter
from syndicate.store.schema import deliveries

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STATES = [DeliveryState.POSTED, DeliveryState.FAILED, DeliveryState.PENDING]


def seed(store: Store) -> dict[str, Any]:
    """Two feeds of four entries, two accounts: one delivery per (entry, account), in a
    state and at a time that vary by entry, so every filter has something to leave out."""
    with store.begin() as conn:
        feed_ids, _ = catalog.sync_feeds(conn, {"alpha": "https://a/feed", "beta": "https://b/f"})
        account_ids = catalog.sync_accounts(conn, {"toots": "mastodon", "log": "log"})
    made: list[dict[str, Any]] = []
    for feed in ("alpha", "beta"):
        for n in range(4):
            at = NOW + timedelta(hours=n)
            entry = FeedEntry(f"{feed}-{n}", f"https://{feed}.example/{n}", f"{feed} {n}", "<p/>")
            with store.begin() as conn:
                entry_id = catalog.insert_entry(
                    conn, feed_ids[feed], entry, f"h{n}", at, baseline=False
                )
            for account, account_id in account_ids.items():
                state = STATES[n % 3]
                delivery_id = _delivery(
                    store, entry_id, account_id, f"{feed}{n}{account}", at, state
                )
                made.append(dict(id=delivery_id, feed=feed, account=account, state=state, at=at,
                                 entry_id=entry_id))  # fmt: skip
    return {"rows": made, "feeds": feed_ids, "accounts": account_ids}


def _delivery(
    store: Store, entry_id: int, account_id: int, key: str, at: datetime, state: DeliveryState
) -> int:
    with store.begin() as conn:
        delivery_id = ledger.create_delivery(conn, entry_id, account_id, key, at)
        if state != DeliveryState.PENDING:
            assert ledger.claim_delivery(conn, delivery_id, "w", at, timedelta(minutes=5))
            assert ledger.finish_delivery(conn, delivery_id, "w", state, at)
        ledger.append_event(
            conn, at=at, kind=f"delivery_{state.value}", trigger=Trigger.SCHEDULE, message="",
            delivery_id=delivery_id, account_id=account_id,
        )  # fmt: skip
    return delivery_id


def ids(rows: list[Any]) -> list[int]:
    return [r.delivery_id for r in rows]


def test_pages_cover_every_delivery_once_newest_first(store: Store) -> None:
    made = seed(store)["rows"]
    seen: list[int] = []
    before = None
    with store.begin() as conn:
        while page := queries.list_deliveries(conn, DeliveryFilter(), limit=3, before_id=before):
            assert len(page) <= 3
            seen += ids(page)
            before = page[-1].delivery_id
    assert seen == sorted((r["id"] for r in made), reverse=True)


@pytest.mark.parametrize(
    ("chosen", "keep"),
    [
        (DeliveryFilter(feed="beta"), lambda r: r["feed"] == "beta"),
        (DeliveryFilter(account="log"), lambda r: r["account"] == "log"),
        (DeliveryFilter(platform="mastodon"), lambda r: r["account"] == "toots"),
        (DeliveryFilter(state=DeliveryState.FAILED), lambda r: r["state"] == "failed"),
        (
            DeliveryFilter(since=NOW + timedelta(hours=2)),
            lambda r: r["at"] >= NOW + timedelta(2 / 24),
        ),
        (
            DeliveryFilter(feed="alpha", account="toots", state=DeliveryState.POSTED),
            lambda r: (r["feed"], r["account"], r["state"]) == ("alpha", "toots", "posted"),
        ),
    ],
)
def test_each_filter_keeps_exactly_its_rows(
    store: Store, chosen: DeliveryFilter, keep: Any
) -> None:
    made = seed(store)["rows"]
    with store.begin() as conn:
        found = queries.list_deliveries(conn, chosen, limit=100, before_id=None)
        counts = queries.count_deliveries(conn, chosen)
    expected = sorted((r["id"] for r in made if keep(r)), reverse=True)
    assert ids(found) == expected and expected
    assert sum(counts.values()) == len(expected)
    row = found[0]
    assert row.entry_id is not None and row.entry_title and row.entry_link.startswith("https://")


def test_an_entry_is_found_by_id_guid_or_link(store: Store) -> None:
    made = seed(store)["rows"]
    entry_id = made[0]["entry_id"]
    with store.begin() as conn:
        by_id = queries.find_entry(conn, str(entry_id))
        assert by_id is not None and by_id.identity == "alpha-0"
        assert queries.find_entry(conn, "alpha-0") == by_id
        assert queries.find_entry(conn, " https://alpha.example/0 ") == by_id
        assert queries.find_entry(conn, "https://nowhere.example/") is None
        assert queries.find_entry(conn, "999999") is None


def test_the_timeline_holds_the_entrys_events_and_its_deliveries_only(store: Store) -> None:
    made = seed(store)["rows"]
    entry_id = made[0]["entry_id"]
    mine = {r["id"] for r in made if r["entry_id"] == entry_id}
    with store.begin() as conn:
        ledger.append_event(conn, at=NOW, kind="entry_new", trigger=Trigger.SCHEDULE,
                            message="new", entry_id=entry_id)  # fmt: skip
        events = queries.entry_timeline(conn, entry_id)
    # delivery events carry no entry id here: they are found through their delivery
    assert {e.delivery_id for e in events if e.delivery_id} == mine
    assert [e.kind for e in events][-1] == "entry_new"
    assert [e.id for e in events] == sorted(e.id for e in events)


def test_new_events_can_be_narrowed_to_a_feed_or_an_account(store: Store) -> None:
    seeded = seed(store)
    made = seeded["rows"]
    with store.begin() as conn:
        everything = queries.events_after(conn, 0)
        assert len(everything) == len(made)
        last = queries.last_event_id(conn)
        assert last == everything[-1].id and queries.events_after(conn, last) == []
        mine = queries.events_after(conn, 0, DeliveryFilter(account="toots"))
        failed = queries.events_after(conn, 0, DeliveryFilter(state=DeliveryState.FAILED))
        ledger.append_event(conn, at=NOW, kind="entry_new", trigger=Trigger.SCHEDULE, message="",
                            entry_id=made[-1]["entry_id"])  # fmt: skip
        beta = queries.events_after(conn, 0, DeliveryFilter(feed="beta"))
    assert {e.account_id for e in mine} == {seeded["accounts"]["toots"]}
    assert len(mine) == len(made) // 2
    assert {e.kind for e in failed} == {"delivery_failed"}
    assert [e.kind for e in beta] == ["entry_new"]  # delivery events here name no entry or feed


def test_history_filters_are_served_by_an_index(sqlite_url: str) -> None:
    """SQLite's planner says which index it uses: keyset pages by state or by account walk an
    index in id order instead of sorting the whole table (what keeps 100,000 rows fast)."""
    store = Store(sqlite_url)
    store.migrate()
    seed(store)
    plans = {}
    for name, chosen in (("state", DeliveryFilter(state=DeliveryState.FAILED)),
                         ("account", DeliveryFilter(account="toots"))):  # fmt: skip
        query = queries._where(queries._joined(*queries._HISTORY_COLUMNS), chosen)
        query = query.order_by(deliveries.c.id.desc()).limit(50)
        compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
        with store.engine.connect() as conn:
            plans[name] = " | ".join(
                str(r[-1]) for r in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
    store.dispose()
    assert "ix_deliveries_state_id" in plans["state"]
    assert "TEMP B-TREE" not in plans["state"]
    assert "ix_deliveries_account_id_id" in plans["account"]
