"""What every use case needs, built once per process."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from syndicate import settings as settings_mod
from syndicate.feeds.fetch import Fetcher
from syndicate.model import (
    Account,
)
from syndicate.platforms import publisher_class
from syndicate.platforms.base import Publisher
from syndicate.retry import RetryPolicy
from syndicate.store import Store, catalog

log = logging.getLogger("syndicate")

FEED_LEASE = timedelta(minutes=5)
SEND_LEASE = timedelta(minutes=5)
REDISPATCH_AFTER = timedelta(minutes=2)  # a doorbell older than this may have been lost
MAX_ERROR_BACKOFF = timedelta(hours=24)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    """What every use case needs; built once per process by `open_context`."""

    settings: settings_mod.Settings
    store: Store
    clock: Callable[[], datetime] = utc_now
    rand: Callable[[], float] = random.random
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    fetcher: Fetcher | None = None
    feed_ids: dict[str, int] = field(default_factory=dict)
    account_ids: dict[str, int] = field(default_factory=dict)
    _publishers: dict[str, Publisher] = field(default_factory=dict)

    def publisher(self, account: Account) -> Publisher:
        if account.name not in self._publishers:
            cls = publisher_class(account.platform)
            self._publishers[account.name] = cls(account, timeout=self.settings.fetch_timeout)
        return self._publishers[account.name]

    def get_fetcher(self) -> Fetcher:
        if self.fetcher is None:
            s = self.settings
            self.fetcher = Fetcher(
                timeout=s.fetch_timeout, max_bytes=s.max_feed_bytes, user_agent=s.user_agent
            )
        return self.fetcher


def open_context(settings: settings_mod.Settings, **kwargs: Any) -> Context:
    """Migrate the ledger and bring its feeds and accounts in line with the config."""
    store = Store(settings.database_url)
    store.migrate()
    ctx = Context(settings=settings, store=store, **kwargs)
    with store.begin() as conn:
        ctx.feed_ids = catalog.sync_feeds(conn, {f.name: f.url for f in settings.feeds})
        ctx.account_ids = catalog.sync_accounts(
            conn, {name: a.platform for name, a in settings.accounts.items()}
        )
    return ctx
