"""The ledger-backed TokenCache: rotated OAuth pairs and sessions survive restarts and are
shared by every worker, and a refresh runs under the account's lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from syndicate.platforms.base import Refresh
from syndicate.store import Store
from syndicate.store import accounts as account_store


class LedgerTokenCache:
    def __init__(self, store: Store, account_id: int, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.account_id = account_id
        self.clock = clock

    def load(self) -> dict[str, str]:
        with self.store.begin() as conn:
            return account_store.load_tokens(conn, self.account_id)

    def update(self, refresh: Refresh) -> dict[str, str]:
        # The lock is held across the platform's token call: a second worker waits and then
        # sees the rotated pair instead of spending the single-use refresh token again.
        with self.store.begin() as conn:
            current = account_store.load_tokens(conn, self.account_id, lock=True)
            new = refresh(dict(current))
            if new is None:
                return current
            values = {str(k): str(v) for k, v in new.items()}
            account_store.save_tokens(conn, self.account_id, values, self.clock())
            return values
