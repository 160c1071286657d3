"""WebSub end to end in one process, on SQLite and PostgreSQL: the fake hub verifies through
the real Flask app (werkzeug on 127.0.0.1), pushes are ingested through the poll's code path,
and the new delivery is posted within the push request."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from syndicate import service
from syndicate.model import DeliveryState, FeedStatus, Trigger
from syndicate.service import websub
from syndicate.settings import load
from syndicate.store import catalog, ledger
from syndicate.store.rows import FeedRow
from syndicate.web import create_app
from tests.conftest import MASTODON_TOKEN, Clock
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.websub_hub import FakeHub

TOKEN = MASTODON_TOKEN
SELF_URL = "https://blog.example.com/feeds/posts/default"
CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "{database_url}"
fetch_timeout = "2s"

[web]
public_url = "{public_url}"

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
def hub() -> Iterator[FakeHub]:
    with FakeHub() as fake:
        yield fake


@pytest.fixture
def server() -> Iterator[BaseWSGIServer]:
    """The web app's server, bound first so the config can name its URL; the app is set
    once the context exists."""
    srv = make_server("127.0.0.1", 0, lambda environ, start: [])
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield srv
    srv.shutdown()
    thread.join(timeout=5)
    srv.server_close()


@pytest.fixture
def rung() -> list[int]:
    return []


@pytest.fixture
def ctx(
    tmp_path: Path,
    database_url: str,
    feeds: FeedServer,
    mastodon: FakeMastodon,
    server: BaseWSGIServer,
    clock: Clock,
    rung: list[int],
) -> Iterator[service.Context]:
    path = tmp_path / "syndicate.toml"
    path.write_text(
        CONFIG.format(
            data_dir=tmp_path,
            database_url=database_url,
            public_url=f"http://127.0.0.1:{server.server_port}",
            feed_url=feeds.url_for("/feed.atom"),
            mastodon_url=mastodon.base_url,
        )
    )
    context = service.open_context(
        load(path, {"TEST_MASTODON_TOKEN": TOKEN}), clock=clock, rand=lambda: 0.5
    )

    def deliver_now(ids: Sequence[int]) -> bool:
        # What a worker does on the doorbell, done inside the push request.
        rung.extend(ids)
        for delivery_id in ids:
            service.deliver(context, delivery_id, Trigger.WEBSUB)
        return True

    server.app = create_app(context, ring_deliveries=deliver_now)
    yield context
    context.store.dispose()


def document(hub: FakeHub, *numbers: int) -> bytes:
    return atom_feed([sample_entry(n) for n in numbers], self_url=SELF_URL, hub=hub.url)


def feed(ctx: service.Context) -> Any:
    with ctx.store.begin() as conn:
        return catalog.get_feed(conn, ctx.feed_ids["blog"])


def events(ctx: service.Context, *kinds: str) -> list[str]:
    with ctx.store.begin() as conn:
        return [e.kind for e in ledger.list_events(conn, kinds=kinds)]


def subscribed(ctx: service.Context, feeds: FeedServer, hub: FakeHub) -> None:
    """Baseline with post 1 (the poll discovers the hub), then subscribe and be verified."""
    feeds.publish("/feed.atom", document(hub, 1))
    service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)
    [outcome] = websub.renew_due(ctx)
    assert outcome.requested
    [check] = hub.wait_verified(1)
    assert check.echoed and check.topic == SELF_URL
    assert feed(ctx).websub_state == "subscribed"


def test_a_push_is_posted_within_the_request_exactly_once(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub, mastodon: FakeMastodon, rung: list[int]
) -> None:
    subscribed(ctx, feeds, hub)
    [request] = hub.requests
    assert request["hub.secret"] and request["hub.lease_seconds"] == "864000"
    assert request["hub.callback"].endswith(f"/websub/{feed(ctx).websub_token}")

    assert hub.publish(SELF_URL, document(hub, 2, 1)) == [204]
    [status] = mastodon.statuses
    assert "Post 2" in status["text"]
    [delivery_id] = rung
    with ctx.store.begin() as conn:
        delivery = ledger.get_delivery(conn, delivery_id)
    assert delivery is not None and delivery.state is DeliveryState.POSTED

    # The same content again, pushed or polled, posts nothing more.
    assert hub.publish(SELF_URL, document(hub, 2, 1), method="sha1") == [204]
    feeds.publish("/feed.atom", document(hub, 2, 1))
    assert service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE).delivery_ids == ()
    assert len(mastodon.statuses) == 1
    assert events(ctx, "websub_subscribed", "feed_pushed").count("feed_pushed") == 2


@pytest.mark.parametrize("kind", ["wrong", "unsigned", "other-method"])
def test_wrongly_signed_or_unsigned_pushes_create_nothing(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub, mastodon: FakeMastodon, kind: str
) -> None:
    subscribed(ctx, feeds, hub)
    body = document(hub, 2, 1)
    if kind == "wrong":
        statuses = hub.publish(SELF_URL, body, signature="sha256=" + "0" * 64)
    elif kind == "unsigned":
        statuses = hub.publish(SELF_URL, body, unsigned=True)
    else:
        statuses = hub.publish(SELF_URL, body, signature="md5=" + "0" * 32)
    assert statuses == [204]  # 2xx, as the spec asks, but nothing is taken
    assert mastodon.statuses == []
    with ctx.store.begin() as conn:
        assert len(catalog.known_entries(conn, ctx.feed_ids["blog"])) == 1
    assert events(ctx, "websub_push_ignored") == ["websub_push_ignored"]


def test_an_unknown_callback_token_gets_404(
    ctx: service.Context, hub: FakeHub, server: BaseWSGIServer
) -> None:
    base = f"http://127.0.0.1:{server.server_port}/websub/"
    assert hub.post_raw(base + "nope", b"<feed/>", {"Content-Type": "application/atom+xml"}) == 404
    assert hub.deny(SELF_URL, base + "nope") == 404
    assert websub.verify(ctx, "", {"hub.mode": "subscribe"}) is None


def test_a_verification_for_another_topic_gets_404(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub
) -> None:
    subscribed(ctx, feeds, hub)
    token = feed(ctx).websub_token
    params = {"hub.mode": "subscribe", "hub.topic": "https://evil.example/", "hub.challenge": "x"}
    assert websub.verify(ctx, token, params) is None
    assert events(ctx, "websub_verify_refused") == ["websub_verify_refused"]


def test_a_denial_is_recorded_and_the_feed_is_polled_only(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub
) -> None:
    subscribed(ctx, feeds, hub)
    [sub] = hub.subscriptions.values()
    assert hub.deny(SELF_URL, sub.callback, reason="quota") == 200
    assert feed(ctx).websub_state == "denied"
    assert events(ctx, "websub_denied") == ["websub_denied"]
    assert websub.renew_due(ctx) == []


def test_the_lease_is_renewed_when_80_percent_has_passed(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub, clock: Clock
) -> None:
    subscribed(ctx, feeds, hub)  # the hub grants 3600 s
    row = feed(ctx)
    assert row.websub_lease_until == clock.now + timedelta(hours=1)
    assert row.websub_renew_at == clock.now + timedelta(minutes=48)
    clock.advance(minutes=47)
    assert websub.renew_due(ctx) == []
    clock.advance(minutes=1)
    [outcome] = websub.renew_due(ctx)
    assert outcome.requested
    assert [v.echoed for v in hub.wait_verified(2)] == [True, True]
    assert feed(ctx).websub_renew_at == clock.now + timedelta(minutes=48)


def test_a_refused_request_is_retried_later(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub, clock: Clock
) -> None:
    hub.answer = 400
    feeds.publish("/feed.atom", document(hub, 1))
    service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)
    [outcome] = websub.renew_due(ctx)
    assert outcome.error == "the hub answered HTTP 400"
    assert websub.renew_due(ctx) == []
    clock.advance(hours=1)
    hub.answer = 202
    [outcome] = websub.renew_due(ctx)
    assert outcome.requested


def test_the_first_push_of_a_never_polled_feed_is_a_baseline(
    ctx: service.Context, hub: FakeHub, mastodon: FakeMastodon
) -> None:
    with ctx.store.begin() as conn:
        catalog.set_websub(conn, ctx.feed_ids["blog"], hub=hub.url, self_url=SELF_URL)
    assert websub.subscribe(ctx, ctx.feed_ids["blog"]).requested
    assert hub.wait_verified(1)[0].echoed
    hub.publish(SELF_URL, document(hub, 1, 2, 3))
    assert mastodon.statuses == []
    with ctx.store.begin() as conn:
        assert len(catalog.known_entries(conn, ctx.feed_ids["blog"])) == 3
    assert events(ctx, "feed_baseline") == ["feed_baseline"]


def test_a_feed_removed_from_the_config_is_unsubscribed(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub
) -> None:
    subscribed(ctx, feeds, hub)
    with ctx.store.begin() as conn:
        catalog.sync_feeds(conn, {})  # what open_context does when the feed is gone
    [outcome] = websub.renew_due(ctx)
    assert outcome.requested
    assert hub.wait_verified(2)[-1].mode == "unsubscribe"
    assert hub.wait_verified(2)[-1].echoed
    assert hub.subscriptions == {}
    assert feed(ctx).websub_state == "unsubscribed"


def test_no_public_url_means_no_subscription(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub
) -> None:
    feeds.publish("/feed.atom", document(hub, 1))
    service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)
    ctx.settings = dataclasses.replace(
        ctx.settings, web=dataclasses.replace(ctx.settings.web, public_url="")
    )
    assert websub.renew_due(ctx) == []
    assert websub.subscribe(ctx, ctx.feed_ids["blog"]).skipped
    assert hub.requests == []


def test_healthz_answers(ctx: service.Context, server: BaseWSGIServer) -> None:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/healthz") as answer:
        assert (answer.status, answer.read()) == (200, b"ok")


def test_link_headers_take_precedence_over_the_documents_links(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub
) -> None:
    link = f'<{hub.url}>; rel="hub", <https://blog.example.com/self-from-header>; rel="self"'
    body = atom_feed([sample_entry(1)], self_url=SELF_URL, hub="https://elsewhere.example/")
    feeds.publish("/feed.atom", body, headers={"Link": link})
    service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)
    row = feed(ctx)
    assert (row.hub, row.self_url) == (hub.url, "https://blog.example.com/self-from-header")


# --- hub redirects ------------------------------------------------------------------------


@pytest.fixture
def old_hub() -> Iterator[FakeHub]:
    """Where the feed says its hub is; tests make it redirect."""
    with FakeHub() as fake:
        yield fake


def advertise(ctx: service.Context, hub_url: str) -> None:
    with ctx.store.begin() as conn:
        catalog.set_websub(conn, ctx.feed_ids["blog"], hub=hub_url, self_url=SELF_URL)


@pytest.mark.parametrize("status", [307, 308])
def test_a_hub_redirect_307_or_308_gets_the_same_post_at_the_new_address(
    ctx: service.Context, hub: FakeHub, old_hub: FakeHub, status: int
) -> None:
    old_hub.redirect = (status, hub.url)
    advertise(ctx, old_hub.url)
    [outcome] = websub.renew_due(ctx)
    assert outcome.requested
    [(method, _, body)] = old_hub.raw_requests
    assert [r[0::2] for r in hub.raw_requests] == [(method, body)] == [("POST", body)]
    assert hub.raw_requests[0][1]["content-type"].startswith("application/x-www-form-urlencoded")
    assert hub.requests[0]["hub.secret"]  # the secret went on with it (loopback: allowed)
    assert hub.wait_verified(1)[0].echoed
    assert feed(ctx).websub_state == "subscribed"
    assert events(ctx, "websub_redirected") == ["websub_redirected"]
    assert old_hub.errors == hub.errors == []


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_hub_redirect_301_302_or_303_is_not_followed_for_a_post(
    ctx: service.Context, hub: FakeHub, old_hub: FakeHub, status: int
) -> None:
    old_hub.redirect = (status, hub.url)
    advertise(ctx, old_hub.url)
    [outcome] = websub.renew_due(ctx)
    assert outcome.error is not None and outcome.error.startswith(f"the hub answered HTTP {status}")
    assert "only 307 and 308" in outcome.error
    assert hub.raw_requests == []
    assert events(ctx, "websub_subscribe_failed") == ["websub_subscribe_failed"]


def test_a_hub_redirecting_in_a_loop_is_given_up_after_5_hops(
    ctx: service.Context, old_hub: FakeHub
) -> None:
    old_hub.redirect = (307, old_hub.url)
    advertise(ctx, old_hub.url)
    [outcome] = websub.renew_due(ctx)
    assert outcome.error is not None and "more than 5 redirects" in outcome.error
    assert len(old_hub.raw_requests) == 6  # the request and five hops


@pytest.mark.parametrize(
    ("location", "refusal"),
    [
        ("https://169.254.169.254/hub", "a cloud metadata address"),
        ("https://[::ffff:169.254.169.254]/hub", "a cloud metadata address"),
        ("http://hub.example.com/", "not following a redirect to plain http"),
        ("file:///etc/passwd", "only http and https"),
    ],
)
def test_a_hub_redirect_is_checked_like_a_feed_url_before_anything_is_sent(
    ctx: service.Context, old_hub: FakeHub, location: str, refusal: str
) -> None:
    old_hub.redirect = (307, location)
    advertise(ctx, old_hub.url)
    [outcome] = websub.renew_due(ctx)
    assert outcome.error is not None and refusal in outcome.error
    assert feed(ctx).websub_secret is None  # nothing verified
    secret = feed(ctx).websub_next_secret
    assert secret and all(secret not in message for message in messages(ctx))


def messages(ctx: service.Context) -> list[str]:
    with ctx.store.begin() as conn:
        return [f"{e.message} {e.data}" for e in ledger.list_events(conn)]


# --- secret rotation ----------------------------------------------------------------------


def test_a_renewal_rotates_the_secret_and_the_old_one_holds_until_the_hub_verifies(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub, mastodon: FakeMastodon, clock: Clock
) -> None:
    subscribed(ctx, feeds, hub)
    old = hub.requests[0]["hub.secret"]
    assert (feed(ctx).websub_secret, feed(ctx).websub_next_secret) == (old, None)

    hub.hold = True
    clock.advance(minutes=48)
    [outcome] = websub.renew_due(ctx)
    assert outcome.requested
    new = hub.requests[1]["hub.secret"]
    assert new != old
    # Not verified yet: the hub still signs with the old secret, and that is taken.
    assert hub.publish(SELF_URL, document(hub, 2, 1)) == [204]
    assert len(mastodon.statuses) == 1

    hub.release()
    assert hub.wait_verified(2)[-1].echoed
    assert (feed(ctx).websub_secret, feed(ctx).websub_next_secret) == (new, None)
    # Verified: the old secret is refused, the new one taken.
    hub.publish(SELF_URL, document(hub, 3, 2, 1), secret=old)
    assert len(mastodon.statuses) == 1
    assert events(ctx, "websub_push_ignored") == ["websub_push_ignored"]
    hub.publish(SELF_URL, document(hub, 3, 2, 1))
    assert len(mastodon.statuses) == 2
    assert all(old not in m and new not in m for m in messages(ctx))
    assert hub.errors == []


def test_a_renewal_retried_before_verification_sends_the_same_fresh_secret(
    ctx: service.Context, feeds: FeedServer, hub: FakeHub, clock: Clock
) -> None:
    subscribed(ctx, feeds, hub)
    hub.hold = True
    clock.advance(minutes=48)
    assert websub.renew_due(ctx)[0].requested
    clock.advance(hours=1)  # never verified: asked again
    assert websub.renew_due(ctx)[0].requested
    first, second, third = (r["hub.secret"] for r in hub.requests)
    assert second == third != first
    # A push signed with the pending secret is authentic too: it is ours, sent to this hub.
    assert hub.publish(SELF_URL, document(hub, 1), secret=second) == [204]
    assert events(ctx, "websub_push_ignored") == []


# --- what `syndicate feeds list` shows ------------------------------------------------------

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HUB = "https://hub.example/"


@pytest.mark.parametrize(
    ("hub", "state", "lease", "line"),
    [
        (None, None, None, "no hub: polling only"),
        ("https://hub.example/", None, None, "hub advertised, not subscribed yet"),
        ("https://hub.example/", "pending", None, "asked the hub, awaiting verification"),
        ("https://hub.example/", "subscribed", LATER, "subscribed until 2026-11-30 12:00 UTC"),
        (
            "https://hub.example/",
            "pending",
            LATER,
            "renewing, subscribed until 2026-11-30 12:00 UTC",
        ),
        ("https://hub.example/", "subscribed", NOW, "subscribed, lease ended (renewing)"),
        ("https://hub.example/", "denied", LATER, "denied by the hub: polling only"),
        ("https://hub.example/", "unsubscribed", None, "unsubscribed"),
    ],
)
def test_the_status_line_says_where_the_subscription_stands(
    hub: str | None, state: str | None, lease: datetime | None, line: str
) -> None:
    row = FeedRow(1, "blog", "https://b.example/feed", FeedStatus.ACTIVE, None, None, None,
                  None, None, None, 0, None, hub=hub, websub_state=state,
                  websub_lease_until=lease)  # fmt: skip
    assert websub.status_line(row, NOW) == line
