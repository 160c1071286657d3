"""The running parts of `bench.deliver`: the fake platform in a child process, our own
redis-server, a throwaway PostgreSQL schema, the config, the Celery worker processes, and their
CPU time and memory read from /proc."""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

import redis
import sqlalchemy as sa
from celery import Celery

from bench.corpus import ROOT
from syndicate.model import DeliveryState
from syndicate.store import ledger
from syndicate.store.schema import events
from tasks.app import QUEUE
from tests.fakes import _http
from tests.fakes.mastodon import FakeMastodon
from tests.pgschema import fresh_schema

LOOPBACK = "127.0.0.1"
FEED = "blog"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
STALL_SECONDS = 120.0  # nothing moved for this long: the run is stuck, stop it

# --- the fake platform, in a child process ------------------------------------------------


def _serve_fake(conn: Connection, token: str, latency: float) -> None:
    # The fakes leave Nagle's algorithm on: an answer's headers and body go out as two
    # segments and the second waits for the client's delayed ACK, 40 ms per answer. Issue 6
    # asks for a platform that answers at once (real servers set TCP_NODELAY), so turn it off
    # in this process only, through the stdlib's own StreamRequestHandler switch.
    _http.RequestHandler.disable_nagle_algorithm = True
    fake = FakeMastodon(token=token, rate_limit=10**9, post_latency=latency).start()
    conn.send(fake.base_url)
    while conn.recv() == "posts":
        conn.send([(s["token"], s["idempotency_key"], s["text"]) for s in fake.statuses])
    fake.stop()


@dataclass(frozen=True)
class FakePlatform:
    base_url: str
    pid: int
    conn: Connection
    token: str  # the one account's: every syndicate account and the plain loop share it

    def posts(self) -> list[tuple[str, str, str]]:
        """(bearer token, idempotency key, text) of every status it stored."""
        self.conn.send("posts")
        posts: list[tuple[str, str, str]] = self.conn.recv()
        return posts


@contextmanager
def fake_platform(latency: float = 0.0) -> Iterator[FakePlatform]:
    """A FakeMastodon with its own interpreter: its CPU is neither ours nor the workers'.
    Each status POST answers after `latency` seconds (0: at once)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    token = f"bench-{uuid.uuid4().hex}"
    process = context.Process(
        target=_serve_fake, args=(theirs, token, latency), name="fake-mastodon"
    )
    process.start()
    try:
        if not ours.poll(120):
            raise SystemExit("the fake Mastodon did not start")
        assert process.pid is not None  # started above
        yield FakePlatform(ours.recv(), process.pid, ours, token)
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()


# --- Redis, the database, the config ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def redis_server(directory: Path) -> Iterator[tuple[str, int]]:
    """Our own Redis, AOF on as production should run it: (URL, pid)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", LOOPBACK, "--port", str(port), "--dir", str(directory), "--save", "",
         "--appendonly", "yes", "--appendfsync", "everysec"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://{LOOPBACK}:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 30
        while not _answers(client):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.05)
        client.close()
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@contextmanager
def database(url: str) -> Iterator[str]:
    """The URL to use: "" (SQLite in the data directory) as it is; for a PostgreSQL `url`,
    a fresh schema there, dropped afterwards so runs never meet each other's rows."""
    if not url.startswith("postgresql"):
        yield url
        return
    with fresh_schema(url, prefix="bench") as scoped:
        yield scoped


def account_names(accounts: int) -> list[str]:
    return [f"toots-{i}" for i in range(accounts)]


def write_config(
    directory: Path, database_url: str, broker_url: str, mastodon: str, accounts: int
) -> Path:
    """One feed routed to `accounts` Mastodon accounts on the one fake instance."""
    names = account_names(accounts)
    lines = [
        f'[syndicate]\ndata_dir = "{directory / "data"}"\ndatabase_url = "{database_url}"\n'
        f'broker_url = "{broker_url}"\n',
        f'[[feeds]]\nname = "{FEED}"\nurl = "http://blog.example/feed.xml"\n'
        f"accounts = [{', '.join(map(repr, names))}]\n",
    ]
    lines += [
        f'[accounts.{name}]\nplatform = "mastodon"\nbase_url = "{mastodon}"\n'
        'access_token = "${BENCH_MASTODON_TOKEN}"\n'
        for name in names
    ]
    path = directory / "syndicate.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def environment(config: Path, token: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    return {**inherited, "BENCH_MASTODON_TOKEN": token, "SYNDICATE_CONFIG": str(config)}


# --- processes: CPU and memory from /proc -------------------------------------------------


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # the fields from `state` on: comm may hold spaces


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):  # it exited while we looked
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """User + system time of `pid` and of its children, live (read now) and reaped."""
    own = sum(int(v) for v in _stat(pid)[11:15])  # utime, stime, cutime, cstime
    live = sum(int(v) for child in children(pid) for v in _stat(child)[11:13])
    return (own + live) / CLOCK_TICK


def _kib_field(path: str, name: str) -> float:
    for line in Path(path).read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {name} in {path}")


def peak_rss_mb(pid: int) -> float:
    return _kib_field(f"/proc/{pid}/status", "VmHWM")


def pss_mb(pid: int) -> float:
    """Proportional set size now: pages shared with the forking parent count half each."""
    return _kib_field(f"/proc/{pid}/smaps_rollup", "Pss")


# --- the Celery workers -------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    profile: Path | None

    @property
    def pids(self) -> list[int]:
        """The main process, then its pool children."""
        return [self.process.pid, *children(self.process.pid)]

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])


def profiled_worker(output: str, argv: Sequence[str]) -> None:
    """A Celery worker under cProfile counting CPU time, not wall time: waiting on the fake,
    the ledger's lock or Redis would otherwise show as time spent in whatever waited."""
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *argv]
    profile = cProfile.Profile(time.process_time)
    try:
        profile.runcall(celery_main)
    except SystemExit:
        pass  # the warm shutdown a SIGTERM asks for
    finally:
        profile.dump_stats(output)


def _command(args: argparse.Namespace, name: str, profile: Path | None) -> list[str]:
    celery_args = [
        "-A", "tasks.app", "worker", "--loglevel=WARNING", "--without-mingle",
        "--without-gossip", "--without-heartbeat", "-n", name,
    ]  # fmt: skip
    if profile is None:
        return [sys.executable, "-m", "celery", *celery_args, f"--concurrency={args.concurrency}"]
    # One process, so that one profile holds every task the worker ran.
    run = "import sys; from bench.deliver_stack import profiled_worker as p; p(sys.argv[1], sys.argv[2:])"  # noqa: E501
    return [sys.executable, "-c", run, str(profile), *celery_args, "--pool=solo"]


def start_workers(
    args: argparse.Namespace, env: dict[str, str], directory: Path, broker_url: str
) -> list[Worker]:
    workers = []
    for number in range(args.workers):
        name = f"bench{number}@{socket.gethostname()}"
        profile = directory / f"worker-{number}.prof" if args.profile else None
        log = directory / f"worker-{number}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                _command(args, name, profile), cwd=ROOT, env=env, stdout=out, stderr=out
            )
        workers.append(Worker(name, process, log, profile))
    _wait_ready(workers, broker_url)
    return workers


def _wait_ready(workers: Sequence[Worker], broker_url: str) -> None:
    """Every worker answers a ping: it consumes from the queue."""
    control = Celery(broker=broker_url, set_as_current=False)
    waiting = {w.name for w in workers}
    deadline = time.monotonic() + 180
    while waiting:
        for reply in control.control.ping(destination=sorted(waiting), timeout=1.0):
            waiting -= set(reply)
        for worker in workers:
            if worker.process.poll() is not None:
                raise SystemExit(f"worker {worker.name} exited:\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"workers {sorted(waiting)} did not start")
    control.close()


def stop_workers(workers: Sequence[Worker]) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.terminate()  # warm shutdown: a running task finishes
    for worker in workers:
        worker.process.wait(60)


# --- watching the run ---------------------------------------------------------------------


class Progress:
    """Reads the ledger with a plain engine: the store's SQLite transactions take the write
    lock up front, and this watcher must not queue the workers behind it."""

    def __init__(self, database_url: str, broker_url: str, since: datetime) -> None:
        self.engine = sa.create_engine(database_url)
        self.broker = redis.Redis.from_url(broker_url)
        self.since = since

    def posted(self) -> int:
        with self.engine.connect() as conn:
            return ledger.states_since(conn, self.since).get(DeliveryState.POSTED, 0)

    def backlog(self) -> int:
        """Messages queued or handed to a worker but not yet acknowledged (acks_late: a task
        that rings for the next delivery does so before its own ack)."""
        return int(self.broker.llen(QUEUE)) + int(self.broker.hlen("unacked"))

    def event_counts(self) -> dict[str, int]:
        query = sa.select(events.c.kind, sa.func.count()).group_by(events.c.kind)
        with self.engine.connect() as conn:
            return {str(kind): int(n) for kind, n in conn.execute(query)}

    def close(self) -> None:
        self.engine.dispose()
        self.broker.close()


def wait_for(
    workers: Sequence[Worker], measure: Callable[[], int], done: Callable[[int], bool], what: str
) -> None:
    """Until `done(measure())`; stops the run if a worker dies or `measure` stalls."""
    last, changed = measure(), time.monotonic()
    while not done(last):
        for worker in workers:
            if worker.process.poll() is not None:
                raise SystemExit(f"worker {worker.name} exited:\n{worker.tail()}")
        if time.monotonic() - changed > STALL_SECONDS:
            raise SystemExit(f"stuck at {last} for {STALL_SECONDS:.0f} s waiting for {what}")
        time.sleep(0.2)
        now = measure()
        if now != last:
            last, changed = now, time.monotonic()
