"""The walking skeleton on real parts: Redis, a `celery worker` subprocess (prefork, two
children), the `syndicate` CLI as a subprocess, a feed server and a stateful fake Mastodon on
127.0.0.1, and the ledger on SQLite and on PostgreSQL.

Nothing here sleeps to prove a negative. "Nothing was posted" is read from the ledger and the
broker after the command that could have caused it has returned, and "the worker is done" means
the broker holds no queued and no unacknowledged message (acks_late: a message is acknowledged
only after its task ran, and a task that rings for more work does so before its own ack)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from celery import Celery

from syndicate.settings import load
from syndicate.store import Store, ledger
from syndicate.store.rows import DeliveryRow, EventRow
from syndicate.store.schema import deliveries
from tests.conftest import REDIS_URL, ROOT
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon

BIN = Path(sys.executable).parent
TOKEN = "e2e-secret-token-4f1c9a"
QUEUE = "syndicate"
BROKER_LOCK = "syndicate-e2e:broker-lock"
CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "{database_url}"
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
NEW_ENTRY = sample_entry(3, title="Day 2 at OMS", content_html="<p>Listening beats talking.</p>")
NEW_TEXT = (
    "Day 2 at OMS\n\nListening beats talking.\n\nhttps://blog.example.com/2026/01/post-3.html"
)


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def environment(config: Path) -> dict[str, str]:
    # No SYNDICATE_* from the caller's shell may override the config under test.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    return {**inherited, "SYNDICATE_CONFIG": str(config), "E2E_MASTODON_TOKEN": TOKEN}


@dataclass
class Stack:
    """One syndicate installation under test and the real parts around it."""

    tmp_path: Path
    feeds: FeedServer
    mastodon: FakeMastodon
    broker: redis.Redis
    database_url: str  # as written in the config; "" means SQLite in data_dir
    outputs: list[str] = field(default_factory=list)  # everything the CLI printed
    config: Path = field(init=False)  # the installation's config, with Redis as the broker

    def __post_init__(self) -> None:
        # Written once: the worker reads it while the test runs.
        self.config = self.write_config("syndicate.toml", broker_url=REDIS_URL)

    def write_config(self, name: str, *, broker_url: str) -> Path:
        path = self.tmp_path / name
        path.write_text(
            CONFIG.format(
                data_dir=self.tmp_path / "data",
                database_url=self.database_url,
                broker_url=broker_url,
                feed_url=self.feeds.url_for("/feed.atom"),
                mastodon_url=self.mastodon.base_url,
            )
        )
        return path

    def syndicate(self, *args: str, config: Path | None = None) -> str:
        config = config or self.config
        done = subprocess.run(
            [str(BIN / "syndicate"), *args], env=environment(config), cwd=ROOT,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        self.outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def ring(self, task: str, *arguments: list[object]) -> None:
        """Put messages straight on the broker, as a redelivery or a bad producer would."""
        sender = Celery(broker=REDIS_URL)
        for args in arguments:
            sender.send_task(task, args=args, queue=QUEUE)
        sender.close()

    def queued(self) -> int:
        """Messages waiting in the queue (every priority level of it)."""
        keys = [k for k in self.broker.scan_iter(f"{QUEUE}*") if self.broker.type(k) == b"list"]
        return sum(int(self.broker.llen(k)) for k in keys)

    def quiet(self) -> bool:
        """Nothing queued and nothing delivered to a worker but not yet acknowledged."""
        return self.queued() == 0 and self.broker.hlen("unacked") == 0

    def store(self) -> Store:
        return Store(load(self.config, environment(self.config)).database_url)

    def deliveries(self) -> list[DeliveryRow]:
        store = self.store()
        try:
            with store.begin() as conn:
                rows = [ledger.get_delivery(conn, r.delivery_id) for r in ledger.history(conn)]
        finally:
            store.dispose()
        return [row for row in rows if row is not None]

    def enqueued_at(self, delivery_id: int) -> datetime | None:
        """When the last doorbell was rung for the delivery (None: never)."""
        store = self.store()
        try:
            with store.begin() as conn:
                query = sa.select(deliveries.c.enqueued_at).where(deliveries.c.id == delivery_id)
                value: datetime | None = conn.execute(query).scalar_one()
                return value
        finally:
            store.dispose()

    def events(self, *kinds: str) -> list[EventRow]:
        store = self.store()
        try:
            with store.begin() as conn:
                return ledger.list_events(conn, kinds=kinds)
        finally:
            store.dispose()

    def ledger_dump(self) -> str:
        """Every row of every table in the ledger, as text."""
        store = self.store()
        try:
            metadata = sa.MetaData()
            metadata.reflect(store.engine)
            with store.begin() as conn:
                return "\n".join(
                    repr(tuple(row)) for table in metadata.sorted_tables
                    for row in conn.execute(sa.select(table))
                )  # fmt: skip
        finally:
            store.dispose()

    def assert_token_never_leaked(self, worker_log: Path) -> None:
        # The token was really used: the fake only accepts statuses sent with it.
        assert self.mastodon.statuses
        assert {s["token"] for s in self.mastodon.statuses} == {TOKEN}
        assert TOKEN not in worker_log.read_text()
        for event in self.events():
            assert TOKEN not in event.message, event
            assert TOKEN not in json.dumps(event.data), event
        dump = self.ledger_dump()
        assert "Day 2 at OMS" in dump  # the dump really holds the ledger's rows
        assert TOKEN not in dump
        assert self.outputs
        for output in self.outputs:
            assert TOKEN not in output


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """The test Redis database, emptied and held by this test alone: another run of these tests
    against the same database (a second checkout on the machine) waits for the lock instead of
    emptying our queue or letting its worker take our messages."""
    client = redis.Redis.from_url(REDIS_URL)
    lock = client.lock(BROKER_LOCK, timeout=180, blocking_timeout=240)
    assert lock.acquire(), f"another end-to-end run held {REDIS_URL} for 4 minutes"
    try:
        empty(client)
        yield client
        empty(client)
    finally:
        with contextlib.suppress(redis.exceptions.LockError):  # emptied by an older test run
            lock.release()
        client.close()


def empty(client: redis.Redis) -> None:
    """Delete every key but the lock (FLUSHDB would drop it too)."""
    for key in client.scan_iter():
        if key != BROKER_LOCK.encode():
            client.delete(key)


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path: Path, broker: redis.Redis) -> Iterator[Stack]:
    database_url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with FeedServer() as feeds, FakeMastodon(token=TOKEN) as mastodon:
        yield Stack(tmp_path, feeds, mastodon, broker, database_url)
        assert mastodon.errors == []


@dataclass
class Worker:
    """A `celery -A tasks.app worker` subprocess: prefork pool, two children."""

    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text()

    def finished(self, task: str) -> int:
        """How many `task` messages have run to the end (Celery logs it after the task body)."""
        return sum(
            f"Task {task}[" in line and "succeeded in" in line for line in self.text().splitlines()
        )

    def stop(self) -> None:
        """Warm shutdown: running tasks finish; after this, nothing more touches the ledger."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(30)


@pytest.fixture
def start_worker(stack: Stack) -> Iterator[Callable[[], Worker]]:
    """Start the worker on demand (so messages can be queued before it runs); always stopped."""
    workers: list[Worker] = []

    def start() -> Worker:
        log = stack.tmp_path / f"worker-{len(workers)}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(BIN / "celery"), "-A", "tasks.app", "worker", "--pool=prefork",
                 "--concurrency=2", "--loglevel=DEBUG", "--without-mingle", "--without-gossip",
                 "--without-heartbeat", "-n", f"e2e{len(workers)}@%h"],
                cwd=ROOT, env=environment(stack.config), stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        workers.append(Worker(process, log))
        wait_for(lambda: "ready." in log.read_text(), "the celery worker to start", 60)
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()


def test_a_new_entry_is_posted_exactly_once_through_redis_and_a_worker(
    stack: Stack, start_worker: Callable[[], Worker]
) -> None:
    stack.feeds.publish("/feed.atom", atom_feed([sample_entry(1), sample_entry(2)]))

    # First poll: a baseline. No delivery exists and no doorbell was rung.
    assert "2 recorded as baseline" in stack.syndicate("-v", "poll")
    assert stack.syndicate("history", "--json") == ""
    assert "no deliveries yet" in stack.syndicate("history")
    assert stack.deliveries() == []
    assert stack.events("delivery_created") == []
    assert stack.queued() == 0

    # A new entry: one pending delivery and its doorbell. Before any worker runs, duplicate
    # doorbells and poisoned messages join it, so the duplicates race while it is still pending.
    stack.feeds.publish("/feed.atom", atom_feed([NEW_ENTRY, sample_entry(2), sample_entry(1)]))
    assert "1 new, 1 delivery(ies) queued" in stack.syndicate("-v", "poll")
    [delivery] = stack.deliveries()
    assert delivery.state.value == "pending"
    duplicates = 4
    poison: list[list[object]] = [["not-an-id", "retry"], [999_999, "retry"], [1, "bogus"]]
    stack.ring("syndicate.deliver", *[[delivery.id, "retry"]] * duplicates, *poison)
    messages = 1 + duplicates + len(poison)
    assert stack.queued() == messages

    worker = start_worker()
    wait_for(
        lambda: worker.finished("syndicate.deliver") >= messages,
        "the worker to run every deliver message",
    )
    assert worker.finished("syndicate.deliver") == messages

    # Posted exactly once, with the right text; every other doorbell was a no-op.
    [status] = stack.mastodon.statuses
    assert status["text"] == NEW_TEXT
    assert status["idempotency_key"] == delivery.idempotency_key
    assert stack.mastodon.posts_for_key(delivery.idempotency_key) == 1
    assert len(stack.events("delivery_claimed")) == 1
    assert len(stack.events("delivery_posted")) == 1
    # A duplicate that found the account busy (the first still sending) left no trace; one
    # that came after found nothing to claim and says so.
    skipped = stack.events("claim_skipped")
    assert len(skipped) <= duplicates
    assert {e.delivery_id for e in skipped} <= {delivery.id}
    log = worker.text()
    assert "dropped a message with bad arguments 'not-an-id'" in log
    assert "dropped a message with bad arguments 1, 'bogus'" in log
    assert "no delivery with id 999999" in log

    # Re-polling (unchanged, then changed bytes with the same entries) creates no delivery and
    # rings no doorbell; a late duplicate message is skipped.
    assert "not modified" in stack.syndicate("-v", "poll")
    stack.feeds.publish(
        "/feed.atom", atom_feed([NEW_ENTRY, sample_entry(2), sample_entry(1)], title="Renamed")
    )
    assert "0 new, 0 delivery(ies) queued" in stack.syndicate("-v", "poll")
    assert stack.queued() == 0
    assert len(stack.deliveries()) == 1
    stack.ring("syndicate.deliver", [delivery.id, "retry"])
    wait_for(
        lambda: worker.finished("syndicate.deliver") >= messages + 1,
        "the worker to run the late duplicate",
    )
    assert worker.finished("syndicate.deliver") == messages + 1
    assert len(stack.events("claim_skipped")) == len(skipped) + 1
    assert len(stack.events("delivery_posted")) == 1
    assert len(stack.mastodon.statuses) == 1

    # History shows it.
    [line] = stack.syndicate("history", "--json").splitlines()
    record = json.loads(line)
    assert record["delivery_id"] == delivery.id
    assert record["state"] == "posted"
    assert record["entry"] == "Day 2 at OMS"
    assert record["attempts"] == 1
    assert record["remote_url"] == f"https://social.example/@writer/{status['id']}"
    assert "Day 2 at OMS" in stack.syndicate("history")

    worker.stop()
    stack.assert_token_never_leaked(worker.log)


def test_the_sweeper_rings_for_a_pending_delivery_whose_doorbell_was_never_rung(
    stack: Stack, start_worker: Callable[[], Worker]
) -> None:
    stack.feeds.publish("/feed.atom", atom_feed([sample_entry(1), sample_entry(2)]))
    assert "2 recorded as baseline" in stack.syndicate("poll")

    # Polled through a config without a broker: the delivery is recorded, nobody is told.
    stack.feeds.publish("/feed.atom", atom_feed([NEW_ENTRY, sample_entry(2), sample_entry(1)]))
    brokerless = stack.write_config("brokerless.toml", broker_url="")
    polled = stack.syndicate("poll", config=brokerless)
    assert "1 new, 1 delivery(ies) queued" in polled
    assert "wait in the ledger" in polled
    [delivery] = stack.deliveries()
    assert delivery.state.value == "pending"
    assert stack.enqueued_at(delivery.id) is None
    assert stack.queued() == 0

    # A running worker has no message to take. Three sweeps sent at once (two worker children
    # race on them) find the delivery in the ledger and ring for it: posted exactly once.
    worker = start_worker()
    stack.ring("syndicate.sweep", [], [], [])
    wait_for(lambda: worker.finished("syndicate.sweep") >= 3, "the three sweeps to run")
    wait_for(lambda: stack.events("delivery_posted"), "the swept delivery to be posted")
    wait_for(stack.quiet, "the broker to have nothing queued or unacknowledged")
    worker.stop()

    [status] = stack.mastodon.statuses
    assert status["text"] == NEW_TEXT
    assert stack.mastodon.posts_for_key(delivery.idempotency_key) == 1
    assert worker.finished("syndicate.sweep") == 3
    assert len(stack.events("delivery_claimed")) == 1
    assert len(stack.events("delivery_posted")) == 1
    # Every deliver message the sweeps rang either claimed the delivery or was skipped.
    rung = worker.finished("syndicate.deliver")
    assert rung >= 1
    assert len(stack.events("claim_skipped")) == rung - 1
    [record] = [json.loads(line) for line in stack.syndicate("history", "--json").splitlines()]
    assert record["state"] == "posted"

    stack.assert_token_never_leaked(worker.log)
