"""Use cases end to end in one process: real ledger (SQLite and PostgreSQL), real HTTP to the
feed server and the fake Mastodon on 127.0.0.1, no Celery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from syndicate import service
from syndicate.feeds.fetch import Fetcher, FetchResult
from syndicate.model import DeliveryState, Trigger
from syndicate.settings import load
from syndicate.store import catalog, ledger
from tests.conftest import MASTODON_TOKEN, SHARED, Clock
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.llm import FakeLLM
from tests.fakes.mastodon import FakeMastodon

TOKEN = MASTODON_TOKEN
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


def test_entries_stored_before_source_hashes_are_not_taken_for_edits(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    """After migration 0011 the stored entries have no source hash: the next poll compares
    their cleaned text, finds it the same, and records their source without an event."""
    from syndicate.store.schema import entries

    publish(feeds, sample_entry(2), sample_entry(1))
    poll(ctx)
    with ctx.store.begin() as conn:
        conn.execute(entries.update().values(source_hash=None))
    clock.advance(hours=1)
    publish(feeds, sample_entry(3), sample_entry(2), sample_entry(1))
    outcome = poll(ctx)
    assert (outcome.new_entries, outcome.updated_entries) == (1, 0)
    assert events(ctx, "entry_updated") == []
    with ctx.store.begin() as conn:
        known = catalog.known_entries(conn, ctx.feed_ids["blog"])
    assert len(known) == 3 and all(k.source_hash for k in known.values())


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


def test_a_crashed_send_is_marked_unknown_by_the_sweeper_then_reconciled(
    ctx: service.Context, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    delivery_id = new_delivery(ctx, feeds, clock)
    with ctx.store.begin() as conn:
        assert ledger.claim_delivery(
            conn, delivery_id, "dead-worker", clock.now, service.SEND_LEASE
        )
    clock.advance(minutes=10)
    assert service.collect_due(ctx).expired == 1
    assert delivery(ctx, delivery_id).state is DeliveryState.UNKNOWN
    # The dead worker never reached the platform: the question comes back "not there", and
    # only then is it sent, once.
    assert service.deliver(ctx, delivery_id, Trigger.RETRY).state is DeliveryState.POSTED
    assert events(ctx, "reconcile_not_found") == ["reconcile_not_found"]
    assert len(mastodon.statuses) == 1


def test_due_feeds_are_handed_out_once_per_interval(ctx: service.Context, clock: Clock) -> None:
    assert service.collect_due(ctx).feed_ids == (ctx.feed_ids["blog"],)
    assert service.collect_due(ctx).feed_ids == ()


class BrokenFetcher(Fetcher):
    """A fetcher with a bug in it: stands for any unexpected fault inside a poll."""

    def fetch(self, url: str, **kwargs: Any) -> FetchResult:
        raise RuntimeError("a bug")


def test_a_crash_inside_a_poll_is_recorded_and_releases_the_lease(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    publish(feeds, sample_entry(1))
    ctx.fetcher = BrokenFetcher(timeout=1, max_bytes=1000, user_agent="x")
    with pytest.raises(RuntimeError, match="a bug"):
        poll(ctx)
    assert "poll_crashed" in events(ctx, "poll_crashed")
    with ctx.store.begin() as conn:
        feed = catalog.get_feed(conn, ctx.feed_ids["blog"])
    assert feed is not None and feed.error_count == 1 and feed.last_error == "RuntimeError"
    ctx.fetcher = None
    clock.advance(hours=2)
    assert poll(ctx).baseline_entries == 1


def test_items_sharing_a_guid_post_once_whatever_their_order(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    a = sample_entry(1, id="shared", link="https://blog.example.com/a")
    b = sample_entry(2, id="shared", link="https://blog.example.com/b")
    publish(feeds, sample_entry(9))
    poll(ctx)
    clock.advance(hours=1)
    publish(feeds, a, b, sample_entry(9))
    assert len(poll(ctx).delivery_ids) == 2
    publish(feeds, b, a, sample_entry(9))
    assert poll(ctx).delivery_ids == ()


def test_a_nul_byte_in_a_title_is_stored_on_every_database(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    publish(feeds, sample_entry(1))
    poll(ctx)
    clock.advance(hours=1)
    body = atom_feed([sample_entry(2, title="Zero"), sample_entry(1)])
    feeds.publish("/feed.atom", body.replace(b"Zero", b"Ze&#0;ro"))
    assert len(poll(ctx).delivery_ids) == 1


def test_thread_mode_posts_a_reply_chain_ending_with_the_link(
    tmp_path: Path, database_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    path = tmp_path / "thread.toml"
    config = CONFIG.format(
        data_dir=tmp_path, database_url=database_url,
        feed_url=feeds.url_for("/feed.atom"), mastodon_url=mastodon.base_url,
    )  # fmt: skip
    path.write_text(config + "thread = true\nmax_characters = 120\n")
    ctx = service.open_context(load(path, {"TEST_MASTODON_TOKEN": TOKEN}), clock=clock)
    long_body = "".join(f"<p>Sentence number {n} says something useful here.</p>" for n in range(8))
    publish(feeds, sample_entry(1))
    poll(ctx)
    clock.advance(hours=1)
    publish(feeds, sample_entry(2, title="A long one", content_html=long_body), sample_entry(1))
    [delivery_id] = poll(ctx).delivery_ids
    outcome = service.deliver(ctx, delivery_id, Trigger.SCHEDULE)
    assert outcome.state is DeliveryState.POSTED
    statuses = mastodon.statuses
    assert len(statuses) > 1
    assert statuses[0]["in_reply_to_id"] is None
    assert [s["in_reply_to_id"] for s in statuses[1:]] == [s["id"] for s in statuses[:-1]]
    assert statuses[-1]["text"].endswith("https://blog.example.com/2026/01/post-2.html")
    assert delivery(ctx, delivery_id).remote_url.endswith(statuses[0]["id"])
    ctx.store.dispose()


def llm_context(
    tmp_path: Path, database_url: str, feeds: FeedServer, mastodon: FakeMastodon, model: FakeLLM,
    clock: Clock, account_extra: str = "",
) -> service.Context:  # fmt: skip
    config = CONFIG.format(
        data_dir=tmp_path, database_url=database_url,
        feed_url=feeds.url_for("/feed.atom"), mastodon_url=mastodon.base_url,
    )  # fmt: skip
    path = tmp_path / "llm.toml"
    path.write_text(
        f'[summarise]\nllm_base_url = "{model.base_url}"\nllm_model = "small"\n'
        'llm_api_key = "${LLM_KEY}"\nllm_timeout = "2s"\n' + config + account_extra
    )
    env = {"TEST_MASTODON_TOKEN": TOKEN, "LLM_KEY": "llm-key-5e1f"}
    return service.open_context(load(path, env), clock=clock)


@pytest.mark.parametrize("fault", [None, "status", "slow", "malformed", "long"])
def test_a_model_summary_is_used_when_it_works_and_never_blocks_a_post(
    tmp_path: Path,
    database_url: str,
    feeds: FeedServer,
    mastodon: FakeMastodon,
    clock: Clock,
    fault: str | None,
) -> None:
    with FakeLLM(api_key="llm-key-5e1f", answer="Listening to customers is the point.") as model:
        ctx = llm_context(tmp_path, database_url, feeds, mastodon, model, clock)
        if fault:
            model.fail_next(fault, **({"delay": 5.0} if fault == "slow" else {}))
        delivery_id = new_delivery(ctx, feeds, clock)
        assert service.deliver(ctx, delivery_id, Trigger.SCHEDULE).state is DeliveryState.POSTED
    [status] = mastodon.statuses
    with ctx.store.begin() as conn:
        [summarised] = ledger.list_events(conn, kinds=["entry_summarised"])
    if fault is None:
        assert "Listening to customers is the point." in status["text"]
        assert summarised.data["source"] == "llm"
    else:
        assert "Short & sweet." in status["text"]
        assert "model summary not used" in summarised.message
        assert "llm-key-5e1f" not in summarised.message
    ctx.store.dispose()


def test_a_summary_only_entry_is_summarised_from_its_page(
    ctx: service.Context, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    page = (SHARED / "fixtures" / "seed-post-page.html").read_bytes()
    feeds.publish("/post.html", page, "text/html; charset=utf-8")
    publish(feeds, sample_entry(1))
    poll(ctx)
    clock.advance(hours=1)
    summary_only = (SHARED / "fixtures" / "seed-blogger-summary-only.atom").read_bytes()
    link = b"https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"
    feeds.publish("/feed.atom", summary_only.replace(link, feeds.url_for("/post.html").encode()))
    [delivery_id] = poll(ctx).delivery_ids
    assert service.deliver(ctx, delivery_id, Trigger.SCHEDULE).state is DeliveryState.POSTED
    entry_id = delivery(ctx, delivery_id).entry_id
    with ctx.store.begin() as conn:
        entry = catalog.get_entry(conn, entry_id)
    assert entry is not None and entry.summary is not None
    assert entry.summary["source"] == "page"
    text = entry.summary["text"]
    assert text.count("\n\n") == 5  # the six paragraphs of the post
    for junk in ("Post a Comment", "0 comments", "Delicious", "Stumbleupon"):
        assert junk not in text
    assert "LISTENS and REACTS" in text


def test_an_abstract_too_long_for_the_account_falls_back_and_says_so(
    tmp_path: Path, database_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    answer = "This model-written abstract runs on for far too long to fit a small budget. " * 3
    with FakeLLM(api_key="llm-key-5e1f", answer=answer.strip()) as model:
        small = "max_characters = 120\n"
        ctx = llm_context(tmp_path, database_url, feeds, mastodon, model, clock, small)
        delivery_id = new_delivery(ctx, feeds, clock)
        assert service.deliver(ctx, delivery_id, Trigger.SCHEDULE).state is DeliveryState.POSTED
    [status] = mastodon.statuses
    assert "Short & sweet." in status["text"]
    with ctx.store.begin() as conn:
        [rendered] = ledger.list_events(conn, kinds=["delivery_rendered"])
    assert "abstract does not fit" in rendered.message
    ctx.store.dispose()


def test_a_feed_that_changes_its_ids_is_quarantined_until_accepted(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    publish(feeds, *[sample_entry(n) for n in range(1, 7)])
    poll(ctx)
    clock.advance(hours=1)
    renamed = [sample_entry(n, id=f"https://blog.example.com/?p={n}") for n in range(1, 7)]
    publish(feeds, *renamed)
    outcome = poll(ctx)
    assert outcome.quarantined and "6 of 6" in outcome.quarantined
    assert outcome.delivery_ids == ()
    assert "feed_quarantined" in events(ctx, "feed_quarantined")
    assert poll(ctx).skipped  # quarantined feeds are not polled
    assert service.accept_feed(ctx, "blog")
    accepted = poll(ctx)
    assert (accepted.delivery_ids, accepted.baseline_entries) == ((), 6)
    clock.advance(hours=1)
    publish(feeds, sample_entry(7, id="https://blog.example.com/?p=7"), *renamed)
    assert len(poll(ctx).delivery_ids) == 1


def test_an_entry_dated_in_the_future_is_posted_when_its_date_comes(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    publish(feeds, sample_entry(1))
    poll(ctx)
    soon = (clock.now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    publish(feeds, sample_entry(2, published=soon), sample_entry(1))
    outcome = poll(ctx)
    assert (outcome.deferred_entries, outcome.delivery_ids) == (1, ())
    with ctx.store.begin() as conn:
        feed = catalog.get_feed(conn, ctx.feed_ids["blog"])
    assert feed is not None and feed.next_poll_at is not None
    assert feed.next_poll_at <= clock.now + timedelta(hours=1)
    clock.advance(hours=1, minutes=1)
    assert len(poll(ctx).delivery_ids) == 1  # the feed did not change: read afresh anyway


def test_excluded_categories_are_recorded_but_never_posted(
    tmp_path: Path, database_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    config = CONFIG.format(
        data_dir=tmp_path, database_url=database_url,
        feed_url=feeds.url_for("/feed.atom"), mastodon_url=mastodon.base_url,
    ).replace('accounts = ["toots"]', 'accounts = ["toots"]\nexclude = ["Drafts"]')  # fmt: skip
    path = tmp_path / "filters.toml"
    path.write_text(config)
    ctx = service.open_context(load(path, {"TEST_MASTODON_TOKEN": TOKEN}), clock=clock)
    publish(feeds, sample_entry(1))
    poll(ctx)
    clock.advance(hours=1)
    draft = sample_entry(2, categories=["Drafts"])
    publish(feeds, draft, sample_entry(3), sample_entry(1))
    outcome = poll(ctx)
    assert (outcome.new_entries, len(outcome.delivery_ids)) == (2, 1)
    clock.advance(hours=1)
    publish(feeds, draft, sample_entry(3), sample_entry(1), sample_entry(4, title="x"))
    assert len(poll(ctx).delivery_ids) == 1  # the draft stays seen, never posted
    ctx.store.dispose()


def feed_row(ctx: service.Context) -> Any:
    with ctx.store.begin() as conn:
        return catalog.get_feed(conn, ctx.feed_ids["blog"])


def test_a_rate_limited_feed_is_not_polled_before_retry_after(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    publish(feeds, sample_entry(1))
    feeds.rate_limit_next("/feed.atom", 7200)
    assert "429" in (poll(ctx).error or "")
    assert feed_row(ctx).next_poll_at >= clock.now + timedelta(hours=2)


def test_cache_control_max_age_stretches_the_interval(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    feeds.publish(
        "/feed.atom", atom_feed([sample_entry(1)]), headers={"Cache-Control": "max-age=7200"}
    )
    poll(ctx)
    assert feed_row(ctx).next_poll_at >= clock.now + timedelta(hours=2)


def test_a_permanent_redirect_moves_the_feed_and_says_so(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    feeds.publish("/new.atom", atom_feed([sample_entry(1)]))
    feeds.redirect("/feed.atom", "/new.atom", status=301)
    poll(ctx)
    assert feed_row(ctx).fetch_url == feeds.url_for("/new.atom")
    assert "feed_moved" in events(ctx, "feed_moved")
    feeds.remove("/feed.atom")  # the old address is gone; polling goes to the new one
    clock.advance(hours=1)
    feeds.publish("/new.atom", atom_feed([sample_entry(2), sample_entry(1)]))
    assert len(poll(ctx).delivery_ids) == 1


def test_an_rss_ttl_stretches_the_interval(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><ttl>240</ttl>
    <item><guid>1</guid><title>A</title><link>https://blog.example.com/a</link></item>
    </channel></rss>"""
    feeds.publish("/feed.atom", rss, "application/rss+xml")
    poll(ctx)
    assert feed_row(ctx).next_poll_at >= clock.now + timedelta(hours=4)
