"""The web app in a real browser: Debian's Chromium driven by Playwright (never a browser
Playwright downloads), against waitress on 127.0.0.1 over a ledger seeded by the real poll and
delivery code. The doorbells run the work in the request, so a press shows its outcome.

Screenshots go to tmp_path; with SYNDICATE_SCREENSHOTS=1 they go to docs/img/ instead (the
committed ones are made that way).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from syndicate.web import make_server
from tests.conftest import ROOT, Clock
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon
from tests.web_site import PASSWORD, XSS_TITLE, Site, open_site, seed, write_config

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = "no /usr/bin/chromium: scripts/test.sh installs it (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def site(
    tmp_path: Path, feeds: FeedServer, mastodon: FakeMastodon, clock: Clock
) -> Iterator[tuple[Site, dict[str, int]]]:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", feeds, mastodon)
    s = open_site(config, feeds, clock)
    ids = seed(s, mastodon)
    yield s, ids
    s.ctx.store.dispose()


@pytest.fixture
def base_url(site: tuple[Site, dict[str, int]]) -> Iterator[str]:
    s, _ = site
    server = make_server(
        s.ctx, host="127.0.0.1", port=0, ring_deliveries=s.deliver_now, ring_polls=s.poll_now
    )
    thread = threading.Thread(target=server.run, name="waitress")
    thread.start()
    yield server.url
    server.close()
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every alert/confirm the page opens: a script that ran. Dismissed, and recorded."""
    seen: list[str] = []

    def record(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return seen


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return ROOT / "docs" / "img" if os.environ.get("SYNDICATE_SCREENSHOTS") else tmp_path


def log_in(page: Page) -> None:
    page.goto("/feeds")
    expect(page).to_have_url("/login?next=/feeds")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/feeds")


def test_log_in_filter_open_an_entry_and_resync_it(
    page: Page,
    site: tuple[Site, dict[str, int]],
    mastodon: FakeMastodon,
    dialogs: list[str],
    shots: Path,
) -> None:
    s, ids = site
    log_in(page)
    expect(page.get_by_role("heading", name="Feeds")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.screenshot(path=shots / "feeds.png", full_page=True)

    page.get_by_role("link", name="Deliveries").first.click()
    expect(page.locator("#deliveries tbody tr")).to_have_count(6)
    page.screenshot(path=shots / "deliveries.png", full_page=True)

    page.get_by_role("combobox", name="State").select_option("failed")
    page.get_by_role("combobox", name="Account").select_option("toots")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#deliveries tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("HTTP 422")

    rows.first.get_by_role("link", name="Post 4").click()
    expect(page.get_by_role("heading", name="Post 4")).to_be_visible()
    failed = page.locator("#entry-deliveries tr", has_text="toots")
    expect(failed).to_contain_text("failed")

    before = len(mastodon.statuses)
    page.get_by_role("button", name="Re-sync this entry").click()
    expect(page.get_by_role("status")).to_contain_text("1 queued to send")
    expect(failed).to_contain_text("posted")
    expect(page.locator("#timeline")).to_contain_text("delivery_requeued")
    assert len(mastodon.statuses) == before + 1 and "Post 4" in mastodon.statuses[-1]["text"]
    assert s.rung == [ids["4/toots"]]
    page.screenshot(path=shots / "entry.png", full_page=True)

    page.get_by_role("link", name="Accounts").click()
    expect(page.locator("#account-toots")).to_contain_text("posted")
    page.screenshot(path=shots / "accounts.png", full_page=True)
    assert dialogs == []


def test_a_hostile_title_renders_as_text_and_runs_nothing(
    page: Page, site: tuple[Site, dict[str, int]], dialogs: list[str]
) -> None:
    log_in(page)
    page.goto("/deliveries")
    expect(page.get_by_role("link", name=XSS_TITLE).first).to_be_visible()
    page.get_by_role("link", name=XSS_TITLE).first.click()
    expect(page.locator("h1")).to_have_text(XSS_TITLE)
    expect(page.locator("main img")).to_have_count(0)
    expect(page.locator("main script")).to_have_count(0)
    assert page.title().startswith(XSS_TITLE)
    assert dialogs == []


def test_pausing_an_account_from_its_card(
    page: Page, site: tuple[Site, dict[str, int]], dialogs: list[str]
) -> None:
    log_in(page)
    page.goto("/accounts")
    card = page.locator("#account-toots")
    card.get_by_label("Reason").fill("rotating the token")
    card.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("toots: paused")
    expect(card).to_contain_text("rotating the token")
    card.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("toots: resumed")
    expect(card.locator(".badge").first).to_have_text("ok")
    assert dialogs == []
