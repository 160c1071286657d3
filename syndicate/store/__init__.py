"""The ledger: SQLAlchemy schema, Alembic migrations and the queries over them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from syndicate.errors import StoreError
from syndicate.store.db import create_engine, migrate


class Store:
    """Owns the engine. `begin()` yields one transaction; commit on success, rollback on error."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as e:
            raise StoreError(f"database error: {e.orig}") from e

    def dispose(self) -> None:
        self.engine.dispose()
