"""The delivery benchmark: its consistency checks, its /proc readings, and a run at a tiny size
on real parts (its own redis-server, two `celery worker` processes, SQLite, a fake Mastodon).
No figure is held against a time: only that the run did what it says and measured something."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bench.deliver import PLAIN_KEY, check_posts, parse_args, report, run
from bench.deliver_stack import children, cpu_seconds, peak_rss_mb, pss_mb

TEXTS = ["first post https://blog.example/1/", "second post https://blog.example/2/"]


def posts(keys_and_texts: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    plain = [("token", f"{PLAIN_KEY}{i}", text) for i, text in enumerate(TEXTS)]
    return plain + [("token", key, text) for key, text in keys_and_texts]


def test_a_run_where_every_delivery_posted_once_with_the_plain_loops_texts_passes() -> None:
    check_posts(posts([("syndicate-a", TEXTS[1]), ("syndicate-b", TEXTS[0])]), TEXTS)


def test_a_delivery_posted_twice_stops_the_run() -> None:
    doubled = posts([("syndicate-a", TEXTS[0]), ("syndicate-a", TEXTS[0])])
    with pytest.raises(SystemExit, match="more than once"):
        check_posts(doubled, TEXTS)


def test_a_missing_post_stops_the_run() -> None:
    with pytest.raises(SystemExit, match="1 deliveries posted, 2 expected"):
        check_posts(posts([("syndicate-a", TEXTS[0])]), TEXTS)


def test_workers_posting_other_texts_than_the_plain_loop_stop_the_run() -> None:
    other = posts([("syndicate-a", TEXTS[0]), ("syndicate-b", "something else")])
    with pytest.raises(SystemExit, match="same texts"):
        check_posts(other, TEXTS)


def test_proc_readings_see_a_child_and_count_its_cpu_once_it_is_reaped() -> None:
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    before = cpu_seconds(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", burn])
    try:
        assert child.pid in children(os.getpid())
    finally:
        child.wait(30)
    # Reaped: its CPU moved into our cutime/cstime.
    assert cpu_seconds(os.getpid()) - before >= 0.25
    assert 1 < pss_mb(os.getpid()) <= peak_rss_mb(os.getpid()) + 1


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_twenty_deliveries_through_two_workers_are_posted_once_and_measured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = parse_args(["--deliveries", "20", "--accounts", "4"])
    result = run(args)

    delivered = result.delivered
    assert delivered.deliveries == 20
    assert delivered.events["delivery_posted"] == 20
    assert delivered.events["delivery_claimed"] == 20
    assert result.plain.posts == 20
    assert result.plain.rate > 0
    assert delivered.rate > 0
    assert delivered.posted_seconds <= delivered.drained_seconds
    assert result.plain.cpu_ms > 0
    assert delivered.cpu_ms() >= delivered.cpu_ms(drained=False) > 0
    assert len(delivered.workers) == 2
    for worker in delivered.workers:
        assert len(worker.rss_mb) == 2  # the main process and its one pool child
        assert all(10 < mb < 2000 for mb in worker.rss_mb)
        assert 10 < worker.pss_mb < worker.rss_total_mb

    report(result, args)
    printed = capsys.readouterr().out
    assert "deliveries/s" in printed
    assert "overhead:" in printed
    assert printed.count("peak RSS of a worker") == 2
