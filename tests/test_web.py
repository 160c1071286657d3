"""The web app through Flask's test client, over a real ledger (SQLite, and PostgreSQL where
the SQL differs) seeded by the real poll and delivery code against loopback fakes."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from syndicate.errors import ConfigError
from syndicate.model import DeliveryState, FeedEntry
from syndicate.service.accounts import AccountStatus, list_accounts
from syndicate.settings import load
from syndicate.store import catalog, ledger, queries
from syndicate.store import metrics as figures
from syndicate.store.queries import DeliveryFilter
from syndicate.store.schema import deliveries
from syndicate.web import api_token, make_server, serve
from syndicate.web.auth import SALT_FILE, check_exposure, install_salt
from syndicate.web.views.deliveries import parse_filters
from tests.conftest import MASTODON_TOKEN, Clock
from tests.fakes.atom import sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon
from tests.web_site import PASSWORD, XSS_TITLE, Site, open_site, seed, write_config

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def site(
    tmp_path: Path, sqlite_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> Iterator[Site]:
    s = open_site(write_config(tmp_path, sqlite_url, feeds, mastodon), feeds, clock)
    yield s
    s.ctx.store.dispose()


@pytest.fixture
def client(site: Site) -> FlaskClient:
    assert site.app is not None
    return site.app.test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match[1]


def login(client: FlaskClient, password: str = PASSWORD) -> None:
    reply = client.post(
        "/login", data={"csrf_token": csrf_token(client), "password": password, "next": "/feeds"}
    )
    assert reply.status_code == 303, reply.text


def post(client: FlaskClient, path: str, **form: str) -> str:
    """POST a form the way the page does (with its CSRF token); the page it redirects to."""
    reply = client.post(path, data={"csrf_token": csrf_token(client, "/feeds"), **form})
    assert reply.status_code == 303, reply.text
    return client.get(reply.headers["Location"]).text


# --- access -------------------------------------------------------------------------------


def test_every_page_but_health_and_websub_needs_the_password(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/websub/unknown-token").status_code == 404  # reached, not refused
    for page in ("/feeds", "/deliveries", "/accounts", "/entries/1"):
        reply = client.get(page)
        assert reply.status_code == 302
        assert reply.headers["Location"] == f"/login?next={page}"
    assert client.get("/metrics").status_code == 401
    assert client.post("/accounts/toots/pause").status_code == 401


def test_login_sets_an_httponly_samesite_cookie_that_holds_no_password(
    site: Site, client: FlaskClient
) -> None:
    login(client)
    cookie = client.get_cookie("syndicate_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert PASSWORD not in cookie.value and not cookie.secure  # plain http here
    assert client.get("/feeds").status_code == 200
    key = site.app.secret_key if site.app else None
    assert isinstance(key, bytes) and PASSWORD.encode() not in key

    post(client, "/logout")
    assert client.get("/feeds").status_code == 302


def test_a_wrong_password_is_refused_and_guessing_is_throttled(
    site: Site, client: FlaskClient, clock: Clock
) -> None:
    for _ in range(10):
        token = csrf_token(client)
        reply = client.post("/login", data={"csrf_token": token, "password": "guess"})
        assert reply.status_code == 401 and "Wrong password" in reply.text
    token = csrf_token(client)
    reply = client.post("/login", data={"csrf_token": token, "password": PASSWORD})
    assert reply.status_code == 429  # even the right one, until the window passes
    clock.advance(minutes=16)
    login(client)


def test_the_login_form_never_redirects_off_site(client: FlaskClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        reply = client.post(
            "/login",
            data={"csrf_token": csrf_token(client), "password": PASSWORD, "next": target},
        )
        assert reply.headers["Location"] == "/feeds"


def test_the_bearer_token_opens_metrics_and_pages_for_scripts(client: FlaskClient) -> None:
    token = api_token(PASSWORD)
    assert token != PASSWORD and len(token) == 64
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/metrics", headers=headers).status_code == 200
    assert client.get("/deliveries", headers=headers).status_code == 200
    # A script's POST carries no cookie a third-party page could ride on: no CSRF token.
    assert client.post("/accounts/toots/pause", headers=headers).status_code == 303
    wrong = {"Authorization": f"Bearer {api_token('other')}"}
    assert client.get("/metrics", headers=wrong).status_code == 401


def test_the_token_matches_the_documented_openssl_recipe() -> None:
    # printf '%s' 'syndicate web api token' | openssl dgst -sha256 -hmac 'pw'
    assert api_token("pw") == "b088389566a523fead041c8736027044f26a66292b194ff9058847d5c2bc083f"


def test_a_new_password_signs_every_browser_out(
    tmp_path: Path, site: Site, client: FlaskClient, feeds: FeedServer, clock: Clock
) -> None:
    login(client)
    cookie = client.get_cookie("syndicate_session")
    assert cookie is not None
    assert site.ctx.settings.source is not None
    other = open_site(site.ctx.settings.source, feeds, clock, password="a new password")
    assert other.app is not None
    fresh = other.app.test_client()
    fresh.set_cookie("syndicate_session", cookie.value)
    assert fresh.get("/feeds").status_code == 302
    other.ctx.store.dispose()


def test_the_session_salt_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = install_salt(tmp_path / "data")
    assert install_salt(tmp_path / "data") == first and len(first) == 32
    assert (tmp_path / "data" / SALT_FILE).stat().st_mode & 0o077 == 0
    assert list((tmp_path / "data").iterdir()) == [tmp_path / "data" / SALT_FILE]


def test_without_a_password_only_loopback_is_served(
    tmp_path: Path, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}", feeds, mastodon)
    environ = {"TEST_MASTODON_TOKEN": MASTODON_TOKEN, "TEST_WEB_PASSWORD": ""}
    settings = load(config, environ)
    check_exposure(settings.web)  # 127.0.0.1: fine
    with pytest.raises(ConfigError, match=r"reachable from other machines.*password"):
        check_exposure(settings.web, "0.0.0.0")
    site = open_site(config, feeds, clock, password="")
    assert site.app is not None
    assert site.app.test_client().get("/feeds").status_code == 200  # no login on loopback
    with pytest.raises(ConfigError, match="reachable"):
        make_server(site.ctx, host="0.0.0.0", port=0)
    site.ctx.store.dispose()

    exposed = write_config(tmp_path / "exposed", "sqlite:///" + str(tmp_path / "exposed.db"),
                           feeds, mastodon, bind="0.0.0.0:8080")  # fmt: skip
    with pytest.raises(ConfigError, match="reachable"):
        serve(load(exposed, environ))
    assert not (tmp_path / "exposed.db").exists()  # refused before the ledger was opened


# --- CSRF and headers ---------------------------------------------------------------------


def test_a_state_change_without_the_csrf_token_is_refused(site: Site, client: FlaskClient) -> None:
    login(client)
    assert client.post("/accounts/toots/pause").status_code == 403
    assert client.post("/accounts/toots/pause", data={"csrf_token": "forged"}).status_code == 403
    fresh = site.app.test_client() if site.app else client
    assert fresh.post("/login", data={"password": PASSWORD}).status_code == 403  # login CSRF
    health = [a.health for a in _accounts(site)]
    assert health == ["ok", "ok"]


def test_pages_carry_a_strict_content_security_policy_and_no_script(
    site: Site, client: FlaskClient, mastodon: FakeMastodon
) -> None:
    seed(site, mastodon)
    login(client)
    for page in ("/feeds", "/deliveries", "/accounts", "/entries/3", "/login"):
        reply = client.get(page)
        policy = reply.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert "unsafe-inline" not in policy
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert "<script" not in reply.text.lower()


def test_untrusted_titles_render_as_text(
    site: Site, client: FlaskClient, mastodon: FakeMastodon
) -> None:
    seed(site, mastodon)
    login(client)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    for page in ("/deliveries", "/entries/3"):
        text = client.get(page).text
        assert escaped in text
        assert XSS_TITLE not in text and "<img" not in text


def test_only_http_links_become_links(site: Site, client: FlaskClient) -> None:
    site.publish(sample_entry(1))
    site.poll()
    site.publish(sample_entry(2, link="javascript:alert(3)"), sample_entry(1))
    site.poll()
    login(client)
    with site.ctx.store.begin() as conn:
        entry = queries.find_entry(conn, "javascript:alert(3)")
    assert entry is not None
    text = client.get(f"/entries/{entry.id}").text
    assert "javascript:alert(3)" in text
    assert 'href="javascript' not in text


# --- pages --------------------------------------------------------------------------------


def test_the_feeds_page_shows_polls_errors_and_websub_state(
    site: Site, client: FlaskClient, mastodon: FakeMastodon, clock: Clock
) -> None:
    seed(site, mastodon)
    site.feeds.fail_next("/feed.atom", status=500)
    clock.advance(hours=1)
    site.poll()
    with site.ctx.store.begin() as conn:
        feed_id = site.ctx.feed_ids["blog"]
        catalog.set_websub(conn, feed_id, hub="https://hub.example", websub_state="subscribed",
                           websub_lease_until=clock.now + timedelta(days=10))  # fmt: skip
    login(client)
    text = client.get("/feeds").text
    assert "1 in a row" in text and "HTTP 500" in text
    assert "subscribed" in text and "lease until 2026-12-06" in text
    assert "just now" in text  # the last poll, against the injected clock
    assert "3 new" in text and "1 baseline" in text


def test_deliveries_filter_by_state_account_platform_feed_entry_and_since(
    site: Site, client: FlaskClient, mastodon: FakeMastodon, clock: Clock
) -> None:
    ids = seed(site, mastodon)
    login(client)

    def shown(**args: str) -> set[int]:
        text = client.get("/deliveries", query_string=args).text
        return {int(n) for n in re.findall(r'<td class="num">(\d+)</td>\s*<td><time', text)}

    assert shown() == set(ids.values())
    assert shown(state="failed") == {ids["4/toots"]}
    assert shown(account="dry") == {ids[f"{n}/dry"] for n in (2, 3, 4)}
    assert shown(platform="mastodon") == {ids[f"{n}/toots"] for n in (2, 3, 4)}
    assert shown(feed="blog", entry=str(_entry_id(site, ids["2/toots"]))) == {
        ids["2/toots"], ids["2/dry"],
    }  # fmt: skip
    assert shown(since=(clock.now + timedelta(minutes=1)).isoformat()) == set()
    assert shown(since=clock.now.date().isoformat()) == set(ids.values())
    bad = client.get("/deliveries", query_string={"state": "lost", "since": "soon"}).text
    assert "unknown state" in bad and "not an age like 12h" in bad


def test_deliveries_pages_by_keyset_without_overlap(
    site: Site, client: FlaskClient, clock: Clock
) -> None:
    _many_deliveries(site, 120, clock)
    login(client)
    seen: list[int] = []
    url = "/deliveries?account=toots"
    while url:
        text = client.get(url).text
        seen += [int(n) for n in re.findall(r'<td class="num">(\d+)</td>\s*<td><time', text)]
        older = re.search(r'rel="next" href="([^"]+)"', text)
        url = older[1].replace("&amp;", "&") if older else ""
    assert len(seen) == 120 and seen == sorted(seen, reverse=True)
    assert "account=toots" in client.get("/deliveries?account=toots").text  # kept in links


def test_the_entry_page_shows_each_delivery_and_the_timeline_in_order(
    site: Site, client: FlaskClient, mastodon: FakeMastodon
) -> None:
    ids = seed(site, mastodon)
    login(client)
    text = client.get(f"/entries/{_entry_id(site, ids['4/toots'])}").text
    kinds = re.findall(r'<span class="kind">([a-z_]+)</span>', text)
    assert kinds[0] == "entry_new"
    assert kinds.index("delivery_claimed") < kinds.index("delivery_failed")
    assert "delivery_posted" in kinds  # the dry-run account's
    assert "HTTP 422" in text or "422" in text
    assert client.get("/entries/9999").status_code == 404
    found = client.get(
        "/entries", query_string={"q": "https://blog.example.com/2026/01/post-4.html"}
    )
    assert found.headers["Location"] == f"/entries/{_entry_id(site, ids['4/toots'])}"


# --- actions ------------------------------------------------------------------------------


def test_retry_re_sends_a_failed_delivery_and_records_the_person(
    site: Site, client: FlaskClient, mastodon: FakeMastodon
) -> None:
    ids = seed(site, mastodon)
    login(client)
    before = len(mastodon.statuses)
    page = post(client, f"/deliveries/{ids['4/toots']}/retry", next="/deliveries?state=failed")
    assert "Re-sync of delivery" in page and "1 queued to send" in page
    assert len(mastodon.statuses) == before + 1 and site.rung == [ids["4/toots"]]
    with site.ctx.store.begin() as conn:
        delivery = ledger.get_delivery(conn, ids["4/toots"])
        assert delivery is not None and delivery.state is DeliveryState.POSTED
        [event] = ledger.list_events(conn, kinds=["delivery_requeued"])
    assert event.actor == "web"


def test_resync_of_a_baseline_entry_creates_and_posts_its_deliveries(
    site: Site, client: FlaskClient, mastodon: FakeMastodon
) -> None:
    seed(site, mastodon)
    login(client)
    with site.ctx.store.begin() as conn:
        baseline = queries.find_entry(conn, "https://blog.example.com/2026/01/post-1.html")
    assert baseline is not None and baseline.baseline
    page = post(client, f"/entries/{baseline.id}/resync")
    assert "2 queued to send" in page
    assert any("Post 1" in s["text"] for s in mastodon.statuses)
    assert page.count('class="state state-posted"') == 2


def test_resync_of_posted_deliveries_leaves_them_alone(
    site: Site, client: FlaskClient, mastodon: FakeMastodon
) -> None:
    ids = seed(site, mastodon)
    login(client)
    before = len(mastodon.statuses)
    page = post(client, f"/entries/{_entry_id(site, ids['2/toots'])}/resync")
    assert "2 posted already (left alone)" in page and len(mastodon.statuses) == before


def test_pause_and_resume_an_account(site: Site, client: FlaskClient) -> None:
    login(client)
    page = post(client, "/accounts/toots/pause", reason="token <rotated>")
    assert "toots: paused" in page and "token &lt;rotated&gt;" in page
    assert [a.health for a in _accounts(site)] == ["ok", "paused"]
    page = post(client, "/accounts/toots/resume")
    assert "toots: resumed" in page
    assert [a.health for a in _accounts(site)] == ["ok", "ok"]
    with site.ctx.store.begin() as conn:
        events = ledger.list_events(conn, kinds=["account_paused", "account_resumed"])
    assert [(e.kind, e.actor, e.trigger) for e in events] == [
        ("account_paused", "web", "web"), ("account_resumed", "web", "web"),
    ]  # fmt: skip
    assert "no account named" in post(client, "/accounts/nobody/pause")


def test_a_feed_resync_polls_now_and_posts_what_is_new(
    site: Site, client: FlaskClient, mastodon: FakeMastodon
) -> None:
    ids = seed(site, mastodon)
    site.publish(sample_entry(5), sample_entry(4), sample_entry(3), sample_entry(2))
    login(client)
    page = post(client, "/feeds/blog/poll")
    assert "Re-sync of feed blog: 1 queued to send" in page  # post 4, which had failed
    assert "a poll is on its way" in page
    assert site.polled == [site.ctx.feed_ids["blog"]]
    assert site.rung[0] == ids["4/toots"] and len(site.rung) == 3  # then post 5 to both
    assert any("Post 5" in s["text"] for s in mastodon.statuses)


# --- metrics ------------------------------------------------------------------------------


@pytest.fixture
def any_site(
    tmp_path: Path, database_url: str, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> Iterator[Site]:
    s = open_site(write_config(tmp_path, database_url, feeds, mastodon), feeds, clock)
    yield s
    s.ctx.store.dispose()


def test_metrics_read_the_ledger_in_prometheus_format(
    any_site: Site, mastodon: FakeMastodon, clock: Clock
) -> None:
    ids = seed(any_site, mastodon)
    assert any_site.app is not None
    client = any_site.app.test_client()
    reply = client.get("/metrics", headers={"Authorization": f"Bearer {api_token(PASSWORD)}"})
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    toots = {"platform": "mastodon", "account": "toots"}
    assert value("syndicate_deliveries", state="posted", **toots) == 2
    assert value("syndicate_deliveries", state="failed", **toots) == 1
    assert value("syndicate_deliveries", state="posted", platform="log", account="dry") == 3
    assert value("syndicate_delivery_attempts_total", **toots) == 3
    assert value("syndicate_delivery_retries_total", **toots) == 0
    assert value("syndicate_entries_total", feed="blog", kind="new") == 3
    assert value("syndicate_entries_total", feed="blog", kind="baseline") == 1
    assert value("syndicate_poll_events_total", feed="blog", kind="feed_baseline") == 1
    assert value("syndicate_account_paused", **toots) == 0
    # Posts 2 and 3 were published 2 and 3 hours into 2026 and posted at the test clock.
    published = [datetime(2026, 1, 1, h, tzinfo=UTC) for h in (2, 3)]
    latencies = [(clock.now - p).total_seconds() for p in published]
    assert value("syndicate_publish_to_post_seconds_count", platform="mastodon") == 2
    assert value("syndicate_publish_to_post_seconds_sum", platform="mastodon") == pytest.approx(
        sum(latencies)
    )
    assert value("syndicate_publish_to_post_seconds_bucket", platform="mastodon", le="86400.0") == 0
    assert value("syndicate_publish_to_post_seconds_bucket", platform="mastodon", le="+Inf") == 2
    assert ids  # seeded


def test_metrics_latency_buckets_count_posts_at_or_under_each_bound(
    any_site: Site, clock: Clock
) -> None:
    _many_deliveries(
        any_site, 3, clock, published_ago=[timedelta(seconds=s) for s in (20, 90, 4000)]
    )
    with any_site.ctx.store.begin() as conn:
        [latency] = figures.publish_latency(conn, bounds=(30.0, 120.0, 3600.0))
    assert latency.buckets == ((30.0, 1), (120.0, 2), (3600.0, 2))
    assert latency.count == 3 and latency.total_seconds == pytest.approx(4110, abs=0.01)


def test_dashboard_counts_agree_with_the_history_query_for_every_filter(
    any_site: Site, mastodon: FakeMastodon, clock: Clock
) -> None:
    ids = seed(any_site, mastodon)
    entry = _entry_id(any_site, ids["2/toots"])
    filters = [
        DeliveryFilter(),
        DeliveryFilter(feed="blog"),
        DeliveryFilter(feed="other"),
        DeliveryFilter(account="toots", state=DeliveryState.FAILED),
        DeliveryFilter(platform="log", entry_id=entry),
        DeliveryFilter(since=clock.now + timedelta(seconds=1)),
    ]
    with any_site.ctx.store.begin() as conn:
        for f in filters:
            assert figures.filtered_state_counts(conn, f) == queries.count_deliveries(conn, f), f
        assert figures.filtered_state_counts(conn, DeliveryFilter(account="toots")) == {
            DeliveryState.POSTED: 2, DeliveryState.FAILED: 1,
        }  # fmt: skip


# --- the server ---------------------------------------------------------------------------


def test_the_server_serves_on_loopback_and_stops_on_close(site: Site) -> None:
    server = make_server(site.ctx, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        session = requests.Session()  # keep-alive: close() must drop idle connections too
        assert session.get(f"{server.url}/healthz", timeout=5).text == "ok"
        assert (
            session.get(f"{server.url}/feeds", timeout=5, allow_redirects=False).status_code == 302
        )
    finally:
        server.close()
        thread.join(timeout=10)
    assert not thread.is_alive()


# --- pure parts ---------------------------------------------------------------------------


def test_filters_parse_what_the_form_sends() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    parsed = parse_filters(
        {"state": "failed", "account": " toots ", "since": "2026-11-20", "entry": "7", "x": "1"},
        now,
    )
    assert parsed.query.state is DeliveryState.FAILED and parsed.query.account == "toots"
    assert parsed.query.since == datetime(2026, 11, 20, tzinfo=UTC)
    assert parsed.query.entry_id == 7 and parsed.problems == ()
    assert parsed.given == {
        "state": "failed",
        "account": "toots",
        "since": "2026-11-20",
        "entry": "7",
    }
    zoned = parse_filters({"since": "2026-11-20T12:00+02:00"}, now)
    assert zoned.query.since == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert parse_filters({"since": "12h"}, now).query.since == now - timedelta(hours=12)
    bad = parse_filters({"state": "lost", "entry": "1e3", "before": "-1"}, now)
    assert bad.query.state is None and bad.query.entry_id is None and bad.before is None
    assert len(bad.problems) == 3


# --- helpers ------------------------------------------------------------------------------


def _accounts(site: Site) -> list[AccountStatus]:
    return list_accounts(site.ctx)


def _entry_id(site: Site, delivery_id: int) -> int:
    with site.ctx.store.begin() as conn:
        delivery = ledger.get_delivery(conn, delivery_id)
    assert delivery is not None
    return delivery.entry_id


def _many_deliveries(
    site: Site, count: int, clock: Clock, *, published_ago: list[timedelta] | None = None
) -> None:
    """`count` entries with a posted Mastodon delivery each, written straight to the ledger."""
    account = site.ctx.account_ids["toots"]
    with site.ctx.store.begin() as conn:
        for n in range(count):
            ago = published_ago[n] if published_ago else timedelta(hours=1)
            entry = FeedEntry(f"id-{n}", f"https://blog.example.com/{n}", f"Entry {n}", "<p>x</p>",
                              published=clock.now - ago)  # fmt: skip
            entry_id = catalog.insert_entry(
                conn, site.ctx.feed_ids["blog"], entry, f"h{n}", clock.now, baseline=False
            )
            delivery_id = ledger.create_delivery(conn, entry_id, account, f"k-{n}", clock.now)
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .values(state="posted", attempts=1, updated_at=clock.now)
            )
