"""Use cases end to end in one process: real ledger (SQLite and PostgreSQL), real HTTP to the
feed server and the fake Mastodon on 127.0.0.1, no Celery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from syndicate import service
from syndicate.model import DeliveryState, Trigger
from syndicate.settings import load
from syndicate.store import catalog, ledger
from tests.conftest import Clock
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon

TOKEN = "secret-token-8f3e2a"
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
"""


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def mastodon(clock: Clock) -> Iterator[FakeMastodon]:
    def epoch() -> float:
        return clock.now.timestamp()

    # The fake shares the test's clock, so its rate-limit resets are on our timeline.
    with FakeMastodon(token=TOKEN, clock=epoch) as fake:
        yield fake


@pytest.fixture
def ctx(
    tmp_path: Path, database_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> Iterator[service.Context]:
    path = tmp_path / "syndicate.toml"
    path.write_text(
        CONFIG.format(
            data_dir=tmp_path,
            database_url=database_url,
            feed_url=feeds.url_for("/feed.atom"),
            mastodon_url=mastodon.base_url,
        )
    )
    context = service.open_context(
        load(path, {"TEST_MASTODON_TOKEN": TOKEN}), clock=clock, rand=lambda: 0.5
    )
    yield context
    context.store.dispose()


def publish(feeds: FeedServer, *entries: dict[str, Any]) -> None:
    feeds.publish("/feed.atom", atom_feed(list(entries)))


def poll(ctx: service.Context) -> service.PollOutcome:
    return service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)


def events(ctx: service.Context, *kinds: str) -> list[str]:
    with ctx.store.begin() as conn:
        return [e.kind for e in ledger.list_events(conn, kinds=kinds)]


def delivery(ctx: service.Context, delivery_id: int) -> Any:
    with ctx.store.begin() as conn:
        return ledger.get_delivery(conn, delivery_id)


def new_delivery(ctx: service.Context, feeds: FeedServer, clock: Clock) -> int:
    """Baseline with post 1, then publish post 2 and return its delivery id."""
    publish(feeds, sample_entry(1))
    poll(ctx)
    clock.advance(hours=1)
    publish(
        feeds,
        sample_entry(2, title="Hello world", content_html="<p>Short &amp; sweet.</p>"),
        sample_entry(1),
    )
    [delivery_id] = poll(ctx).delivery_ids
    return delivery_id


def test_first_poll_records_a_baseline_and_posts_nothing(
    ctx: service.Context, feeds: FeedServer, mastodon: FakeMastodon
) -> None:
    publish(feeds, sample_entry(1), sample_entry(2))
    outcome = poll(ctx)
    assert (outcome.new_entries, outcome.baseline_entries, outcome.delivery_ids) == (0, 2, ())
    assert service.collect_due(ctx).delivery_ids == ()
    assert mastodon.statuses == []


def test_new_entry_is_posted_once_with_the_rendered_text(
    ctx: service.Context, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    delivery_id = new_delivery(ctx, feeds, clock)
    outcome = service.deliver(ctx, delivery_id, Trigger.SCHEDULE)
    assert outcome.state is DeliveryState.POSTED
    [status] = mastodon.statuses
    assert (
        status["text"]
        == "Hello world\n\nShort & sweet.\n\nhttps://blog.example.com/2026/01/post-2.html"
    )
    row = delivery(ctx, delivery_id)
    assert row.remote_url == f"https://social.example/@writer/{status['id']}"
    assert row.rendered_text == status["text"]
    assert status["idempotency_key"] == row.idempotency_key

    again = service.deliver(ctx, delivery_id, Trigger.RETRY)
    assert not again.claimed
    assert len(mastodon.statuses) == 1
    assert events(ctx, "delivery_claimed", "delivery_posted", "claim_skipped") == [
        "delivery_claimed",
        "delivery_posted",
        "claim_skipped",
    ]


def test_repolling_and_editing_never_post_again(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    new_delivery(ctx, feeds, clock)
    assert poll(ctx).not_modified
    publish(feeds, sample_entry(2, title="Hello world (edited)"), sample_entry(1))
    outcome = poll(ctx)
    assert (outcome.new_entries, outcome.updated_entries, outcome.delivery_ids) == (0, 1, ())
    assert "entry_updated" in events(ctx, "entry_updated")


def test_server_that_ignores_conditional_get_is_not_parsed_twice(
    ctx: service.Context, feeds: FeedServer
) -> None:
    feeds.ignore_conditional = True
    publish(feeds, sample_entry(1))
    poll(ctx)
    assert poll(ctx).not_modified
    assert feeds.hits("/feed.atom") == 2


@pytest.mark.parametrize(
    ("fault", "kwargs", "state"),
    [
        ("status", {"status": 422}, DeliveryState.FAILED),
        ("status", {"status": 503}, DeliveryState.WAITING),
        ("unauthorized", {}, DeliveryState.HELD),
        ("reset", {}, DeliveryState.UNKNOWN),
        ("hang", {"hang_seconds": 4.0}, DeliveryState.UNKNOWN),
    ],
)
def test_platform_failures_are_recorded_with_their_reason(
    ctx: service.Context,
    feeds: FeedServer,
    mastodon: FakeMastodon,
    clock: Clock,
    fault: str,
    kwargs: dict[str, Any],
    state: DeliveryState,
) -> None:
    delivery_id = new_delivery(ctx, feeds, clock)
    mastodon.fail_next(fault, **kwargs)  # type: ignore[arg-type]
    outcome = service.deliver(ctx, delivery_id, Trigger.SCHEDULE)
    assert outcome.state is state
    row = delivery(ctx, delivery_id)
    assert row.state is state
    assert row.last_error
    assert TOKEN not in row.last_error
    assert f"delivery_{state.value}" in events(ctx, f"delivery_{state.value}")


def test_transient_failure_is_retried_after_backoff_and_then_posts(
    ctx: service.Context, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    delivery_id = new_delivery(ctx, feeds, clock)
    mastodon.fail_next("status", status=503)
    service.deliver(ctx, delivery_id, Trigger.SCHEDULE)
    assert service.collect_due(ctx).delivery_ids == ()
    clock.advance(minutes=2)
    assert service.collect_due(ctx).delivery_ids == (delivery_id,)
    assert service.deliver(ctx, delivery_id, Trigger.RETRY).state is DeliveryState.POSTED
    assert len(mastodon.statuses) == 1


def test_rate_limit_waits_until_the_reset_the_platform_gave(
    ctx: service.Context, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    delivery_id = new_delivery(ctx, feeds, clock)
    mastodon.fail_next("rate_limit", reset_in=3600)
    assert service.deliver(ctx, delivery_id, Trigger.SCHEDULE).state is DeliveryState.WAITING
    row = delivery(ctx, delivery_id)
    assert row.next_attempt_at == clock.now + timedelta(hours=1)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda f: f.publish("/feed.atom", b"<html>not a feed</html>", "text/html"), "not a feed"),
        (lambda f: f.remove("/feed.atom"), "HTTP 404"),
        (lambda f: f.fail_next("/feed.atom", 500), "HTTP 500"),
    ],
)
def test_bad_feed_is_an_error_recorded_with_backoff_and_loses_nothing(
    ctx: service.Context, feeds: FeedServer, clock: Clock, setup: Any, message: str
) -> None:
    new_delivery(ctx, feeds, clock)
    setup(feeds)
    outcome = poll(ctx)
    assert outcome.error and message in outcome.error
    with ctx.store.begin() as conn:
        feed = catalog.get_feed(conn, ctx.feed_ids["blog"])
        assert feed is not None
        assert feed.error_count == 1
        assert feed.next_poll_at is not None and feed.next_poll_at - clock.now > timedelta(
            minutes=20
        )
        assert len(catalog.known_entries(conn, feed.id)) == 2
    assert "feed_error" in events(ctx, "feed_error")


def test_gone_feed_stops_being_polled(ctx: service.Context, feeds: FeedServer) -> None:
    feeds.fail_next("/feed.atom", 410)
    assert "410" in (poll(ctx).error or "")
    assert poll(ctx).skipped
    assert service.collect_due(ctx).feed_ids == ()


def test_unreachable_feed_is_a_recorded_error(ctx: service.Context, feeds: FeedServer) -> None:
    feeds.stop()
    outcome = poll(ctx)
    assert outcome.error and "ConnectionError" in outcome.error


def test_unknown_delivery_id_is_dropped_quietly(ctx: service.Context) -> None:
    outcome = service.deliver(ctx, 999_999, Trigger.SCHEDULE)
    assert outcome.state is None and not outcome.claimed


def test_a_crashed_send_is_marked_unknown_by_the_sweeper(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    delivery_id = new_delivery(ctx, feeds, clock)
    with ctx.store.begin() as conn:
        assert ledger.claim_delivery(
            conn, delivery_id, "dead-worker", clock.now, service.SEND_LEASE
        )
    clock.advance(minutes=10)
    assert service.collect_due(ctx).expired == 1
    assert delivery(ctx, delivery_id).state is DeliveryState.UNKNOWN
    assert service.deliver(ctx, delivery_id, Trigger.RETRY).claimed is False


def test_due_feeds_are_handed_out_once_per_interval(ctx: service.Context, clock: Clock) -> None:
    assert service.collect_due(ctx).feed_ids == (ctx.feed_ids["blog"],)
    assert service.collect_due(ctx).feed_ids == ()
