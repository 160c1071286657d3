"""A syndicate install for the web tests: a config with a password, a feed on the loopback
feed server, a FakeMastodon account and a dry-run account, and the ledger seeded through the
real poll and delivery code. Shared by tests/test_web.py and tests/browser/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from syndicate import service
from syndicate.model import Trigger
from syndicate.settings import load
from syndicate.store import queries
from syndicate.store.queries import DeliveryFilter
from syndicate.web import create_app
from tests.conftest import MASTODON_TOKEN, Clock
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon

PASSWORD = "correct horse battery staple"
XSS_TITLE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
FEED_PATH = "/feed.atom"

CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "{database_url}"
fetch_timeout = "2s"

[web]
bind = "{bind}"
password = "${{TEST_WEB_PASSWORD}}"

[[feeds]]
name = "blog"
url = "{feed_url}"
accounts = ["toots", "dry"]

[accounts.toots]
platform = "mastodon"
base_url = "{mastodon_url}"
access_token = "${{TEST_MASTODON_TOKEN}}"

[accounts.dry]
platform = "log"
"""


def write_config(
    tmp_path: Path,
    database_url: str,
    feeds: FeedServer,
    mastodon: FakeMastodon,
    *,
    bind: str = "127.0.0.1:8080",
) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "syndicate.toml"
    path.write_text(
        CONFIG.format(
            data_dir=tmp_path / "data",
            database_url=database_url,
            bind=bind,
            feed_url=feeds.url_for(FEED_PATH),
            mastodon_url=mastodon.base_url,
        )
    )
    return path


@dataclass
class Site:
    """The context, the app over it, and the deliveries its doorbell rang."""

    ctx: service.Context
    feeds: FeedServer
    rung: list[int] = field(default_factory=list)
    polled: list[int] = field(default_factory=list)
    app: Flask | None = None

    def deliver_now(self, ids: Sequence[int]) -> bool:
        """What a worker does on the doorbell, done inside the request."""
        self.rung.extend(ids)
        for delivery_id in ids:
            service.deliver(self.ctx, delivery_id, Trigger.WEB)
        return True

    def poll_now(self, ids: Sequence[int]) -> bool:
        """A worker's poll on the doorbell, and the deliveries it queues, in the request."""
        self.polled.extend(ids)
        for feed_id in ids:
            self.deliver_now(service.poll_feed(self.ctx, feed_id, Trigger.WEB).delivery_ids)
        return True

    def publish(self, *entries: dict[str, Any]) -> None:
        self.feeds.publish(FEED_PATH, atom_feed(list(entries)))

    def poll(self) -> service.PollOutcome:
        return service.poll_feed(self.ctx, self.ctx.feed_ids["blog"], Trigger.SCHEDULE)


def open_site(config: Path, feeds: FeedServer, clock: Clock, *, password: str = PASSWORD) -> Site:
    environ = {"TEST_MASTODON_TOKEN": MASTODON_TOKEN, "TEST_WEB_PASSWORD": password}
    ctx = service.open_context(load(config, environ), clock=clock, rand=lambda: 0.5)
    site = Site(ctx, feeds)
    site.app = create_app(ctx, ring_deliveries=site.deliver_now, ring_polls=site.poll_now)
    return site


def seed(site: Site, mastodon: FakeMastodon) -> dict[str, int]:
    """A baseline post 1; then post 2 (posted to both accounts), the XSS-titled post 3
    (posted) and post 4, whose Mastodon delivery fails for good (422). Returns the delivery
    ids by "<post>/<account>"."""
    site.publish(sample_entry(1))
    site.poll()
    site.publish(
        sample_entry(4), sample_entry(3, title=XSS_TITLE), sample_entry(2), sample_entry(1)
    )
    assert site.poll().new_entries == 3
    with site.ctx.store.begin() as conn:
        rows = queries.list_deliveries(conn, DeliveryFilter(), limit=100, before_id=None)
    ids = {f"{_post(row.entry_link)}/{row.account}": row.delivery_id for row in rows}
    # Oldest first: a delivery call sends its account's oldest due delivery.
    for key, delivery_id in sorted(ids.items(), key=lambda item: item[1]):
        if key == "4/toots":
            mastodon.fail_next("status", status=422)
        service.deliver(site.ctx, delivery_id, Trigger.SCHEDULE)
    return ids


def _post(link: str) -> str:
    return link.rsplit("post-", 1)[1].removesuffix(".html")
