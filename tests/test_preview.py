"""`syndicate preview`: exactly what would be posted, from a feed file, a URL or the ledger,
through the same render as a real send."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from syndicate.platforms.rules import RULES
from tests.conftest import ROOT, SEED_FEED, SHARED, run_cli
from tests.fakes.feedserver import FeedServer

BIN = Path(sys.executable).parent
LINK = "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"


syndicate = run_cli


def preview_json(*args: str) -> list[dict[str, Any]]:
    done = syndicate("preview", *args, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_each_platform_gets_a_post_within_its_own_count() -> None:
    for platform in ("x", "mastodon", "bluesky", "linkedin", "tumblr"):
        [post] = preview_json(str(SEED_FEED), "--platform", platform)
        assert post["platform"] == platform
        assert post["length"] == RULES[platform].count(post["text"]) <= post["limit"]
        assert post["limit"] == RULES[platform].limit
        assert post["title"] == "Social Media 2.0 - Day 1 at OMS 2011"


def test_bluesky_preview_carries_link_facets_in_utf8_bytes_and_a_card() -> None:
    [post] = preview_json(str(SEED_FEED), "--platform", "bluesky")
    encoded = post["text"].encode()
    [link] = [f for f in post["facets"] if f["kind"] == "link"]
    assert encoded[link["byte_start"] : link["byte_end"]].decode() == LINK == link["value"]
    assert post["card"]["url"] == LINK


def test_preview_of_an_account_is_byte_for_byte_what_the_run_sends(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    config = str(tmp_path / "config" / "demo.toml")
    [post] = preview_json(str(SEED_FEED), "--account", "preview", "--config", config)
    run = syndicate("run", "--config", config, "--once", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    printed = run.stdout.split("---\n", 1)[1].rsplit("\n-", 1)[0]
    assert printed == post["text"]
    [stored] = preview_json("notes-from-the-road", "--account", "preview", "--config", config)
    assert stored["text"] == post["text"]


def test_a_summary_only_feed_over_http_is_previewed_from_its_page() -> None:
    summary_only = (SHARED / "fixtures" / "seed-blogger-summary-only.atom").read_bytes()
    page = (SHARED / "fixtures" / "seed-post-page.html").read_bytes()
    with FeedServer() as server:
        server.publish("/post.html", page, "text/html; charset=utf-8")
        server.publish(
            "/feed.atom", summary_only.replace(LINK.encode(), server.url_for("/post.html").encode())
        )
        [post] = preview_json(server.url_for("/feed.atom"), "--platform", "mastodon")
    assert post["notes"] == []
    assert "customers" in post["text"]  # only the page has it; the feed's summary stops early
    for junk in ("Post a Comment", "comments", "Delicious", "Stumbleupon"):
        assert junk not in post["text"]


def test_preview_needs_exactly_one_of_account_or_platform() -> None:
    done = syndicate("preview", str(SEED_FEED))
    assert done.returncode == 2
    assert "--account NAME or --platform NAME" in done.stderr


def test_unknown_platform_and_unknown_entry_are_one_line_errors() -> None:
    done = syndicate("preview", str(SEED_FEED), "--platform", "myspace")
    assert done.returncode == 1 and "unknown platform 'myspace'" in done.stderr
    done = syndicate("preview", str(SEED_FEED), "--platform", "x", "--entry", "nope")
    assert done.returncode == 1 and "no entry 'nope'" in done.stderr
    assert "Traceback" not in done.stderr
