"""Engine creation and schema migration (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from syndicate.errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")


def create_engine(url: str) -> sa.Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    try:
        return sa.create_engine(url, pool_pre_ping=True, future=True)
    except (sa.exc.ArgumentError, ImportError) as e:
        raise StoreError(f"bad database_url: {e}") from e


def _sqlite_engine(url: str) -> sa.Engine:
    path = sa.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30}, future=True)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's legacy
        # mode would defer BEGIN and break the conditional UPDATE claims).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
        # instead of failing with "database is locked" on lock upgrade. Sent by the driver
        # itself: every transaction begins here, and SQLAlchemy's statement machinery would
        # cost more than SQLite's work. Its error is raised as SQLAlchemy would raise it.
        driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, e) from e

    return engine


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several workers start at once; one migrates, the others wait and find it done.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(7412503)"))
            command.upgrade(_alembic_config(connection), "head")
    except sa.exc.OperationalError as e:
        raise StoreError(f"cannot reach the database: {e.orig}") from e


def is_current(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    return current == head
