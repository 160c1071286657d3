"""The chaos test (issue 6), on real parts: a Redis of its own (no persistence), two `celery
worker` processes, `celery beat` running the sweeper, the `syndicate` CLI, the Mastodon,
Bluesky and X fakes with random faults, and the ledger on SQLite and on PostgreSQL.

300 new entries go to three accounts (900 deliveries) while a worker is `kill -9`ed every ~2 s
(and replaced; on a slow machine, as soon as another worker consumes) and Redis is restarted
twice, losing every queued message. The fakes answer
10% 5xx, 5% 429 with a reset 1-3 s ahead, 2% accept-then-drop and 1% connection reset. Once
the chaos stops and the system settles, the fakes' own records must show every delivery posted
exactly once, nothing posted before a reset the platform announced, and the ledger an outcome
event for every attempt. Nothing here asserts a time; the counts are printed.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from syndicate.model import DeliveryState
from syndicate.store import Store, ledger
from syndicate.store.rows import EventRow
from syndicate.store.schema import deliveries
from tests.conftest import ROOT
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.feedserver import FeedServer
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.x import FakeX

BIN = Path(sys.executable).parent
ENTRIES = 300
ACCOUNTS = ("toots", "sky", "bird")
FAULT_RATES = {"status": 0.10, "rate_limit": 0.05, "drop": 0.02, "reset": 0.01}
CHAOS_SECONDS = 60.0  # kills and restarts stop after this, or once everything is posted
KILL_EVERY = (1.5, 2.5)  # seconds between two kills, drawn uniformly
REDIS_RESTARTS = (0.3, 0.65)  # when, as fractions of CHAOS_SECONDS
DEADLINE = 270.0  # seconds from the poll until every delivery must be posted
# An attempt ends with one of these events for its attempt number, or its lease expires.
OUTCOMES = frozenset(f"delivery_{s.value}" for s in DeliveryState) - {"delivery_sending"}

SECRETS = {
    "CHAOS_MASTODON_TOKEN": "chaos-mastodon-token-5d2e",
    "CHAOS_BSKY_PASSWORD": "chao-sbsk-ypas-s123",
    "CHAOS_X_CONSUMER_SECRET": "chaos-x-consumer-secret-77",
    "CHAOS_X_TOKEN_SECRET": "chaos-x-token-secret-91",
}
X_CONSUMER_KEY = "chaos-x-consumer-key"
X_ACCESS_TOKEN = "1460000000000000001-chaos-x-access-token"
# Short knobs, so a lost message or a dead worker costs seconds: every HTTP call times out
# (2 s) well inside the send lease (6 s), which outlasts the longest announced reset (3 s).
PACING = 'retry_base = "1s"\nretry_cap = "4s"\nmax_attempts = 50'
CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "{database_url}"
broker_url = "{broker_url}"
send_lease = "6s"
redispatch_after = "2s"
sweep_interval = "1s"
fetch_timeout = "2s"

[summarise]
fetch_pages = false

[[feeds]]
name = "blog"
url = "{feed_url}"
accounts = ["toots", "sky", "bird"]

[accounts.toots]
platform = "mastodon"
base_url = "{mastodon_url}"
access_token = "${{CHAOS_MASTODON_TOKEN}}"
max_characters = 500
{pacing}

[accounts.sky]
platform = "bluesky"
base_url = "{bluesky_url}"
handle = "writer.bsky.social"
app_password = "${{CHAOS_BSKY_PASSWORD}}"
{pacing}

[accounts.bird]
platform = "x"
base_url = "{x_url}"
consumer_key = "{x_consumer_key}"
consumer_secret = "${{CHAOS_X_CONSUMER_SECRET}}"
access_token = "{x_access_token}"
access_token_secret = "${{CHAOS_X_TOKEN_SECRET}}"
{pacing}
"""


class _TallyX(FakeX):
    """FakeX, counting the faults it injects (it keeps its own fault plumbing, without a
    tally; tests/fakes/faults.py has one)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.faults_injected: Counter[str] = Counter()

    def _next_fault(self) -> Any:
        fault = super()._next_fault()
        if fault is not None:
            self.faults_injected[fault.kind] += 1
        return fault


class _TallyBluesky(FakeBluesky):
    """FakeBluesky, counting the faults it injects, like _TallyX."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.faults_injected: Counter[str] = Counter()

    def _next_fault(self) -> Any:
        fault = super()._next_fault()
        if fault is not None:
            self.faults_injected[fault.kind] += 1
        return fault


Platform = FakeMastodon | _TallyBluesky | _TallyX


def wait_for(check: Callable[[], object], what: Callable[[], str], timeout: float) -> None:
    """Poll `check` twice a second (the ledger is busy enough) until it is true; on timeout,
    fail saying `what()`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what()}")
        time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A redis-server of this test's own, without persistence: a restart loses every message."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--daemonize", "no",
                   "--dir", str(self.workdir)]  # fmt: skip
        with (self.workdir / "redis.log").open("a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: _answers(client), lambda: "redis-server to answer", 20)
        client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def ready(self) -> bool:
        """Consuming: Celery logs "<name> ready." once the worker takes messages."""
        return self.process.poll() is None and " ready." in self.log.read_text()


@dataclass
class Fleet:
    """The Celery processes: workers (prefork, two children) and one beat for the sweeper.
    Each runs in a session of its own, so `kill -9` takes a worker's pool children too."""

    tmp_path: Path
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    started: int = 0
    beat: subprocess.Popen[bytes] | None = None
    exits: list[str] = field(default_factory=list)  # why each worker that exited by itself did

    def _spawn(self, log: Path, *args: str) -> subprocess.Popen[bytes]:
        with log.open("w") as out:
            return subprocess.Popen(
                [str(BIN / "celery"), "-A", "tasks.app", *args, "--loglevel=INFO"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def start_worker(self) -> None:
        self.started += 1
        name, log = f"worker-{self.started}", self.tmp_path / f"worker-{self.started}.log"
        process = self._spawn(log, "worker", "--pool=prefork", "--concurrency=2",
                              "--without-mingle", "--without-gossip", "--without-heartbeat",
                              "-n", f"{name}@%h")  # fmt: skip
        self.workers.append(Worker(process, log))

    def revive(self) -> None:
        """Start a new worker for each one that exited by itself, as the supervisor does in
        production (docker-compose `restart: unless-stopped`). Celery 5.7's worker can exit
        on a Redis restart: kombu raises AttributeError in `_connparams` while closing the
        lost connection, which the consumer calls an unrecoverable error."""
        for worker in [w for w in self.workers if w.process.poll() is not None]:
            self.workers.remove(worker)
            said = [line for line in worker.log.read_text().splitlines() if "CRITICAL" in line]
            self.exits.append(said[-1] if said else f"exit status {worker.process.returncode}")
            self.start_worker()

    def start_beat(self) -> None:
        self.beat = self._spawn(
            self.tmp_path / "beat.log", "beat", "-s", str(self.tmp_path / "beat-schedule"),
            "--pidfile", str(self.tmp_path / "beat.pid"),
        )  # fmt: skip

    def kill_ready_worker(self, rng: random.Random) -> bool:
        """kill -9 a random consuming worker, if another one consumes too (so the work goes
        on: a replacement takes seconds to start on a busy machine); whether one was killed."""
        ready = [w for w in self.workers if w.ready()]
        if len(ready) < 2:
            return False
        victim = rng.choice(ready)
        self.workers.remove(victim)
        os.killpg(victim.process.pid, signal.SIGKILL)
        victim.process.wait(10)
        return True

    def stop(self) -> None:
        """Warm shutdown of everything still running: running tasks finish first."""
        processes = [w.process for w in self.workers] + ([self.beat] if self.beat else [])
        for process in processes:
            if process.poll() is None:
                process.terminate()  # the main process stops its pool children itself
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("*.log")))


@dataclass
class Chaos:
    """Every ~2 s kills a random worker (starting a new one) and, at two moments, restarts
    Redis; until `stop` is set or CHAOS_SECONDS have passed."""

    fleet: Fleet
    redis_server: RedisServer
    rng: random.Random = field(default_factory=lambda: random.Random(6))
    stop: threading.Event = field(default_factory=threading.Event)
    kills: int = 0
    redis_restarts: int = 0
    problems: list[BaseException] = field(default_factory=list)

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as e:  # handed to the test thread, which fails with it
            self.problems.append(e)

    def _loop(self) -> None:
        began = time.monotonic()
        restarts = [began + f * CHAOS_SECONDS for f in REDIS_RESTARTS]
        while not self.stop.wait(self.rng.uniform(*KILL_EVERY)):
            if time.monotonic() - began > CHAOS_SECONDS:
                return
            self.fleet.revive()
            if self.fleet.kill_ready_worker(self.rng):
                self.fleet.start_worker()
                self.kills += 1
            if restarts and time.monotonic() >= restarts[0]:
                restarts.pop(0)
                self.redis_server.kill()  # queued and unacknowledged messages are gone
                self.redis_server.start()
                self.redis_restarts += 1


@dataclass
class Ledger:
    """Read-only views of the ledger for the test's checks."""

    store: Store

    def states(self) -> Counter[str]:
        query = sa.select(deliveries.c.state, sa.func.count()).group_by(deliveries.c.state)
        with self.store.begin() as conn:
            return Counter({str(state): int(n) for state, n in conn.execute(query)})

    def all_posted(self) -> bool:
        return self.states()[DeliveryState.POSTED.value] == ENTRIES * len(ACCOUNTS)

    def describe(self) -> str:
        return f"every delivery to be posted; the ledger holds {dict(self.states())}"

    def without_remote_id(self) -> int:
        query = sa.select(sa.func.count()).where(
            sa.or_(deliveries.c.remote_id.is_(None), deliveries.c.remote_id == "")
        )
        with self.store.begin() as conn:
            return int(conn.execute(query).scalar_one())

    def events(self) -> list[EventRow]:
        with self.store.begin() as conn:
            return ledger.list_events(conn)


def unfinished_attempts(events: list[EventRow]) -> list[str]:
    """Attempts with no outcome: each `delivery_claimed` (attempt n of delivery d) must be
    followed, before d's next claim, by an outcome event for attempt n or by lease_expired."""
    open_attempts: dict[int, int | None] = {}
    missing: list[str] = []
    for event in events:
        if event.delivery_id is None:
            continue
        claimed = open_attempts.get(event.delivery_id, -1)
        if event.kind == "delivery_claimed":
            if claimed != -1:
                missing.append(f"delivery {event.delivery_id} attempt {claimed}")
            open_attempts[event.delivery_id] = event.attempt
        elif event.kind == "lease_expired" or (event.kind in OUTCOMES and event.attempt == claimed):
            open_attempts.pop(event.delivery_id, None)
    missing += [f"delivery {d} attempt {n}" for d, n in open_attempts.items()]
    return missing


@pytest.fixture
def platforms() -> Iterator[dict[str, Platform]]:
    mastodon = FakeMastodon(token=SECRETS["CHAOS_MASTODON_TOKEN"], rate_limit=1_000_000)
    bluesky = _TallyBluesky(password=SECRETS["CHAOS_BSKY_PASSWORD"])
    x = _TallyX(
        consumer_key=X_CONSUMER_KEY,
        consumer_secret=SECRETS["CHAOS_X_CONSUMER_SECRET"],
        access_token=X_ACCESS_TOKEN,
        access_token_secret=SECRETS["CHAOS_X_TOKEN_SECRET"],
        post_limit=1_000_000,
        read_limit=1_000_000,
    )
    fakes: dict[str, Platform] = {"toots": mastodon, "sky": bluesky, "bird": x}
    try:
        for seed, fake in enumerate(fakes.values()):
            fake.start()
            fake.set_random_faults(FAULT_RATES, seed=seed, reset_in=(1.0, 3.0))
        yield fakes
    finally:
        for fake in fakes.values():
            fake.stop()


def write_config(
    tmp_path: Path,
    database_url: str,
    broker_url: str,
    feeds: FeedServer,
    fakes: dict[str, Platform],
) -> Path:
    path = tmp_path / "syndicate.toml"
    path.write_text(
        CONFIG.format(
            data_dir=tmp_path / "data",
            database_url=database_url,
            broker_url=broker_url,
            feed_url=feeds.url_for("/feed.atom"),
            mastodon_url=fakes["toots"].base_url,
            bluesky_url=fakes["sky"].base_url,
            x_url=fakes["bird"].base_url,
            x_consumer_key=X_CONSUMER_KEY,
            x_access_token=X_ACCESS_TOKEN,
            pacing=PACING,
        )
    )
    return path


def syndicate(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "syndicate"), *args], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@pytest.mark.timeout(DEADLINE + 120)  # start-up and the checks come on top of the deadline
def test_every_delivery_posts_exactly_once_through_kills_restarts_and_faults(
    tmp_path: Path,
    database_url: str,
    feeds: FeedServer,
    platforms: dict[str, Platform],
    capsys: pytest.CaptureFixture[str],
) -> None:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    config = write_config(tmp_path, database_url, redis_server.url, feeds, platforms)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env = {**inherited, **SECRETS, "SYNDICATE_CONFIG": str(config)}
    fleet = Fleet(tmp_path, env)
    store = Store(database_url)
    try:
        counts = run_chaos(env, fleet, redis_server, feeds, Ledger(store))
        check_outcome(Ledger(store), platforms, fleet, counts, capsys)
    finally:
        fleet.stop()
        redis_server.kill()
        store.dispose()


def run_chaos(
    env: dict[str, str], fleet: Fleet, redis_server: RedisServer, feeds: FeedServer, view: Ledger
) -> dict[str, Any]:
    """Baseline, then 300 new entries polled, then the chaos; returns once every delivery is
    posted and the Celery processes are stopped."""
    entries = [sample_entry(n) for n in range(1, ENTRIES + 3)]
    feeds.publish("/feed.atom", atom_feed(entries[:2]))
    assert "2 recorded as baseline" in syndicate(env, "-v", "poll")
    fleet.start_beat()
    for _ in range(2):
        fleet.start_worker()
    feeds.publish("/feed.atom", atom_feed(entries[::-1]))
    began = time.monotonic()
    polled = syndicate(env, "-v", "poll")  # before the chaos: a broker restart would fail it
    assert f"{ENTRIES} new, {ENTRIES * len(ACCOUNTS)} delivery(ies) queued" in polled
    chaos = Chaos(fleet, redis_server)
    thread = threading.Thread(target=chaos.run, name="chaos", daemon=True)
    thread.start()
    try:
        wait_for(lambda: view.all_posted() or not thread.is_alive(), view.describe, DEADLINE)
    finally:
        chaos.stop.set()
        thread.join(30)
    assert not chaos.problems, chaos.problems
    chaos_seconds = time.monotonic() - began
    posted_in_chaos = view.states()[DeliveryState.POSTED.value]
    wait_for(
        lambda: fleet.revive() or view.all_posted(),
        view.describe,
        max(1.0, DEADLINE - chaos_seconds),
    )
    assert fleet.beat is not None and fleet.beat.poll() is None, "celery beat died"
    fleet.stop()
    return {
        "kills": chaos.kills,
        "redis_restarts": chaos.redis_restarts,
        "exits": list(fleet.exits),
        "chaos": chaos_seconds,
        "posted_in_chaos": posted_in_chaos,
        "elapsed": time.monotonic() - began,
    }


def check_outcome(
    view: Ledger,
    platforms: dict[str, Platform],
    fleet: Fleet,
    counts: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    links = [sample_entry(n)["link"] for n in range(3, ENTRIES + 3)]
    events = view.events()
    kinds = Counter(e.kind for e in events)
    found = sum(
        e.kind == "delivery_posted" and "found on the platform" in e.message for e in events
    )
    with capsys.disabled():
        print(f"\nchaos: {ENTRIES * len(ACCOUNTS)} deliveries, {kinds['delivery_claimed']} "
              f"attempts, {counts['kills']} kills, {counts['redis_restarts']} Redis restarts, "
              f"{kinds['reconcile_not_found']} reconciled not found + {found} found, "
              f"{kinds['lease_expired']} leases expired; {counts['posted_in_chaos']} posted in "
              f"{counts['chaos']:.0f} s of chaos, all in {counts['elapsed']:.0f} s")  # fmt: skip
        for reason in counts["exits"]:
            print(f"  a worker exited by itself and was restarted: {reason[:160]}")
        for name, fake in platforms.items():
            print(f"  {name}: faults injected {dict(sorted(fake.faults_injected.items()))}")

    for name, fake in platforms.items():
        assert (name, fake.errors) == (name, [])
        assert (name, fake.violations) == (name, [])
        counted = {link: fake.posts_with_link(link) for link in links}
        assert (name, {link: n for link, n in counted.items() if n != 1}) == (name, {})
        assert (name, len(fake.posts)) == (name, ENTRIES)
    assert view.states() == {DeliveryState.POSTED.value: ENTRIES * len(ACCOUNTS)}
    assert view.without_remote_id() == 0
    assert unfinished_attempts(events) == []
    logs = fleet.logs()
    for secret in SECRETS.values():
        assert secret not in logs
