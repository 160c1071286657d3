"""Shared fixtures: real SQLite and PostgreSQL stores, a fixed clock, the founding sample."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicate.store import Store
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon
from tests.pgschema import fresh_schema

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED_FEED = ROOT / "config" / "demo" / "feed.atom"
POSTGRES_URL = os.environ.get(
    "SYNDICATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SYNDICATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


MASTODON_TOKEN = "secret-token-8f3e2a"


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The installed `syndicate` command as a user runs it, with no SYNDICATE_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "syndicate"), *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


class Clock:
    """An injectable clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL server, dropped afterwards."""
    with fresh_schema(POSTGRES_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    s.migrate()
    yield s
    s.dispose()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def mastodon(clock: Clock) -> Iterator[FakeMastodon]:
    """A fake Mastodon on 127.0.0.1 that shares the test's clock, so its rate-limit resets
    are on the test's timeline."""

    def epoch() -> float:
        return clock.now.timestamp()

    with FakeMastodon(token=MASTODON_TOKEN, clock=epoch) as fake:
        yield fake
