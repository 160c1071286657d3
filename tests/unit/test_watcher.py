"""The new-entry decision: quarantine on an id-scheme change, accept, and future-dated entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.feeds.parse import parse_feed
from syndicate.feeds.watcher import (
    FUTURE_SKEW_LIMIT,
    QUARANTINE_MIN_KNOWN,
    PollPlan,
    entry_hash,
    plan_poll,
)
from syndicate.model import FeedEntry, KnownEntry

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WINDOW = 10  # known entries in the feed, so one or a few new ones never look like a scheme change


def entry(n: int, prefix: str = "id", **changes: object) -> FeedEntry:
    values: dict[str, object] = {
        "identity": f"{prefix}-{n}",
        "link": f"https://b.example.com/{prefix}/{n}",
        "title": f"Post {n}",
        "content_html": f"<p>Body {n}.</p>",
        "published": NOW - timedelta(days=n + 1),
    }
    values.update(changes)
    return FeedEntry(**values)  # type: ignore[arg-type]


def known(*entries: FeedEntry) -> dict[str, KnownEntry]:
    return {
        e.identity: KnownEntry(i, entry_hash(e), e.link, e.source_hash)
        for i, e in enumerate(entries, 1)
    }


def feed(known_in_feed: int, unseen: int) -> list[FeedEntry]:
    return [entry(n) for n in range(known_in_feed)] + [
        entry(n, prefix="new") for n in range(unseen)
    ]


def ledger(known_in_feed: int, gone: int) -> dict[str, KnownEntry]:
    """What the ledger knows: the feed's known entries plus older ones that left the window."""
    older = [entry(n, prefix="old") for n in range(gone)]
    return known(*[entry(n) for n in range(known_in_feed)], *older)


def stored(plan: PollPlan, before: dict[str, KnownEntry]) -> dict[str, KnownEntry]:
    """The ledger after the service stores a plan (new and baseline entries, not deferred)."""
    after = dict(before)
    for i, e in enumerate((*plan.new, *plan.baseline), len(before) + 1):
        after[e.identity] = KnownEntry(i, plan.hashes[e.identity], e.link, e.source_hash)
    return after


# --- quarantine -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("known_in_feed", "unseen", "gone", "quarantined"),
    [
        (0, 25, 25, True),  # every id changed: a scheme change
        (12, 13, 0, True),  # just above half
        (13, 12, 0, False),  # just below half
        (5, 5, 0, False),  # exactly half is not enough
        (4, 6, 1, True),  # 4 still in the feed + 1 gone = 5 known: enough history
        (3, 6, 1, False),  # only 4 known: a young feed is never quarantined
        (0, 3, 4, False),  # 4 known entries, all gone from the feed
        (0, 3, 5, True),  # 5 known: a 3-item burst that replaces the whole window
        (20, 1, 100, False),  # an ordinary new post
    ],
)
def test_quarantine_triggers_strictly_above_half_with_enough_history(
    known_in_feed: int, unseen: int, gone: int, quarantined: bool
) -> None:
    plan = plan_poll(feed(known_in_feed, unseen), ledger(known_in_feed, gone), first_poll=False)
    assert plan.quarantined is quarantined
    assert bool(plan.reason) is quarantined


def test_a_quarantined_plan_delivers_stores_and_defers_nothing_and_says_why() -> None:
    entries = [*feed(8, 17), entry(99, prefix="soon", published=NOW + timedelta(hours=1))]
    plan = plan_poll(entries, ledger(8, 0), first_poll=False, now=NOW)
    assert plan.quarantined
    assert plan.new == () and plan.baseline == () and plan.deferred == ()
    assert plan.reason == "18 of 26 entries look new: the feed probably changed its id scheme"
    assert len(plan.held) == 18


def test_edits_to_known_entries_still_count_while_quarantined() -> None:
    entries = [entry(0, title="Post 0 (fixed)"), *feed(0, 10)]
    plan = plan_poll(entries, ledger(1, 10), first_poll=False)
    assert plan.quarantined
    assert [e.title for _, e in plan.changed] == ["Post 0 (fixed)"]


@given(
    known_in_feed=st.integers(0, 30),
    unseen=st.integers(0, 30),
    gone=st.integers(0, 30),
    first_poll=st.booleans(),
)
def test_quarantine_rule_holds_for_any_mix(
    known_in_feed: int, unseen: int, gone: int, first_poll: bool
) -> None:
    ledger_now = ledger(known_in_feed, gone)
    plan = plan_poll(feed(known_in_feed, unseen), ledger_now, first_poll=first_poll)
    expected = (
        not first_poll
        and len(ledger_now) >= QUARANTINE_MIN_KNOWN
        and 2 * unseen > known_in_feed + unseen
    )
    assert plan.quarantined is expected
    if plan.quarantined:
        assert plan.new == plan.baseline == plan.deferred == ()
        assert {e.identity for e in plan.held} == {f"new-{n}" for n in range(unseen)}


def test_the_first_poll_is_never_quarantined_even_over_a_stale_ledger() -> None:
    plan = plan_poll(feed(0, 25), ledger(0, 25), first_poll=True)
    assert not plan.quarantined
    assert len(plan.baseline) == 25


# --- accept -----------------------------------------------------------------------------------


@given(known_in_feed=st.integers(0, 20), unseen=st.integers(0, 30), gone=st.integers(0, 30))
def test_accept_turns_every_unseen_entry_into_baseline(
    known_in_feed: int, unseen: int, gone: int
) -> None:
    ledger_now = ledger(known_in_feed, gone)
    accepted = plan_poll(feed(known_in_feed, unseen), ledger_now, first_poll=False, accept=True)
    assert not accepted.quarantined and accepted.new == ()
    assert {e.identity for e in accepted.baseline} == {f"new-{n}" for n in range(unseen)}


def test_after_accept_the_feed_polls_normally_again() -> None:
    before = ledger(0, 25)
    entries = feed(0, 25)
    assert plan_poll(entries, before, first_poll=False).quarantined
    after = stored(plan_poll(entries, before, first_poll=False, accept=True), before)
    plan = plan_poll([entry(0, prefix="next"), *entries[:24]], after, first_poll=False)
    assert not plan.quarantined
    assert [e.identity for e in plan.new] == ["next-0"]


def test_accept_never_backfills() -> None:
    plan = plan_poll(feed(0, 10), ledger(0, 10), first_poll=False, backfill=3, accept=True)
    assert plan.new == () and len(plan.baseline) == 10


# --- future-dated entries ---------------------------------------------------------------------


def poll_with_window(new: FeedEntry) -> PollPlan:
    return plan_poll([new, *feed(WINDOW, 0)], ledger(WINDOW, 0), first_poll=False, now=NOW)


def test_an_entry_dated_in_the_future_waits_then_becomes_new() -> None:
    scheduled = entry(1, prefix="sched", published=NOW + timedelta(hours=5))
    entries = [scheduled, *feed(WINDOW, 0)]
    before = ledger(WINDOW, 0)
    early = plan_poll(entries, before, first_poll=False, now=NOW)
    assert early.new == () and early.deferred == (scheduled,)
    later = plan_poll(
        entries, stored(early, before), first_poll=False, now=NOW + timedelta(hours=5)
    )
    assert later.new == (scheduled,) and later.deferred == ()


@pytest.mark.parametrize(
    ("ahead", "deferred"),
    [
        (timedelta(seconds=1), True),
        (FUTURE_SKEW_LIMIT, True),
        (FUTURE_SKEW_LIMIT + timedelta(seconds=1), False),
        (timedelta(days=3650), False),
        (timedelta(0), False),
        (-timedelta(days=1), False),
    ],
)
def test_future_entries_wait_unless_the_date_is_too_far_ahead(
    ahead: timedelta, deferred: bool
) -> None:
    plan = poll_with_window(entry(1, prefix="p", published=NOW + ahead))
    assert (len(plan.deferred), len(plan.new)) == ((1, 0) if deferred else (0, 1))


def test_a_date_years_ahead_is_a_bad_clock_and_is_stored_as_now() -> None:
    bad = entry(
        1, prefix="p", published=NOW + timedelta(days=365), updated=NOW + timedelta(days=400)
    )
    [new] = poll_with_window(bad).new
    assert (new.published, new.updated) == (NOW, NOW)


def test_an_entry_dated_only_by_updated_waits_for_that_date() -> None:
    undated = entry(1, prefix="p", published=None, updated=NOW + timedelta(hours=1))
    plan = poll_with_window(undated)
    assert plan.deferred == (undated,)


def test_without_now_nothing_is_deferred() -> None:
    plan = plan_poll([entry(1, published=NOW + timedelta(hours=1))], {}, first_poll=False)
    assert len(plan.new) == 1 and plan.deferred == ()


def test_the_baseline_takes_future_dated_entries_too() -> None:
    plan = plan_poll([entry(1, published=NOW + timedelta(hours=1))], {}, first_poll=True, now=NOW)
    assert len(plan.baseline) == 1 and plan.deferred == ()


def test_a_known_entry_re_dated_into_the_future_is_neither_new_nor_deferred() -> None:
    old = entry(1)
    moved = entry(1, published=NOW + timedelta(hours=1))
    plan = plan_poll([moved], known(old), first_poll=False, now=NOW)
    assert plan.new == plan.deferred == ()
    assert plan.changed == ()  # dates are not part of the content hash


@given(
    offsets=st.lists(st.integers(-72, 72), min_size=1, max_size=10),
    step=st.integers(1, 24),
)
def test_every_entry_is_delivered_exactly_once_as_time_passes(
    offsets: list[int], step: int
) -> None:
    entries = [
        entry(n, prefix="p", published=NOW + timedelta(hours=h)) for n, h in enumerate(offsets)
    ]
    entries += feed(WINDOW, 0)
    ledger_now = ledger(WINDOW, 0)
    delivered: list[str] = []
    for tick in range(0, 24 * 4, step):
        plan = plan_poll(entries, ledger_now, first_poll=False, now=NOW + timedelta(hours=tick))
        delivered += [e.identity for e in plan.new]
        ledger_now = stored(plan, ledger_now)
    plan = plan_poll(entries, ledger_now, first_poll=False, now=NOW + timedelta(days=10))
    delivered += [e.identity for e in plan.new]
    assert sorted(delivered) == sorted(f"p-{n}" for n in range(len(offsets)))


# --- cleaning only what changed ---------------------------------------------------------------


def rss(body: str, guid: str = "post-1") -> list[FeedEntry]:
    """One item whose description is `body`, parsed raw as a poll parses it."""
    from xml.sax.saxutils import escape

    document = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>{guid}</guid><title>One</title><link>https://b.example.com/1</link>"
        f"<description>{escape(body)}</description></item></channel></rss>"
    )
    return list(parse_feed(document.encode(), "https://b.example.com/feed", clean=False).entries)


def test_a_known_entry_with_the_same_source_is_neither_cleaned_nor_edited() -> None:
    [first] = rss('<p>Hi <a href="/x">there</a></p><script>alert(1)</script>')
    before = stored(plan_poll([first], {}, first_poll=True), {})
    [again] = rss('<p>Hi <a href="/x">there</a></p><script>alert(1)</script>')
    plan = plan_poll([again], before, first_poll=False)
    assert (plan.new, plan.changed, plan.resourced) == ((), (), ())
    assert plan.hashes[again.identity] == before[again.identity].content_hash


def test_what_the_plan_stores_is_cleaned() -> None:
    [first] = rss('<p>Hi <a href="/x">there</a></p><script>alert(1)</script>')
    assert first.raw_content is not None and "<script>" in first.content_html
    [new] = plan_poll([first], {}, first_poll=False).new
    assert new.raw_content is None
    assert new.content_html == '<p>Hi <a href="https://b.example.com/x">there</a></p>'
    before = stored(plan_poll([first], {}, first_poll=True), {})
    [(_, edited)] = plan_poll(rss("<p>Bye</p><style>p{}</style>"), before, first_poll=False).changed
    assert (edited.raw_content, edited.content_html) == (None, "<p>Bye</p>")


def test_markup_that_cleans_to_the_same_text_only_records_its_new_source() -> None:
    [first] = rss("<p>Hi</p>")
    before = stored(plan_poll([first], {}, first_poll=True), {})
    [again] = rss('<p onclick="steal()">Hi</p>')  # the sanitiser drops the handler
    plan = plan_poll([again], before, first_poll=False)
    assert plan.changed == ()
    assert plan.resourced == ((before[first.identity].id, again.source_hash),)
    assert again.source_hash != first.source_hash


def test_an_entry_stored_before_source_hashes_is_not_an_edit() -> None:
    [shown] = rss("<p>Hi</p>")
    legacy = {shown.identity: KnownEntry(7, entry_hash(shown), shown.link)}  # no source hash
    plan = plan_poll([shown], legacy, first_poll=False)
    assert (plan.new, plan.changed, plan.resourced) == ((), (), ((7, shown.source_hash),))
