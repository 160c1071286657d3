"""What a person does (service.operating, timeline, configuring): re-sync, mark-posted, remove
a feed, follow the log, show and check the config. Real ledger on SQLite and PostgreSQL, the
fake Mastodon on 127.0.0.1 for real sends; no Celery."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syndicate import service
from syndicate.errors import ConfigError
from syndicate.model import DeliveryState, Trigger
from syndicate.service import configuring, operating, timeline
from syndicate.service.accounts import pause_account, resume_account
from syndicate.service.operating import Selection
from syndicate.settings import load
from syndicate.store import ledger, queries
from syndicate.store.queries import DeliveryFilter
from syndicate.store.rows import HistoryRow
from tests.conftest import MASTODON_TOKEN, Clock
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon

ACTOR = "cli:tester"
CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "{database_url}"
fetch_timeout = "2s"

[[feeds]]
name = "blog"
url = "{feed_url}"
accounts = ["toots", "preview"]

[accounts.toots]
platform = "mastodon"
base_url = "{mastodon_url}"
access_token = "${{TEST_MASTODON_TOKEN}}"

[accounts.preview]
platform = "log"
"""


def write_config(tmp_path: Path, database_url: str, feed_url: str, mastodon_url: str) -> Path:
    path = tmp_path / "syndicate.toml"
    path.write_text(
        CONFIG.format(
            data_dir=tmp_path,
            database_url=database_url,
            feed_url=feed_url,
            mastodon_url=mastodon_url,
        )
    )
    return path


@pytest.fixture
def ctx(
    tmp_path: Path, database_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> Iterator[service.Context]:
    path = write_config(tmp_path, database_url, feeds.url_for("/feed.atom"), mastodon.base_url)
    settings = load(path, {"TEST_MASTODON_TOKEN": MASTODON_TOKEN})
    context = service.open_context(settings, clock=clock, rand=lambda: 0.5)
    yield context
    context.store.dispose()


def seed(ctx: service.Context, feeds: FeedServer, clock: Clock) -> list[int]:
    """Post 1 is the baseline; posts 2 and 3 are new: one delivery per account each."""
    feeds.publish("/feed.atom", atom_feed([sample_entry(1)]))
    service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)
    clock.advance(hours=1)
    feeds.publish("/feed.atom", atom_feed([sample_entry(n) for n in (3, 2, 1)]))
    outcome = service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)
    assert len(outcome.delivery_ids) == 4, outcome
    return sorted(outcome.delivery_ids)


def put(ctx: service.Context, delivery_id: int, state: DeliveryState, **values: Any) -> None:
    """Move a pending delivery to `state` the way a worker does: claim, then finish."""
    now = ctx.clock()
    with ctx.store.begin() as conn:
        assert ledger.claim_delivery(conn, delivery_id, "worker", now, timedelta(minutes=5))
        assert ledger.finish_delivery(conn, delivery_id, "worker", state, now, **values)


def row(ctx: service.Context, delivery_id: int) -> Any:
    with ctx.store.begin() as conn:
        return ledger.get_delivery(conn, delivery_id)


def kinds(ctx: service.Context) -> list[str]:
    with ctx.store.begin() as conn:
        return [e.kind for e in ledger.list_events(conn)]


def account_of(ctx: service.Context, delivery_id: int) -> str:
    names = {i: n for n, i in ctx.account_ids.items()}
    return names[row(ctx, delivery_id).account_id]


def resync(ctx: service.Context, *, force: bool = False, **chosen: Any) -> Any:
    plan = operating.plan_resync(ctx, Selection(**chosen), force=force)
    return plan, operating.apply_resync(ctx, plan, actor=ACTOR)


# --- pure parts ---------------------------------------------------------------------------


def test_since_takes_ages_and_dates_in_utc() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert operating.parse_since("30m", now) == now - timedelta(minutes=30)
    assert operating.parse_since("2d", now) == now - timedelta(days=2)
    assert operating.parse_since("1w", now) == now - timedelta(weeks=1)
    assert operating.parse_since("2026-11-20", now) == datetime(2026, 11, 20, tzinfo=UTC)
    plus_one = operating.parse_since("2026-11-20T10:00+01:00", now)
    assert plus_one == datetime(2026, 11, 20, 9, tzinfo=UTC)
    with pytest.raises(ConfigError, match="30m"):
        operating.parse_since("yesterday", now)


def history_row(n: int, state: DeliveryState, account: str = "toots") -> HistoryRow:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return HistoryRow(n, at, "blog", "t", "l", account, "mastodon", state, 1, None, None, n)


def test_classify_sorts_rows_by_what_a_resync_does_with_them() -> None:
    rows = [history_row(n, s) for n, s in enumerate(DeliveryState)]
    rows.append(history_row(99, DeliveryState.HELD, account="paused-one"))
    buckets = operating.classify(
        rows, operating.RESYNC_STATES, force=False, paused=frozenset({"paused-one"})
    )
    states = {name: {r.state for r in found} for name, found in buckets.items()}
    assert states["requeue"] == set(operating.RESYNC_STATES)
    assert states["posted"] == {DeliveryState.POSTED}
    assert states["queued"] == {DeliveryState.PENDING, DeliveryState.SENDING}
    assert [r.delivery_id for r in buckets["paused"]] == [99]
    only_failed = operating.classify(rows, frozenset({DeliveryState.FAILED}), force=True)
    assert {r.state for r in only_failed["requeue"]} == {DeliveryState.FAILED, DeliveryState.POSTED}


# --- re-sync ------------------------------------------------------------------------------


def test_resync_requeues_failed_and_running_it_twice_queues_nothing_new(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    first, second, *_ = seed(ctx, feeds, clock)
    put(ctx, first, DeliveryState.FAILED, last_error="HTTP 422")
    put(ctx, second, DeliveryState.WAITING, next_attempt_at=clock() + timedelta(hours=3))
    clock.advance(minutes=5)
    plan, result = resync(ctx)
    assert sorted(result.ring) == [first, second]
    assert result.queued == 2 and not result.errors
    for delivery_id in (first, second):
        requeued = row(ctx, delivery_id)
        assert requeued.state == DeliveryState.PENDING
        assert requeued.attempts == 0
        assert requeued.next_attempt_at == clock()
    with ctx.store.begin() as conn:
        [event, _] = ledger.list_events(conn, kinds=["delivery_requeued"])
    assert event.actor == ACTOR and event.trigger == Trigger.CLI
    assert event.data["previous"] in ("failed", "waiting")
    before = kinds(ctx)
    plan, result = resync(ctx)
    assert plan.requeue == () and len(plan.queued) == 4
    assert result.queued == 0 and result.ring == ()
    assert kinds(ctx) == before


def test_unknown_is_asked_about_first_not_sent_blind(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    delivery_id = seed(ctx, feeds, clock)[0]
    put(ctx, delivery_id, DeliveryState.UNKNOWN, reconcile_at=None, last_error="timeout")
    clock.advance(minutes=1)
    _, result = resync(ctx, states=frozenset({DeliveryState.UNKNOWN}))
    assert result.reconciling == 1 and result.queued == 0
    after = row(ctx, delivery_id)
    assert after.state == DeliveryState.UNKNOWN
    assert after.reconcile_at == clock()
    _, again = resync(ctx, states=frozenset({DeliveryState.UNKNOWN}))
    assert again.reconciling == 0  # due for its reconcile already: nothing new


def test_force_reposts_a_posted_delivery_under_a_new_key(
    ctx: service.Context, feeds: FeedServer, clock: Clock, mastodon: FakeMastodon
) -> None:
    ids = seed(ctx, feeds, clock)
    [toot] = [i for i in ids if account_of(ctx, i) == "toots"][:1]
    assert service.deliver(ctx, toot, Trigger.SCHEDULE).state == DeliveryState.POSTED
    posted = row(ctx, toot)
    plan, result = resync(ctx, account="toots")
    assert [r.delivery_id for r in plan.posted] == [toot] and result.queued == 0
    assert len(plan.queued) == 1  # the other toot is still pending
    _, forced = resync(ctx, account="toots", force=True)
    assert toot in forced.ring
    again = row(ctx, toot)
    assert again.state == DeliveryState.PENDING
    assert again.idempotency_key != posted.idempotency_key
    assert again.remote_url is None
    with ctx.store.begin() as conn:
        events = ledger.list_events(conn, kinds=["delivery_requeued"], delivery_id=toot)
    assert events[-1].data["previous_remote_url"] == posted.remote_url
    clock.advance(minutes=1)
    assert service.deliver(ctx, toot, Trigger.CLI).state == DeliveryState.POSTED
    assert len(mastodon.statuses) == 2  # a second post, not a replay of the first
    assert mastodon.posts_for_key(again.idempotency_key) == 1
    assert mastodon.errors == []


def test_an_entry_without_deliveries_gets_them_only_when_named(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    seed(ctx, feeds, clock)
    link = sample_entry(1)["link"]  # the baseline entry: never queued
    plan, _ = resync(ctx, feed="blog")
    assert plan.create == ()
    plan, result = resync(ctx, entry=link)
    assert sorted(m.account for m in plan.create) == ["preview", "toots"]
    assert result.queued == 2 and len(result.ring) == 2
    for delivery_id in result.ring:
        created = row(ctx, delivery_id)
        assert created.state == DeliveryState.PENDING
    with ctx.store.begin() as conn:
        created_events = ledger.list_events(conn, kinds=["delivery_created"])
    assert [e.actor for e in created_events[-2:]] == [ACTOR, ACTOR]
    plan, result = resync(ctx, entry=link)
    assert plan.create == () and result.queued == 0
    with pytest.raises(ConfigError, match="no entry"):
        resync(ctx, entry="https://blog.example.com/nope")


def test_held_for_a_paused_account_waits_for_resume(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    seed(ctx, feeds, clock)
    assert pause_account(ctx, "toots", "token revoked", actor=ACTOR, trigger=Trigger.CLI)
    plan, result = resync(ctx)
    assert len(plan.paused) == 2 and result.queued == 0
    assert resume_account(ctx, "toots", actor=ACTOR, trigger=Trigger.CLI) == 2


def test_dry_run_renders_with_the_account_render_and_writes_nothing(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    first, *_ = seed(ctx, feeds, clock)
    put(ctx, first, DeliveryState.FAILED, last_error="boom")
    before = kinds(ctx)
    with ctx.store.begin() as conn:
        summaries_before = [e.summary for e in queries.entries_by_id(conn, range(1, 10))]
    plan = operating.plan_resync(ctx, Selection(), force=False)
    [item] = operating.render_plan(ctx, plan)
    assert item.post is not None and item.action == "re-queue"
    assert item.post.length <= item.post.limit
    assert "Post" in item.post.text and item.post.platform in ("mastodon", "log")
    assert kinds(ctx) == before
    assert row(ctx, first).state == DeliveryState.FAILED
    with ctx.store.begin() as conn:
        assert [e.summary for e in queries.entries_by_id(conn, range(1, 10))] == summaries_before


# --- mark-posted, remove ------------------------------------------------------------------


def test_mark_posted_settles_unknown_failed_or_held_only(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    first, second, *_ = seed(ctx, feeds, clock)
    put(ctx, first, DeliveryState.UNKNOWN, reconcile_at=None)
    url = "https://mastodon.example/@me/1"
    assert operating.mark_posted(ctx, first, url, actor=ACTOR) == DeliveryState.UNKNOWN
    marked = row(ctx, first)
    assert marked.state == DeliveryState.POSTED and marked.remote_url == url
    with ctx.store.begin() as conn:
        [event] = ledger.list_events(conn, kinds=["delivery_posted"], delivery_id=first)
    assert event.actor == ACTOR and event.data["manual"] is True and event.message == url
    with pytest.raises(ConfigError, match="is posted"):
        operating.mark_posted(ctx, first, url, actor=ACTOR)
    with pytest.raises(ConfigError, match="is pending"):
        operating.mark_posted(ctx, second, url, actor=ACTOR)
    with pytest.raises(ConfigError, match="not an http"):
        operating.mark_posted(ctx, second, "javascript:alert(1)", actor=ACTOR)
    with pytest.raises(ConfigError, match="no delivery"):
        operating.mark_posted(ctx, 9999, url, actor=ACTOR)


def test_a_configured_feed_is_removed_only_with_force_and_its_events_stay(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    seed(ctx, feeds, clock)
    with pytest.raises(ConfigError, match="still in the config"):
        operating.remove_feed(ctx, "blog", force=False, actor=ACTOR)
    events_before = len(kinds(ctx))
    removed = operating.remove_feed(ctx, "blog", force=True, actor=ACTOR)
    assert (removed.entries, removed.deliveries) == (3, 4)
    assert removed.still_configured and removed.websub == "not subscribed"
    assert kinds(ctx)[-1] == "feed_removed" and len(kinds(ctx)) == events_before + 1
    with ctx.store.begin() as conn:
        assert queries.list_deliveries(conn, DeliveryFilter(), limit=10, before_id=None) == []
    with pytest.raises(ConfigError, match="no feed named"):
        operating.remove_feed(ctx, "blog", force=True, actor=ACTOR)


# --- history, follow ----------------------------------------------------------------------


def test_follow_yields_new_matching_events_until_told_to_stop(
    ctx: service.Context, feeds: FeedServer, clock: Clock
) -> None:
    ids = seed(ctx, feeds, clock)
    toots = [i for i in ids if account_of(ctx, i) == "toots"]
    other = next(i for i in ids if i not in toots)
    rounds: list[str] = []

    def wait() -> bool:  # stands in for one second passing: someone acts meanwhile
        rounds.append("waited")
        if len(rounds) == 1:
            for delivery_id, kind in ((toots[0], "delivery_failed"), (other, "delivery_posted")):
                account_id = row(ctx, delivery_id).account_id
                with ctx.store.begin() as conn:
                    ledger.append_event(
                        conn, at=clock(), kind=kind, trigger=Trigger.RETRY, message="",
                        delivery_id=delivery_id, account_id=account_id,
                    )  # fmt: skip
        return len(rounds) < 3

    seen = list(timeline.follow(ctx, DeliveryFilter(account="toots"), after_id=None, wait=wait))
    assert [e.kind for e in seen] == ["delivery_failed"]
    assert seen[0].delivery_id == toots[0]
    assert rounds == ["waited"] * 3


def test_show_gathers_the_entry_timeline_across_accounts(
    ctx: service.Context, feeds: FeedServer, clock: Clock, mastodon: FakeMastodon
) -> None:
    ids = seed(ctx, feeds, clock)
    toot = next(i for i in ids if account_of(ctx, i) == "toots")
    mastodon.fail_next("status", status=422)
    assert service.deliver(ctx, toot, Trigger.SCHEDULE).state == DeliveryState.FAILED
    entry_id = row(ctx, toot).entry_id
    found = timeline.entry_timeline(ctx, str(entry_id))
    assert {r.account for r in found.deliveries} == {"toots", "preview"}
    kinds_seen = [e.kind for e in found.events]
    assert kinds_seen[0] == "entry_new"
    for kind in ("delivery_created", "delivery_claimed", "entry_summarised", "delivery_failed"):
        assert kind in kinds_seen
    [failed] = [e for e in found.events if e.kind == "delivery_failed"]
    assert "422" in failed.message and found.accounts[failed.account_id or 0] == "toots"
    assert timeline.entry_timeline(ctx, found.entry.link).entry.id == entry_id
    assert timeline.entry_timeline(ctx, found.entry.identity).entry.id == entry_id


# --- config show, checks, redaction -------------------------------------------------------


def test_config_show_masks_every_secret_and_says_where_it_came_from(
    ctx: service.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_MASTODON_TOKEN", MASTODON_TOKEN)
    lines = configuring.show_config(ctx.settings)
    text = "\n".join(lines)
    assert MASTODON_TOKEN not in text
    assert 'access_token = "***"  # from ${TEST_MASTODON_TOKEN}' in lines
    assert "[accounts.toots]" in lines and "[[feeds]]" in lines


def test_secrets_are_collected_and_masked_in_any_text() -> None:
    from syndicate.model import Account, Secret
    from syndicate.settings import defaults

    settings = defaults({"SYNDICATE_DATABASE_URL": "postgresql://app:p%40ss-w0rd@db/x"})
    account = Account("a", "mastodon", options={"access_token": Secret("tok-123456")})
    settings = dataclasses.replace(settings, accounts={"a": account})
    secrets = configuring.secret_values(settings)
    assert {"tok-123456", "p%40ss-w0rd", "p@ss-w0rd"} <= set(secrets)
    redact = configuring.Redactor(secrets)
    assert redact("sent tok-123456 with p@ss-w0rd") == "sent *** with ***"
    url = configuring.redact_url(settings.database_url)
    assert url.endswith("://app:***@db/x")


def test_check_accounts_reports_a_refused_token_without_printing_it(
    tmp_path: Path, sqlite_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    path = write_config(tmp_path, sqlite_url, feeds.url_for("/feed.atom"), mastodon.base_url)
    wrong = "wrong-token-5d1c9b"
    context = service.open_context(load(path, {"TEST_MASTODON_TOKEN": wrong}), clock=clock)
    try:
        results = {r.name: r for r in configuring.check_accounts(context)}
    finally:
        context.store.dispose()
    assert results["preview"].ok
    assert not results["toots"].ok and "AuthError" in results["toots"].message
    assert wrong not in results["toots"].message


def test_database_check_names_the_problem_and_hides_the_password() -> None:
    from syndicate.settings import defaults

    url = "postgresql+psycopg://app:hunter2-pw@127.0.0.1:1/nowhere"
    settings = defaults({"SYNDICATE_DATABASE_URL": url})
    problem = configuring.check_database(settings)
    assert problem is not None and "127.0.0.1" in problem
    assert "hunter2-pw" not in problem
