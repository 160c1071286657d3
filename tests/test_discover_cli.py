"""`syndicate feeds add URL`: finds the feed behind a blog's address and says which."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEED_FEED
from tests.fakes.feedserver import FeedServer

BIN = Path(sys.executable).parent
PAGE = b"""<!doctype html><html><head><title>Blog</title>
<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed">
<link rel="alternate" type="application/atom+xml" title="Posts" href="/feeds/posts/default">
</head><body><p>Hello</p></body></html>"""


def add(url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    return subprocess.run(
        [str(BIN / "syndicate"), "feeds", "add", url, "--name", "notes"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_feed_advertised_by_the_page_is_picked_and_named() -> None:
    with FeedServer() as server:
        server.publish("/", PAGE, "text/html; charset=utf-8")
        server.publish("/feeds/posts/default", SEED_FEED.read_bytes())
        done = add(server.url_for("/"))
        feed_url = server.url_for("/feeds/posts/default")
    assert done.returncode == 0, done.stderr
    assert f"found {feed_url}: advertised" in done.stdout
    assert "'Posts'" in done.stdout
    assert f'url = "{feed_url}"' in done.stdout


def test_a_common_path_is_tried_when_nothing_is_advertised() -> None:
    with FeedServer() as server:
        server.publish("/", b"<html><body>no links</body></html>", "text/html")
        server.publish("/index.xml", SEED_FEED.read_bytes())
        done = add(server.url_for("/"))
        feed_url = server.url_for("/index.xml")
    assert done.returncode == 0, done.stderr
    assert f"found {feed_url}: not advertised" in done.stdout


def test_no_feed_anywhere_is_a_one_line_error() -> None:
    with FeedServer() as server:
        server.publish("/", b"<html><body>nothing</body></html>", "text/html")
        done = add(server.url_for("/"))
    assert done.returncode == 1
    assert "no feed advertised" in done.stderr and "Traceback" not in done.stderr
