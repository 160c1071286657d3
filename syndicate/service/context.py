"""What every use case needs, built once per process."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from syndicate import settings as settings_mod
from syndicate.errors import StoreError
from syndicate.feeds.fetch import Fetcher
from syndicate.model import Account, Summary, Trigger
from syndicate.platforms import publisher_class
from syndicate.platforms.base import Publisher
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES
from syndicate.retry import RetryPolicy
from syndicate.service.tokens import LedgerTokenCache
from syndicate.store import Store, catalog, ledger

log = logging.getLogger("syndicate")

FEED_LEASE = timedelta(minutes=5)
SEND_LEASE = timedelta(minutes=5)
REDISPATCH_AFTER = timedelta(minutes=2)  # a doorbell older than this may have been lost


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    """What every use case needs; built once per process by `open_context`."""

    settings: settings_mod.Settings
    store: Store
    clock: Callable[[], datetime] = utc_now
    rand: Callable[[], float] = random.random
    retry_policy: RetryPolicy | None = None
    fetcher: Fetcher | None = None
    feed_ids: dict[str, int] = field(default_factory=dict)
    account_ids: dict[str, int] = field(default_factory=dict)
    _publishers: dict[str, Publisher] = field(default_factory=dict)

    def publisher(self, account: Account) -> Publisher:
        if account.name not in self._publishers:
            cls = publisher_class(account.platform)
            account_id = self.account_ids.get(account.name)
            tokens = (
                None if account_id is None else LedgerTokenCache(self.store, account_id, self.clock)
            )
            self._publishers[account.name] = cls(
                account, timeout=self.settings.fetch_timeout, tokens=tokens
            )
        return self._publishers[account.name]

    @property
    def send_lease(self) -> timedelta:
        return timedelta(seconds=self.settings.send_lease)

    @property
    def redispatch_after(self) -> timedelta:
        return timedelta(seconds=self.settings.redispatch_after)

    def retry_policy_for(self, account: Account) -> RetryPolicy:
        """The account's own policy; `retry_policy`, when a caller set one, overrides it."""
        if self.retry_policy is not None:
            return self.retry_policy
        options = account.delivery
        return RetryPolicy(
            base=timedelta(seconds=options.retry_base),
            cap=timedelta(seconds=options.retry_cap),
            max_attempts=options.max_attempts,
        )

    def get_fetcher(self) -> Fetcher:
        if self.fetcher is None:
            self.fetcher = make_fetcher(self.settings, self.clock)
        return self.fetcher


def healthy(ctx: Context) -> bool:
    """The ledger answers a trivial query."""
    try:
        with ctx.store.begin() as conn:
            conn.execute(sa.text("SELECT 1"))
    except (StoreError, sa.exc.SQLAlchemyError):
        log.exception("health check: the ledger does not answer")
        return False
    return True


def make_fetcher(
    settings: settings_mod.Settings, clock: Callable[[], datetime] = utc_now
) -> Fetcher:
    return Fetcher(
        timeout=settings.fetch_timeout,
        max_bytes=settings.max_feed_bytes,
        user_agent=settings.user_agent,
        block_private_networks=settings.block_private_networks,
        now=clock,
    )


def open_context(settings: settings_mod.Settings, *, sync: bool = True, **kwargs: Any) -> Context:
    """Migrate the ledger and, with `sync`, bring its feeds and accounts in line with the
    config (every change is an event). Read-only commands pass sync=False."""
    store = Store(settings.database_url)
    store.migrate()
    ctx = Context(settings=settings, store=store, **kwargs)
    with store.begin() as conn:
        if not sync:
            ctx.feed_ids = catalog.feed_ids(conn)
            ctx.account_ids = catalog.account_ids(conn)
            return ctx
        catalog.lock_for_sync(conn)
        ctx.feed_ids, changes = catalog.sync_feeds(conn, {f.name: f.url for f in settings.feeds})
        ctx.account_ids = catalog.sync_accounts(
            conn, {name: a.platform for name, a in settings.accounts.items()}
        )
        for feed_id, kind, message in changes:
            ledger.append_event(
                conn, at=ctx.clock(), kind=kind, trigger=Trigger.CLI, actor="config",
                feed_id=feed_id, message=message,
            )  # fmt: skip
    return ctx


_WARM_UP = Summary(
    title="Warm-up",
    text="Café 👋 日本語 #tag https://example.com/a-post",
    sentences=("Café 👋 日本語 #tag https://example.com/a-post",),
    link="https://example.com/a-post",
    categories=("Warm Up",),
)


def warm_up(settings: settings_mod.Settings) -> None:
    """Import every configured platform and compile its counting patterns once. Run in a
    worker before it forks, so a fresh pool child does not spend its first task's time
    limit on imports (twitter-text alone takes over a second)."""
    for account in settings.accounts.values():
        publisher_class(account.platform)
        rules = RULES[account.platform]
        render(_WARM_UP, account.compose, rules, limit=rules.limit)
