"""The walking skeleton on real parts: Redis, a `celery worker` subprocess, the `syndicate`
CLI as a subprocess, a feed server and a stateful fake Mastodon on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from syndicate.settings import load
from syndicate.store import Store, ledger
from tests.conftest import REDIS_URL, ROOT
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon

BIN = Path(sys.executable).parent
TOKEN = "e2e-secret-token"
CONFIG = """
[syndicate]
data_dir = "{data_dir}"
broker_url = "{broker_url}"

[[feeds]]
name = "blog"
url = "{feed_url}"
accounts = ["toots"]

[accounts.toots]
platform = "mastodon"
base_url = "{mastodon_url}"
access_token = "${{E2E_MASTODON_TOKEN}}"
"""


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def broker() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def config(tmp_path: Path, broker: str) -> Iterator[tuple[Path, FeedServer, FakeMastodon]]:
    with FeedServer() as feeds, FakeMastodon(token=TOKEN) as mastodon:
        path = tmp_path / "syndicate.toml"
        path.write_text(
            CONFIG.format(
                data_dir=tmp_path / "data",
                broker_url=broker,
                feed_url=feeds.url_for("/feed.atom"),
                mastodon_url=mastodon.base_url,
            )
        )
        yield path, feeds, mastodon


def environment(config: Path) -> dict[str, str]:
    return {**os.environ, "SYNDICATE_CONFIG": str(config), "E2E_MASTODON_TOKEN": TOKEN}


@pytest.fixture
def worker(config: tuple[Path, FeedServer, FakeMastodon], tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "tasks.app", "worker", "--pool=prefork",
             "--concurrency=1", "--loglevel=INFO", "--without-mingle", "--without-gossip",
             "--without-heartbeat", "-n", "e2e@%h"],
            cwd=ROOT, env=environment(config[0]), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: "ready." in log.read_text(), "the celery worker to start", 60)
        yield log
    finally:
        process.terminate()
        process.wait(30)


def syndicate(config: Path, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "syndicate"), *args], env=environment(config), cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    return done.stdout


def ring_again(broker: str, delivery_id: int, times: int) -> None:
    """Send duplicate `deliver` messages straight to the broker, as a redelivery would."""
    sender = Celery(broker=broker)
    for _ in range(times):
        sender.send_task("syndicate.deliver", args=[delivery_id, "retry"], queue="syndicate")
    sender.close()


def test_a_new_entry_is_posted_exactly_once_through_redis_and_a_worker(
    config: tuple[Path, FeedServer, FakeMastodon], worker: Path, broker: str
) -> None:
    path, feeds, mastodon = config
    feeds.publish("/feed.atom", atom_feed([sample_entry(1), sample_entry(2)]))

    # First poll: a baseline; nothing is posted.
    assert "2 recorded as baseline" in syndicate(path, "poll")
    time.sleep(1)
    assert mastodon.statuses == []

    # A newly published entry is posted once, with the right text.
    new = sample_entry(3, title="Day 2 at OMS", content_html="<p>Listening beats talking.</p>")
    feeds.publish("/feed.atom", atom_feed([new, sample_entry(2), sample_entry(1)]))
    assert "1 new, 1 delivery(ies) queued" in syndicate(path, "poll")
    [status] = wait_for(lambda: mastodon.statuses, "the status to be posted")
    assert status["text"] == (
        "Day 2 at OMS\n\nListening beats talking.\n\nhttps://blog.example.com/2026/01/post-3.html"
    )

    # Re-polling and duplicate messages post nothing more.
    assert "not modified" in syndicate(path, "poll")
    store = Store(load(path, environment(path)).database_url)
    with store.begin() as conn:
        [delivery_id] = [row.delivery_id for row in ledger.history(conn)]
    ring_again(broker, delivery_id, 3)

    def skipped() -> bool:
        with store.begin() as conn:
            return len(ledger.list_events(conn, kinds=["claim_skipped"])) >= 3

    wait_for(skipped, "the worker to see the duplicate messages")
    assert len(mastodon.statuses) == 1
    assert mastodon.posts_for_key(status["idempotency_key"]) == 1

    # History shows it.
    [line] = syndicate(path, "history", "--json").splitlines()
    record = json.loads(line)
    assert record["state"] == "posted"
    assert record["entry"] == "Day 2 at OMS"
    assert record["remote_url"] == f"https://social.example/@writer/{status['id']}"
    assert "Day 2 at OMS" in syndicate(path, "history")
    store.dispose()
