"""`syndicate inspect-feed`: every real feed inspects cleanly; no input crashes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.corpus import feed_files
from syndicate.service.inspecting import inspect_source
from syndicate.settings import defaults
from tests.conftest import ROOT, SEED_FEED, SHARED

BIN = Path(sys.executable).parent


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    return subprocess.run(
        [str(BIN / "syndicate"), "inspect-feed", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_founding_sample_as_json() -> None:
    done = inspect(str(SEED_FEED), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["title"] == "Notes from the Road"
    [entry] = report["entries"]
    assert entry["identity"].endswith("post-2760129340215634781")
    assert entry["categories"] == ["OMS 2011", "Social Media", "Web 2.0"]
    assert entry["published"] == "2011-02-08T05:14:00+00:00"
    assert 2000 < entry["text_length"] < 3000
    assert entry["error"] is None


def test_every_real_feed_inspects_without_error() -> None:
    for path, _ in feed_files():
        report = inspect_source(defaults({}), str(path))
        assert report.error is None, (path.name, report.error)
        assert all(e.identity and e.error is None for e in report.entries), path.name


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00\x01\x02", b"{}", b"<html><p>hi</p></html>", b"<rss><channel><item>" * 1000],
)
def test_bad_input_is_a_one_line_error_not_a_crash(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "input.xml"
    path.write_bytes(body)
    done = inspect(str(path))
    assert done.returncode in (0, 1)
    assert "Traceback" not in done.stderr


def test_a_missing_file_is_reported() -> None:
    done = inspect(str(SHARED / "no-such-feed.xml"))
    assert done.returncode == 1 and "error" in done.stdout and "Traceback" not in done.stderr


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_inspect_never_raises_on_any_bytes(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "fuzz.xml"
    path.write_bytes(body)
    report = inspect_source(defaults({}), str(path))
    assert report.error is not None or isinstance(report.entries, list)
