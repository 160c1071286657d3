"""The README's first quick-start command, as a user runs it: the demo config, `--once`,
embedded broker, SQLite; and the CLI's one-line errors on bad input."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from tests.conftest import ROOT, run_cli

BIN = Path(sys.executable).parent
TITLE = "Social Media 2.0 - Day 1 at OMS 2011"
LINK = "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"


run = run_cli


def demo_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "config" / "demo", tmp_path / "config" / "demo")
    shutil.copy(ROOT / "config" / "demo.toml", tmp_path / "config" / "demo.toml")
    return tmp_path / "config" / "demo.toml"


def test_demo_posts_the_newest_entry_once_and_never_again(tmp_path: Path) -> None:
    config = demo_copy(tmp_path)
    feed = config.parent / "demo" / "feed.atom"

    first = run("run", "--config", str(config), "--once", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("would post") == 1
    assert TITLE in first.stdout
    assert LINK in first.stdout
    assert "<p>" not in first.stdout and "&#x27;" not in first.stdout
    assert "deliveries: 1 posted" in first.stderr
    assert (tmp_path / "var" / "demo" / "syndicate.db").exists()

    # Second round: the same file is really polled again, byte for byte...
    same = run("poll", "--config", str(config), cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert same.stdout.strip() == "notes-from-the-road: not modified"
    # ...and re-published with other bytes but the same entry, so it is parsed and the entry
    # is recognised by its identity rather than by the file's digest.
    feed.write_bytes(feed.read_bytes() + b"\n<!-- re-published -->\n")
    reparsed = run("poll", "--config", str(config), cwd=tmp_path)
    assert reparsed.returncode == 0, reparsed.stderr
    assert reparsed.stdout.strip() == "notes-from-the-road: 0 new, 0 delivery(ies) queued"
    # Then the main job finds nothing to do and prints no post.
    second = run("run", "--config", str(config), "--once", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout == ""
    assert "deliveries: none" in second.stderr

    # History: exactly one delivery, posted, on the first and only attempt.
    history = run("history", "--json", "--config", str(config), cwd=tmp_path)
    assert history.returncode == 0, history.stderr
    [record] = [json.loads(line) for line in history.stdout.splitlines()]
    assert record["entry"] == TITLE
    assert record["link"] == LINK
    assert record["account"] == "preview"
    assert record["state"] == "posted"
    assert record["attempts"] == 1
    text = run("history", "--config", str(config), cwd=tmp_path).stdout
    assert TITLE in text and "posted" in text


def test_missing_config_is_a_one_line_error(tmp_path: Path) -> None:
    done = run("--config", str(tmp_path / "nope.toml"), "poll")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "config file not found" in done.stderr


def test_bad_key_is_a_one_line_error_naming_key_and_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[syndicate]\ndata_dri = 'var'\n")
    done = run("--config", str(config), "history")  # --config before the command works too
    assert done.returncode == 1
    assert "syndicate.data_dri" in done.stderr
    assert str(config) in done.stderr
    assert "Traceback" not in done.stderr
