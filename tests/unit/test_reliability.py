"""Never lose a post, never post twice (DESIGN.md §4): reconcile, account pause, rate limits,
pacing and settle, on the real ledger (SQLite and PostgreSQL) against the fake Mastodon."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from syndicate import service
from syndicate.model import DeliveryState, Trigger
from syndicate.service import accounts
from syndicate.service.tokens import LedgerTokenCache
from syndicate.settings import load
from syndicate.store import accounts as account_store
from syndicate.store import ledger
from tests.conftest import MASTODON_TOKEN, Clock
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon

CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "{database_url}"
fetch_timeout = "2s"

[[feeds]]
name = "blog"
url = "{feed_url}"
accounts = ["toots"]

[accounts.toots]
platform = "mastodon"
base_url = "{mastodon_url}"
access_token = "${{TEST_MASTODON_TOKEN}}"
{extra}
"""

Open = Callable[..., service.Context]


@pytest.fixture
def open_ctx(
    tmp_path: Path, database_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> Iterator[Open]:
    opened: list[service.Context] = []

    def make(extra: str = "") -> service.Context:
        path = tmp_path / "syndicate.toml"
        path.write_text(
            CONFIG.format(
                data_dir=tmp_path,
                database_url=database_url,
                feed_url=feeds.url_for("/feed.atom"),
                mastodon_url=mastodon.base_url,
                extra=extra,
            )
        )
        settings = load(path, {"TEST_MASTODON_TOKEN": MASTODON_TOKEN})
        ctx = service.open_context(settings, clock=clock, rand=lambda: 0.5)
        opened.append(ctx)
        return ctx

    yield make
    for ctx in opened:
        ctx.store.dispose()


def new_deliveries(ctx: service.Context, feeds: FeedServer, clock: Clock, n: int = 1) -> list[int]:
    """Baseline with post 1, then publish `n` more posts and return their delivery ids."""
    feeds.publish("/feed.atom", atom_feed([sample_entry(1)]))
    service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)
    clock.advance(hours=1)
    entries = [sample_entry(i, title=f"Post {i}") for i in range(n + 1, 1, -1)]
    feeds.publish("/feed.atom", atom_feed([*entries, sample_entry(1)]))
    ids = service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE).delivery_ids
    return sorted(ids)


def state(ctx: service.Context, delivery_id: int) -> DeliveryState:
    with ctx.store.begin() as conn:
        row = ledger.get_delivery(conn, delivery_id)
    assert row is not None
    return row.state


def kinds(ctx: service.Context, *names: str) -> list[str]:
    with ctx.store.begin() as conn:
        return [e.kind for e in ledger.list_events(conn, kinds=names)]


def posts(mastodon: FakeMastodon) -> int:
    return sum(
        1
        for method, path, *_ in mastodon.requests
        if (method, path) == ("POST", "/api/v1/statuses")
    )


def test_accept_then_drop_is_reconciled_to_posted_without_a_second_post(
    open_ctx: Open, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    ctx = open_ctx()
    [delivery_id] = new_deliveries(ctx, feeds, clock)
    mastodon.fail_next("drop")
    outcome = service.deliver(ctx, delivery_id, Trigger.SCHEDULE)
    assert outcome.state is DeliveryState.UNKNOWN
    assert len(mastodon.statuses) == 1  # the fake stored it, then hung up
    # Not asked again before its reconcile time; then asked, found, recorded as posted.
    assert service.deliver(ctx, delivery_id, Trigger.RETRY).claimed is False
    clock.advance(minutes=1)
    outcome = service.deliver(ctx, delivery_id, Trigger.RETRY)
    assert outcome.state is DeliveryState.POSTED
    assert "found on the platform" in outcome.message
    assert len(mastodon.statuses) == 1 and posts(mastodon) == 1


def test_an_auth_error_pauses_the_account_once_and_holds_its_deliveries(
    open_ctx: Open, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    ctx = open_ctx()
    first, second = new_deliveries(ctx, feeds, clock, n=2)
    mastodon.fail_next("unauthorized")
    assert service.deliver(ctx, first, Trigger.SCHEDULE).state is DeliveryState.HELD
    assert state(ctx, second) is DeliveryState.HELD  # held with the pause, never sent
    assert service.deliver(ctx, second, Trigger.SCHEDULE).claimed is False
    assert kinds(ctx, "account_paused") == ["account_paused"]
    assert posts(mastodon) == 1
    [status] = accounts.list_accounts(ctx)
    assert status.health == "paused" and "401" in (status.paused_reason or "")
    # A person fixes the token and resumes: nothing was lost.
    released = accounts.resume_account(ctx, "toots", actor="cli:test", trigger=Trigger.CLI)
    assert released == 2
    for delivery_id in (first, second):
        service.deliver(ctx, delivery_id, Trigger.CLI)
    assert {state(ctx, first), state(ctx, second)} == {DeliveryState.POSTED}
    assert len(mastodon.statuses) == 2


def test_pausing_by_hand_is_recorded_with_the_actor_and_is_idempotent(open_ctx: Open) -> None:
    ctx = open_ctx()
    assert accounts.pause_account(ctx, "toots", "holiday", actor="cli:ann", trigger=Trigger.CLI)
    assert not accounts.pause_account(ctx, "toots", "again", actor="cli:ann", trigger=Trigger.CLI)
    with ctx.store.begin() as conn:
        [event] = ledger.list_events(conn, kinds=["account_paused"])
    assert (event.actor, event.message) == ("cli:ann", "holiday")


def test_no_request_reaches_a_rate_limited_account_before_its_reset(
    open_ctx: Open, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    ctx = open_ctx()
    first, second = new_deliveries(ctx, feeds, clock, n=2)
    mastodon.fail_next("rate_limit", reset_in=120)
    outcome = service.deliver(ctx, first, Trigger.SCHEDULE)
    assert outcome.state is DeliveryState.WAITING
    assert outcome.follow_up == first and outcome.follow_up_at == clock.now + timedelta(minutes=2)
    clock.advance(minutes=1)
    assert service.deliver(ctx, second, Trigger.SCHEDULE).claimed is False
    assert posts(mastodon) == 1
    clock.advance(minutes=1, seconds=1)
    assert service.deliver(ctx, second, Trigger.SCHEDULE).state is DeliveryState.POSTED
    assert state(ctx, first) is DeliveryState.POSTED  # oldest first: it went before `second`
    assert service.deliver(ctx, second, Trigger.SCHEDULE).state is DeliveryState.POSTED


def test_the_oldest_due_delivery_of_an_account_goes_first(
    open_ctx: Open, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    ctx = open_ctx()
    first, second = new_deliveries(ctx, feeds, clock, n=2)
    outcome = service.deliver(ctx, second, Trigger.SCHEDULE)
    assert outcome.delivery_id == first and outcome.follow_up == second
    assert service.deliver(ctx, second, Trigger.RETRY).delivery_id == second


def test_one_post_in_flight_per_account(
    open_ctx: Open, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    ctx = open_ctx()
    [delivery_id] = new_deliveries(ctx, feeds, clock)
    with ctx.store.begin() as conn:  # another worker is sending to the account
        assert account_store.take(
            conn, ctx.account_ids["toots"], "other", clock.now, timedelta(minutes=5)
        )
    outcome = service.deliver(ctx, delivery_id, Trigger.SCHEDULE)
    assert (outcome.claimed, outcome.message, outcome.follow_up) == (False, "account busy", None)
    assert posts(mastodon) == 0
    clock.advance(minutes=6)  # that worker died: its lease runs out
    assert service.deliver(ctx, delivery_id, Trigger.SCHEDULE).state is DeliveryState.POSTED


def test_a_minimum_gap_and_a_quota_space_the_posts(
    open_ctx: Open, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    ctx = open_ctx('min_gap = "30s"\nquota = 2\nquota_window = "1h"')
    first, second, third = new_deliveries(ctx, feeds, clock, n=3)
    outcome = service.deliver(ctx, first, Trigger.SCHEDULE)
    assert outcome.follow_up == second and outcome.follow_up_at == clock.now + timedelta(seconds=30)
    assert service.deliver(ctx, second, Trigger.SCHEDULE).claimed is False
    clock.advance(seconds=30)
    posted_second_at = clock.now
    assert service.deliver(ctx, second, Trigger.SCHEDULE).state is DeliveryState.POSTED
    clock.advance(minutes=5)
    outcome = service.deliver(ctx, third, Trigger.SCHEDULE)  # two posts this hour: full
    assert outcome.claimed is False
    assert outcome.follow_up_at == posted_second_at - timedelta(seconds=30) + timedelta(hours=1)
    clock.advance(hours=1)
    assert service.deliver(ctx, third, Trigger.SCHEDULE).state is DeliveryState.POSTED
    assert posts(mastodon) == 3


def test_settle_lets_an_edit_made_right_after_publishing_be_what_posts(
    open_ctx: Open, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    ctx = open_ctx('settle = "2m"')
    [delivery_id] = new_deliveries(ctx, feeds, clock)
    assert state(ctx, delivery_id) is DeliveryState.WAITING
    assert service.deliver(ctx, delivery_id, Trigger.SCHEDULE).claimed is False
    clock.advance(minutes=1)
    fixed = sample_entry(2, title="Post 2, typo fixed")
    feeds.publish("/feed.atom", atom_feed([fixed, sample_entry(1)]))
    assert service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE).delivery_ids == ()
    clock.advance(minutes=1)
    assert service.deliver(ctx, delivery_id, Trigger.SCHEDULE).state is DeliveryState.POSTED
    [status] = mastodon.statuses
    assert "typo fixed" in status["text"]
    # An edit after posting never reposts.
    feeds.publish("/feed.atom", atom_feed([sample_entry(2, title="Edited later"), sample_entry(1)]))
    clock.advance(hours=1)
    assert service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE).delivery_ids == ()
    assert len(mastodon.statuses) == 1


def test_retries_follow_the_accounts_own_policy(
    open_ctx: Open, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    ctx = open_ctx('retry_base = "10s"\nretry_cap = "1m"\nmax_attempts = 2')
    [delivery_id] = new_deliveries(ctx, feeds, clock)
    mastodon.fail_next("status", status=503, count=2)
    outcome = service.deliver(ctx, delivery_id, Trigger.SCHEDULE)
    assert outcome.state is DeliveryState.WAITING
    assert outcome.follow_up == delivery_id
    assert outcome.follow_up_at == clock.now + timedelta(seconds=7.5)  # 10s, half jittered
    clock.advance(seconds=8)
    outcome = service.deliver(ctx, delivery_id, Trigger.RETRY)
    assert outcome.state is DeliveryState.FAILED and "gave up after 2" in outcome.message


def test_the_token_cache_survives_a_new_context_and_refreshes_under_the_lock(
    open_ctx: Open,
) -> None:
    ctx = open_ctx()
    cache = LedgerTokenCache(ctx.store, ctx.account_ids["toots"], ctx.clock)
    assert cache.load() == {}
    cache.update(lambda current: {"refresh_token": "r2", "access_token": "a2"})
    # A second worker that started with r1 sees r2 is stored and keeps it.
    kept = cache.update(lambda current: None if current.get("refresh_token") != "r1" else {})
    assert kept == {"refresh_token": "r2", "access_token": "a2"}
    again = LedgerTokenCache(open_ctx().store, ctx.account_ids["toots"], ctx.clock)
    assert again.load()["access_token"] == "a2"
    with ctx.store.begin() as conn:  # never copied into the audit log
        assert all("a2" not in str(e.data) + e.message for e in ledger.list_events(conn))
