"""Benchmark: the feed watcher polling 2,000 feeds, beside a naive fetch-and-parse loop.

    python -m bench.poll [--feeds 2000] [--threads 8] [--rounds 3] [--profile] [--polls-only]

A feed site on 127.0.0.1 (a child process, so its CPU is not counted here) serves the feeds;
after a first poll, 9 in 10 answer a conditional GET with 304 and 1 in 10 has one new entry.
In this process: (1) the naive baseline, a sequential loop of `requests.get` +
`feedparser.parse` over every feed; (2) the watcher, one round of `service.poll_feed` over
every feed from a thread pool as the Celery worker threads run it (SQLite ledger, one log
account, so each new entry queues a delivery); (3) `parse_feed` against bare
`feedparser.parse` on the same bytes, over the real-feed corpus; (4) peak RSS.
Targets (issue 3): the watcher polls at least 3x faster than the naive loop, parsing adds
under 20% to bare feedparser, peak RSS stays under 200 MB.
"""

from __future__ import annotations

import argparse
import cProfile
import html
import io
import multiprocessing
import os
import platform
import pstats
import resource
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from hashlib import sha1
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import feedparser
import requests

from bench.corpus import feed_files
from syndicate import service
from syndicate import settings as settings_mod
from syndicate.feeds.parse import parse_feed
from syndicate.model import Trigger

TARGET_SPEEDUP = 3.0
TARGET_PARSE_OVERHEAD = 0.20
TARGET_RSS_MB = 200.0

CHANGED_EVERY = 10  # feed i has one new entry after the first poll when i % 10 == 0
FIRST_POST = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)  # in the past: nothing is deferred
LOOPBACK = "127.0.0.1"

T = TypeVar("T")


# --- the feeds served ---------------------------------------------------------------------


def feed_document(index: int, entries: int, fresh: bool) -> bytes:
    """RSS 2.0 with `entries` posts, newest first. `fresh`: one newer post, the oldest gone."""
    newest = entries + 1 if fresh else entries
    items = "".join(_item(index, n) for n in range(newest, newest - entries, -1))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Blog {index}</title><link>http://blog-{index}.example/</link>"
        f"<description>Notes from blog {index}</description>{items}</channel></rss>\n"
    ).encode()


def _item(index: int, number: int) -> str:
    link = f"http://blog-{index}.example/{number}/"
    words = " ".join(f"word{(index * 7 + number * 13 + k) % 97}" for k in range(90))
    body = (
        f'<p>Post {number} of blog {index}: {words}.</p><p>See <a href="/about/">about</a>'
        f' and <img src="/img/{number}.png" alt="picture {number}"/>.</p>'
    )
    published = format_datetime(FIRST_POST + timedelta(days=number), usegmt=True)
    return (
        f"<item><title>Post {number} of blog {index}</title><link>{link}</link>"
        f'<guid isPermaLink="false">blog-{index}-post-{number}</guid>'
        f"<pubDate>{published}</pubDate><category>notes</category>"
        f"<description>{html.escape(body)}</description></item>"
    )


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, feeds: int, entries: int, generation: Any) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.generation = generation  # a shared int: 0 before the changes, 1 after
        self.documents = [[_document(feed_document(i, entries, fresh=False))] for i in range(feeds)]
        for i in range(0, feeds, CHANGED_EVERY):
            self.documents[i].append(_document(feed_document(i, entries, fresh=True)))

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's would look up 127.0.0.1's name

    def document(self, path: str) -> tuple[bytes, str] | None:
        name = path.removeprefix("/feeds/").removesuffix(".xml")
        if not name.isdigit() or int(name) >= len(self.documents):
            return None
        versions = self.documents[int(name)]
        return versions[min(int(self.generation.value), len(versions) - 1)]


def _document(body: bytes) -> tuple[bytes, str]:
    return body, f'"{sha1(body, usedforsecurity=False).hexdigest()[:16]}"'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed hosts
    # Headers and body go out in two writes; with Nagle's algorithm on, the body of every 200
    # on a kept-alive connection then waits for the client's delayed ACK (40 ms here). Real
    # feed hosts set TCP_NODELAY (nginx's default), so this site does too.
    disable_nagle_algorithm = True
    server: _SiteServer

    def do_GET(self) -> None:
        found = self.server.document(self.path)
        if found is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, etag = found
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(feeds: int, entries: int, generation: Any, ready: Connection) -> None:
    server = _SiteServer(feeds, entries, generation)
    ready.send(server.server_address[1])
    server.serve_forever()


@dataclass(frozen=True)
class FeedSite:
    base_url: str
    feeds: int
    generation: Any

    def urls(self) -> list[str]:
        return [f"{self.base_url}/feeds/{i}.xml" for i in range(self.feeds)]

    def publish_changes(self) -> None:
        """From now on, every tenth feed shows one new post."""
        self.generation.value = 1


@contextmanager
def feed_site(feeds: int, entries: int) -> Iterator[FeedSite]:
    """The site in a child process: its own GIL and CPU, so it is not the bottleneck."""
    context = multiprocessing.get_context("spawn")
    generation = context.Value("i", 0)
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_serve, args=(feeds, entries, generation, send), name="feed-site", daemon=True
    )
    process.start()
    try:
        deadline = time.monotonic() + 60
        while not receive.poll(0.1):
            if not process.is_alive() or time.monotonic() > deadline:
                raise SystemExit("the feed site did not start")
        yield FeedSite(f"http://{LOOPBACK}:{receive.recv()}", feeds, generation)
    finally:
        process.terminate()
        process.join(10)


# --- measuring ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    polls: int
    seconds: float
    cpu_seconds: float  # this process, every thread

    @property
    def rate(self) -> float:
        return self.polls / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.polls


def timed(polls: int, run: Callable[[], T]) -> tuple[T, Timing]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, Timing(polls, time.perf_counter() - wall, time.process_time() - cpu)


class ThreadProfiles:
    """One cProfile per pool thread (a profiler only sees its own thread), merged at the end.
    It counts each thread's CPU time, not wall time: threads waiting for the GIL or for
    SQLite's write lock would otherwise show that wait as time spent in whatever they called."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        profile = getattr(self.local, "profile", None)
        if profile is None:
            profile = self.local.profile = cProfile.Profile(time.thread_time)
            with self.lock:
                self.profiles.append(profile)
        return profile.runcall(fn, *args)

    def print(self, title: str, limit: int = 25) -> None:
        stats = pstats.Stats(*self.profiles)
        print(f"\n--- profile: {title} (tottime) ---")
        stats.sort_stats("tottime").print_stats(limit)
        print(f"--- profile: {title} (cumulative) ---")
        stats.sort_stats("cumulative").print_stats(limit)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- (1) the naive loop -------------------------------------------------------------------


def naive_round(urls: Sequence[str]) -> int:
    """Entries parsed: every feed fetched whole (no conditional GET) and parsed."""
    entries = 0
    for url in urls:
        response = requests.get(url, timeout=15)
        response.raise_for_status()
        entries += len(feedparser.parse(io.BytesIO(response.content)).entries)
    return entries


# --- (2) the watcher ----------------------------------------------------------------------


def watcher_config(directory: Path, urls: Sequence[str]) -> Path:
    lines = [f'[syndicate]\ndata_dir = "{directory}"\n', '[accounts.dry-run]\nplatform = "log"\n']
    lines += [
        f'[[feeds]]\nname = "feed-{i:04d}"\nurl = "{url}"\naccounts = ["dry-run"]\n'
        for i, url in enumerate(urls)
    ]
    path = directory / "syndicate.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def poll_round(
    ctx: service.Context, threads: int, profiles: ThreadProfiles | None = None
) -> list[service.PollOutcome]:
    """Every feed once, `threads` at a time, each poll as a worker thread runs it."""

    def poll(feed_id: int) -> service.PollOutcome:
        if profiles is not None:
            return profiles.call(service.poll_feed, ctx, feed_id, Trigger.SCHEDULE)
        return service.poll_feed(ctx, feed_id, Trigger.SCHEDULE)

    with ThreadPoolExecutor(threads, thread_name_prefix="poller") as pool:
        return list(pool.map(poll, sorted(ctx.feed_ids.values())))


def describe(outcomes: Sequence[service.PollOutcome], expect_new: int) -> str:
    """What the round did; stops the run if it is not what the feed site served."""
    failed = [o for o in outcomes if o.error or o.quarantined or o.skipped]
    if failed:
        raise SystemExit(f"{len(failed)} polls failed or were skipped, e.g. {failed[0]}")
    unchanged = sum(o.not_modified for o in outcomes)
    new = sum(o.new_entries for o in outcomes)
    baseline = sum(o.baseline_entries for o in outcomes)
    deliveries = sum(len(o.delivery_ids) for o in outcomes)
    if new != expect_new or deliveries != expect_new:
        raise SystemExit(f"expected {expect_new} new entries and deliveries: {new}, {deliveries}")
    return (
        f"{unchanged} not modified, {new} new entries, {deliveries} deliveries queued, "
        f"{baseline} baseline entries, 0 errors"
    )


# --- (3) the parse path -------------------------------------------------------------------


def best_of(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def bare_parse(body: bytes) -> object:
    return feedparser.parse(io.BytesIO(body))


def parse_path(rounds: int) -> tuple[int, float, float]:
    """(feeds, bare feedparser seconds, parse_feed seconds): per feed, the best of `rounds`
    runs of each on the same bytes, the two interleaved so that drift hits both alike."""
    bare = ours = 0.0
    feeds = 0
    for path, url in feed_files():
        body = path.read_bytes()
        bare += best_of(rounds, partial(bare_parse, body))
        ours += best_of(rounds, partial(parse_feed, body, url))
        feeds += 1
    return feeds, bare, ours


def profile_parse_path() -> None:
    profiles = ThreadProfiles()
    for path, url in feed_files():
        profiles.call(parse_feed, path.read_bytes(), url)
    profiles.print("parse_feed over the corpus")


# --- the run ------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def check_loopback_only(url: str) -> None:
    """Never reach past 127.0.0.1: a proxy from the environment would carry requests away."""
    if requests.utils.get_environ_proxies(url):
        os.environ["no_proxy"] = ",".join(filter(None, [os.environ.get("no_proxy"), LOOPBACK]))
    if requests.utils.get_environ_proxies(url):
        raise SystemExit(f"a proxy applies to {url}; unset HTTP_PROXY/ALL_PROXY to run this")


def run_polls(site: FeedSite, args: argparse.Namespace) -> tuple[Timing, Timing]:
    urls = site.urls()
    check_loopback_only(urls[0])
    changed = len(range(0, len(urls), CHANGED_EVERY))
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        settings = settings_mod.load(watcher_config(Path(tmp), urls), environ={})
        ctx = service.open_context(settings)
        outcomes, first = timed(len(urls), lambda: poll_round(ctx, args.threads))
        print(f"first poll (not timed against a target): {first.rate:.1f} polls/s")
        print(f"  {describe(outcomes, expect_new=0)}")
        site.publish_changes()

        entries, naive = timed(len(urls), lambda: naive_round(urls))
        if entries != len(urls) * args.entries:
            raise SystemExit(f"the naive loop parsed {entries} entries")
        print(f"naive loop: {entries} entries fetched and parsed")

        profiles = ThreadProfiles() if args.profile else None
        outcomes, watcher = timed(len(urls), lambda: poll_round(ctx, args.threads, profiles))
        print(f"watcher round, {args.threads} threads: {describe(outcomes, expect_new=changed)}")
        ctx.store.dispose()
    if profiles is not None:
        profiles.print("watcher round")
    return naive, watcher


def report_polls(naive: Timing, watcher: Timing) -> None:
    speedup = watcher.rate / naive.rate
    print()
    print(f"naive loop:    {naive.rate:8.1f} polls/s  {naive.cpu_ms:7.2f} CPU ms/poll")
    print(f"watcher:       {watcher.rate:8.1f} polls/s  {watcher.cpu_ms:7.2f} CPU ms/poll")
    print(
        f"watcher vs naive: {speedup:.2f}x polls/s, {naive.cpu_ms / watcher.cpu_ms:.2f}x less "
        f"CPU per poll (target >= {TARGET_SPEEDUP:.0f}x: {verdict(speedup >= TARGET_SPEEDUP)})"
    )


def report(naive: Timing, watcher: Timing, parsed: tuple[int, float, float]) -> None:
    feeds, bare, ours = parsed
    overhead = ours / bare - 1
    rss = rss_mb()
    report_polls(naive, watcher)
    print(
        f"parse path, {feeds} corpus feeds: feedparser {bare:.2f} s, parse_feed {ours:.2f} s, "
        f"overhead {overhead:+.1%} "
        f"(target < {TARGET_PARSE_OVERHEAD:.0%}: {verdict(overhead < TARGET_PARSE_OVERHEAD)})"
    )
    print(
        f"peak RSS: {rss:.1f} MB (target < {TARGET_RSS_MB:.0f} MB: {verdict(rss < TARGET_RSS_MB)})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.poll", description="Feed polling benchmark"
    )
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=10, help="posts per feed")
    parser.add_argument("--threads", type=int, default=8, help="poller threads (worker pool)")
    parser.add_argument("--rounds", type=int, default=3, help="best of N per corpus feed")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed parts")
    parser.add_argument("--polls-only", action="store_true", help="skip the parse path")
    args = parser.parse_args(argv)
    size = len(feed_document(0, args.entries, fresh=False)) / 1024
    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; {args.feeds} feeds of {args.entries} posts ({size:.1f} KiB), "
        f"1 in {CHANGED_EVERY} with a new post after the first poll"
    )
    if args.profile:
        print("profiling: every timing below is inflated by the profiler")
    with feed_site(args.feeds, args.entries) as site:
        naive, watcher = run_polls(site, args)
    print(f"peak RSS after polling: {rss_mb():.1f} MB")
    if args.polls_only:
        report_polls(naive, watcher)
        return
    parsed = parse_path(args.rounds)
    if args.profile:
        profile_parse_path()
    report(naive, watcher, parsed)


if __name__ == "__main__":
    main()
