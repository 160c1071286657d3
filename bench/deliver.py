"""Benchmark: deliveries through Redis and Celery workers, beside a plain loop of the same posts.

    python -m bench.deliver [--deliveries 10000] [--accounts 8] [--workers 2] [--concurrency 1]
                            [--database-url URL] [--ring poll|all] [--latency MS] [--profile]

A fake Mastodon (tests/fakes/mastodon.py, no faults, its rate limit out of reach) answers from a
child process, so its CPU is neither ours nor the workers': at once, or after `--latency` ms per
post, as a real instance does (then the run measures what one post in flight per account and
the workers' concurrency make of waiting, not of CPU). The ledger (SQLite in a
temporary directory, or a fresh schema on the PostgreSQL server of `--database-url`) is seeded
with `--deliveries` pending deliveries: each entry routed to every one of `--accounts` accounts
on that one instance (one post in flight per account is a product rule), its summary stored as
the first send would store it. Then, in one run:

1. **plain loop:** one `requests.Session` in this process POSTs the same texts to the same
   endpoint with the same headers (Bearer token, Idempotency-Key, JSON), one after another;
2. **workers:** our own `redis-server` and `--workers` x `celery -A tasks.app worker
   --concurrency C` (prefork) processes; the deliveries are rung as a poll rings them, each
   account's oldest (a send goes on to the account's next; `--ring all`: every delivery, as
   before each account's chain did the rest). Timed to all
   posted (read from the ledger) and to an empty queue; the CPU time of every worker process
   (main and pool children, from /proc) over the same spans; peak RSS (VmHWM) and PSS.

Targets (issue 6): worker CPU per delivery less the plain loop's CPU per post (the HTTP
client's share) under 5 ms; throughput at least the plain loop's; RSS under 150 MB per worker.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from celery import Celery

from bench.deliver_stack import (
    FEED,
    FakePlatform,
    Progress,
    Worker,
    account_names,
    cpu_seconds,
    database,
    environment,
    fake_platform,
    peak_rss_mb,
    pss_mb,
    redis_server,
    start_workers,
    stop_workers,
    wait_for,
    write_config,
)
from bench.poll import check_loopback_only, verdict
from syndicate import service
from syndicate import settings as settings_mod
from syndicate.model import ComposeOptions, FeedEntry, Trigger
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES
from syndicate.service.polling import delivery_key
from syndicate.service.summarising import summary_to_json
from syndicate.store import catalog, ledger
from syndicate.summarise.extractive import summarise
from tasks.app import QUEUE

TARGET_OVERHEAD_MS = 5.0
TARGET_RSS_MB = 150.0
LIMIT = 500  # the fake instance's max_characters, which the publisher reads from it
PLAIN_KEY = "plain-"  # the plain loop's Idempotency-Key prefix; deliveries use syndicate-…


# --- the ledger -------------------------------------------------------------------------


def entry(number: int) -> FeedEntry:
    words = " ".join(f"word{(number * 13 + k) % 89}" for k in range(40))
    body = "".join(
        f"<p>Paragraph {p} of post {number}: {words}. It ends here.</p>" for p in range(3)
    )
    published = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=number)
    return FeedEntry(
        identity=f"post-{number}",
        link=f"https://blog.example/{number}/",
        title=f"Post number {number}",
        content_html=body,
        published=published,
        categories=("notes", "bench"),
    )


def seed(ctx: service.Context, deliveries: int, accounts: int) -> tuple[list[int], list[str]]:
    """Pending deliveries, entry by entry over every account: (ids in order, each one's text)."""
    names = account_names(accounts)
    now = ctx.clock()
    ids: list[int] = []
    texts: list[str] = []
    with ctx.store.begin() as conn:
        for number in range(math.ceil(deliveries / accounts)):
            item = entry(number)
            summary = summarise(item)
            entry_id = catalog.insert_entry(
                conn, ctx.feed_ids[FEED], item, f"hash-{number}", now, baseline=False
            )
            catalog.store_summary(conn, entry_id, summary_to_json(summary))
            text = render(summary, ComposeOptions(), RULES["mastodon"], limit=LIMIT).text
            for name in names[: deliveries - len(ids)]:
                key = delivery_key(FEED, item.identity, name)
                account_id = ctx.account_ids[name]
                delivery_id = ledger.create_delivery(conn, entry_id, account_id, key, now)
                ledger.append_event(
                    conn, at=now, kind="delivery_created", trigger=Trigger.SCHEDULE,
                    message=f"queued for {name}", entry_id=entry_id, delivery_id=delivery_id,
                    account_id=account_id,
                )  # fmt: skip
                ids.append(delivery_id)
                texts.append(text)
    return ids, texts


# --- (1) the plain loop -------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    posts: int
    seconds: float
    cpu_seconds: float  # the client's process
    fake_cpu_seconds: float  # the fake platform's, over the same span

    @property
    def rate(self) -> float:
        return self.posts / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.posts


def plain_loop(fake: FakePlatform, texts: Sequence[str]) -> Timing:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {fake.token}"
    url = f"{fake.base_url}/api/v1/statuses"
    fake_cpu = cpu_seconds(fake.pid)
    wall, cpu = time.perf_counter(), time.process_time()
    for number, text in enumerate(texts):
        response = session.post(
            url,
            json={"status": text, "visibility": "public"},
            headers={"Idempotency-Key": f"{PLAIN_KEY}{number}"},
            timeout=(5, 30),
        )
        response.raise_for_status()
    seconds, cpu = time.perf_counter() - wall, time.process_time() - cpu
    session.close()
    return Timing(len(texts), seconds, cpu, cpu_seconds(fake.pid) - fake_cpu)


# --- (2) the workers ----------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerFigures:
    cpu_posted: float  # seconds of CPU, main and pool children, from ringing to all posted
    cpu_drained: float  # ... to the queue empty (doorbells left over are no-ops, not free)
    rss_mb: tuple[float, ...]  # VmHWM of the main process, then of each pool child
    pss_mb: float  # at the end, all of them: a forked child's shared pages count half

    @property
    def rss_total_mb(self) -> float:
        return sum(self.rss_mb)


@dataclass(frozen=True)
class DeliveryRun:
    deliveries: int
    posted_seconds: float
    drained_seconds: float
    workers: tuple[WorkerFigures, ...]
    ring_cpu_seconds: float  # this process, sending the doorbells
    redis_cpu_seconds: float
    fake_cpu_seconds: float
    events: dict[str, int]

    @property
    def rate(self) -> float:
        return self.deliveries / self.posted_seconds

    def cpu_ms(self, *, drained: bool = True) -> float:
        total = sum(w.cpu_drained if drained else w.cpu_posted for w in self.workers)
        return 1000 * total / self.deliveries


def ring(ctx: service.Context, broker_url: str, delivery_ids: Sequence[int], how: str) -> None:
    """As `tasks.dispatch.deliveries` rings after a poll (`how` = "poll": each account's
    oldest), or every delivery ("all"); a Celery app of our own, so the process-wide
    `tasks.app` (and whatever config it already read) stays untouched."""
    sender = Celery(broker=broker_url, set_as_current=False)
    rung = service.doorbells_for(ctx, tuple(delivery_ids)) if how == "poll" else delivery_ids
    for delivery_id in rung:
        sender.send_task(
            "syndicate.deliver", args=[delivery_id, Trigger.SCHEDULE.value], queue=QUEUE
        )
    sender.close()
    service.mark_enqueued(ctx, tuple(delivery_ids))


def deliver_all(
    ctx: service.Context, workers: Sequence[Worker], rung: Sequence[int], expected: int,
    pids: tuple[int, int], how: str,
) -> DeliveryRun:  # fmt: skip
    redis_pid, fake_pid = pids
    progress = Progress(ctx.settings.database_url, ctx.settings.broker_url, ctx.clock())
    before = [cpu_seconds(w.process.pid) for w in workers]
    others = cpu_seconds(redis_pid), cpu_seconds(fake_pid)
    wall, own = time.perf_counter(), time.process_time()
    ring(ctx, ctx.settings.broker_url, rung, how)
    ring_cpu = time.process_time() - own
    wait_for(workers, progress.posted, lambda n: n >= expected, "all deliveries to be posted")
    posted_seconds = time.perf_counter() - wall
    at_posted = [cpu_seconds(w.process.pid) for w in workers]
    wait_for(workers, progress.backlog, lambda n: n == 0, "the queue to empty")
    drained_seconds = time.perf_counter() - wall
    figures = tuple(
        WorkerFigures(
            at_posted[i] - before[i],
            cpu_seconds(w.process.pid) - before[i],
            tuple(peak_rss_mb(pid) for pid in w.pids),
            sum(pss_mb(pid) for pid in w.pids),
        )
        for i, w in enumerate(workers)
    )
    run = DeliveryRun(
        expected, posted_seconds, drained_seconds, figures, ring_cpu,
        cpu_seconds(redis_pid) - others[0], cpu_seconds(fake_pid) - others[1],
        progress.event_counts(),
    )  # fmt: skip
    progress.close()
    return run


# --- checks and the report ----------------------------------------------------------------


def check_posts(posts: Sequence[tuple[str, str, str]], texts: Sequence[str]) -> None:
    """Every delivery posted exactly once with its text, and the plain loop posted the same
    texts: else the run measured something other than what it says."""
    plain = Counter(text for _, key, text in posts if key.startswith(PLAIN_KEY))
    ours = [(key, text) for _, key, text in posts if not key.startswith(PLAIN_KEY)]
    doubled = [key for key, n in Counter(key for key, _ in ours).items() if n > 1]
    if doubled:
        raise SystemExit(f"{len(doubled)} deliveries were posted more than once")
    if len(ours) != len(texts):
        raise SystemExit(f"{len(ours)} deliveries posted, {len(texts)} expected")
    if Counter(text for _, text in ours) != Counter(texts) or plain != Counter(texts):
        raise SystemExit("the workers and the plain loop did not post the same texts")


@dataclass(frozen=True)
class Result:
    plain: Timing
    delivered: DeliveryRun

    @property
    def overhead_ms(self) -> float:
        """Worker CPU per delivery, queue emptied, less the HTTP client's own share."""
        return self.delivered.cpu_ms() - self.plain.cpu_ms

    @property
    def speedup(self) -> float:
        return self.delivered.rate / self.plain.rate


def report(result: Result, args: argparse.Namespace) -> None:
    plain, run = result.plain, result.delivered
    n = run.deliveries
    print()
    print(
        f"plain loop, 1 process:   {plain.rate:7.1f} posts/s       {plain.cpu_ms:6.2f} CPU ms/post"
        f"  (fake platform {1000 * plain.fake_cpu_seconds / n:.2f} ms/post)"
    )
    print(
        f"workers, {args.workers} x c{args.concurrency}:       {run.rate:7.1f} deliveries/s  "
        f"{run.cpu_ms(drained=False):6.2f} CPU ms/delivery to all posted in "
        f"{run.posted_seconds:.1f} s, {run.cpu_ms():.2f} to an empty queue in "
        f"{run.drained_seconds:.1f} s  (fake platform {1000 * run.fake_cpu_seconds / n:.2f})"
    )
    print(
        f"overhead: {result.overhead_ms:.2f} CPU ms/delivery for ledger + events + Celery "
        f"(target < {TARGET_OVERHEAD_MS:.0f} ms: "
        f"{verdict(result.overhead_ms < TARGET_OVERHEAD_MS)})"
    )
    print(f"throughput: {result.speedup:.2f}x the plain loop's (target >= 1x: "
          f"{verdict(result.speedup >= 1)})")  # fmt: skip
    for worker in run.workers:
        parts = " + ".join(f"{mb:.1f}" for mb in worker.rss_mb)
        # Summed RSS counts every page the pool child shares with its parent since the fork
        # twice; PSS splits shared pages between the processes that map them. Both are shown.
        print(
            f"peak RSS of a worker: {parts} = {worker.rss_total_mb:.1f} MB, main + pool, summed "
            f"(target < {TARGET_RSS_MB:.0f} MB: {verdict(worker.rss_total_mb < TARGET_RSS_MB)}); "
            f"PSS at the end {worker.pss_mb:.1f} MB, shared pages counted once "
            f"({verdict(worker.pss_mb < TARGET_RSS_MB)})"
        )
    print(
        f"outside the workers: ringing {1000 * run.ring_cpu_seconds / n:.2f} CPU ms/delivery "
        f"(this process), redis-server {1000 * run.redis_cpu_seconds / n:.2f}"
    )
    print("events: " + ", ".join(f"{k} {v}" for k, v in sorted(run.events.items())))


def print_profile(workers: Sequence[Worker], limit: int = 30) -> None:
    stats = pstats.Stats(*[str(w.profile) for w in workers if w.profile and w.profile.exists()])
    saved = Path(tempfile.gettempdir()) / "bench-deliver.prof"
    stats.dump_stats(saved)
    print(f"\n--- profile: the workers, solo pool, CPU time (all of it in {saved}) ---")
    stats.sort_stats("tottime").print_stats(limit)
    print("--- profile: our code, cumulative ---")
    stats.sort_stats("cumulative").print_stats(r"/(syndicate|tasks)/", limit)


# --- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> Result:
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-deliver-")))
        fake = stack.enter_context(fake_platform(args.latency / 1000))
        check_loopback_only(fake.base_url)  # before the workers inherit the environment
        broker_url, redis_pid = stack.enter_context(redis_server(directory))
        database_url = stack.enter_context(database(args.database_url))
        config = write_config(directory, database_url, broker_url, fake.base_url, args.accounts)
        env = environment(config, fake.token)
        ctx = service.open_context(settings_mod.load(config, env))
        stack.callback(ctx.store.dispose)
        seeding = time.perf_counter()
        ids, texts = seed(ctx, args.deliveries, args.accounts)
        print(f"seeded {len(ids)} deliveries in {time.perf_counter() - seeding:.1f} s")
        plain = plain_loop(fake, texts)
        print(f"plain loop: {len(texts)} posts")
        workers = start_workers(args, env, directory, broker_url)
        try:
            delivered = deliver_all(ctx, workers, ids, len(ids), (redis_pid, fake.pid), args.ring)
        finally:
            stop_workers(workers)
        check_posts(fake.posts(), texts)
        if args.profile:
            print_profile(workers)
        return Result(plain, delivered)
    raise AssertionError("unreachable: ExitStack does not swallow exceptions here")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.deliver", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=8, help="Mastodon accounts, one fake")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="prefork children each")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--ring", choices=("poll", "all"), default="poll",
        help="ring as a poll does (each account's oldest) or every delivery",
    )  # fmt: skip
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="MS",
        help="the fake platform answers each post after MS milliseconds (default: at once)",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="cProfile the workers (solo pool)")
    args = parser.parse_args(argv)
    if min(args.deliveries, args.accounts, args.workers, args.concurrency) < 1:
        parser.error("--deliveries, --accounts, --workers and --concurrency must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    where = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"{args.deliveries} deliveries over {args.accounts} accounts, {where}, "
        f"{args.workers} workers x concurrency {args.concurrency}, ring {args.ring}, "
        f"platform latency {args.latency:g} ms"
    )
    if args.profile:
        print("profiling: solo pool, and every timing below is inflated by the profiler")
    report(run(args), args)


if __name__ == "__main__":
    main()
