"""The README's first quick-start command, as a user runs it: the demo config, `--once`,
embedded broker, SQLite; and the CLI's one-line errors on bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
TITLE = "Social Media 2.0 - Day 1 at OMS 2011"
LINK = "https://blog.example.com/2011/02/social-media-20-day-1-at-oms-2011.html"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    return subprocess.run(
        [str(BIN / "syndicate"), *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def demo_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "config" / "demo", tmp_path / "config" / "demo")
    shutil.copy(ROOT / "config" / "demo.toml", tmp_path / "config" / "demo.toml")
    return tmp_path / "config" / "demo.toml"


def test_demo_runs_once_prints_the_post_and_records_it(tmp_path: Path) -> None:
    config = demo_copy(tmp_path)
    first = run("run", "--config", str(config), "--once", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert TITLE in first.stdout
    assert LINK in first.stdout
    assert "<p>" not in first.stdout and "&#x27;" not in first.stdout
    assert (tmp_path / "var" / "demo" / "syndicate.db").exists()

    second = run("run", "--config", str(config), "--once", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert TITLE not in second.stdout  # posted once, never again

    history = run("history", "--config", str(config), cwd=tmp_path)
    assert TITLE in history.stdout
    assert "posted" in history.stdout


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
