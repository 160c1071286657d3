"""The operator's commands through click (and, where signals or a live process matter, the
installed `syndicate` in a subprocess): history, show, resync, deliveries, accounts, feeds,
config, JSON logs, `run --web`. The ledger ones run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from syndicate import service
from syndicate.cli import cli, logs
from syndicate.cli.common import person
from syndicate.model import DeliveryState, Trigger
from syndicate.settings import load
from syndicate.store import ledger
from tests.conftest import MASTODON_TOKEN
from tests.fakes.atom import atom_feed, sample_entry
from tests.fakes.mastodon import FakeMastodon

ENV = {"TEST_MASTODON_TOKEN": MASTODON_TOKEN}
CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "{database_url}"
fetch_timeout = "2s"

[web]
bind = "127.0.0.1:{port}"
password = "${{TEST_MASTODON_TOKEN}}"

[[feeds]]
name = "blog"
url = "feed.atom"
accounts = ["toots", "preview"]
backfill = 2

[accounts.toots]
platform = "mastodon"
base_url = "{mastodon_url}"
access_token = "${{TEST_MASTODON_TOKEN}}"

[accounts.preview]
platform = "log"
"""


@dataclass
class Setup:
    config: Path
    database_url: str
    _context: service.Context | None = None

    def invoke(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        """`syndicate --config C ARGS` in this process, as a person at a terminal."""
        return CliRunner().invoke(
            cli, ["--config", str(self.config), *args], input=input, env={**ENV, **(env or {})}
        )

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self.invoke(*args, input=input)
        assert result.exit_code == 0, result.output + repr(result.exception)
        assert MASTODON_TOKEN not in result.output  # no secret in any output
        return result.stdout

    def context(self) -> service.Context:
        """The test's own view of the ledger (what a worker process would open)."""
        if self._context is None:
            self._context = service.open_context(load(self.config, ENV), sync=False)
        return self._context

    def close(self) -> None:
        if self._context is not None:
            self._context.store.dispose()

    def events(self) -> list[tuple[str, str]]:
        with self.context().store.begin() as conn:
            return [(e.kind, e.actor) for e in ledger.list_events(conn)]

    def deliveries(self) -> list[tuple[int, str, int, str]]:
        """(id, state, attempts, key) of every delivery."""
        with self.context().store.begin() as conn:
            rows = conn.execute(sa.text("SELECT id, state, attempts, idempotency_key "
                                        "FROM deliveries ORDER BY id"))  # fmt: skip
            return [(r.id, r.state, r.attempts, r.idempotency_key) for r in rows]


def write_config(tmp_path: Path, database_url: str, mastodon_url: str, port: int = 8080) -> Path:
    (tmp_path / "feed.atom").write_bytes(atom_feed([sample_entry(n) for n in (3, 2, 1)]))
    config = tmp_path / "syndicate.toml"
    config.write_text(CONFIG.format(data_dir=tmp_path / "var", database_url=database_url,
                                    mastodon_url=mastodon_url, port=port))  # fmt: skip
    return config


@pytest.fixture
def setup(tmp_path: Path, database_url: str, mastodon: FakeMastodon) -> Iterator[Setup]:
    """Polled once: entries 3 and 2 are new (backfill 2), 1 is the baseline; four deliveries."""
    made = Setup(write_config(tmp_path, database_url, mastodon.base_url), database_url)
    polled = made.ok("poll")
    assert "2 new, 4 delivery(ies) queued" in polled
    yield made
    made.close()
    assert mastodon.errors == []


def deliver(setup: Setup, account: str) -> list[DeliveryState | None]:
    """What a worker would do, for every delivery of `account`."""
    ctx = setup.context()
    with ctx.store.begin() as conn:
        rows = conn.execute(sa.text("SELECT d.id FROM deliveries d JOIN accounts a "
                                    "ON a.id = d.account_id WHERE a.name = :n ORDER BY d.id"),
                            {"n": account}).scalars().all()  # fmt: skip
    return [service.deliver(ctx, i, Trigger.SCHEDULE).state for i in rows]


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# --- history and show ---------------------------------------------------------------------


def test_history_filters_and_prints_one_json_object_per_line(
    setup: Setup, mastodon: FakeMastodon
) -> None:
    mastodon.fail_next("status", status=422)
    assert deliver(setup, "toots") == [DeliveryState.FAILED, DeliveryState.POSTED]
    every = lines(setup.ok("history", "--json"))
    assert len(every) == 4 and [r["delivery_id"] for r in every] == [4, 3, 2, 1]
    assert {r["account"] for r in lines(setup.ok("history", "--json", "--account", "toots"))} == {
        "toots"
    }
    [failed] = lines(setup.ok("history", "--json", "--state", "failed"))
    assert failed["account"] == "toots" and "422" in failed["error"]
    assert len(lines(setup.ok("history", "--json", "--platform", "log"))) == 2
    assert len(lines(setup.ok("history", "--json", "--limit", "1"))) == 1
    by_entry = lines(setup.ok("history", "--json", "--entry", failed["link"]))
    assert {r["entry_id"] for r in by_entry} == {failed["entry_id"]} and len(by_entry) == 2
    assert lines(setup.ok("history", "--json", "--since", "2999-01-01")) == []
    assert lines(setup.ok("history", "--json", "--feed", "blog", "--since", "1d"))
    text = setup.ok("history", "--state", "failed")
    assert f"#{failed['delivery_id']}" in text and "failed" in text
    bad = setup.invoke("history", "--since", "last tuesday")
    assert bad.exit_code == 1 and "30m" in str(bad.exception)


def test_show_prints_the_whole_story_of_an_entry_across_accounts(
    setup: Setup, mastodon: FakeMastodon
) -> None:
    mastodon.fail_next("status", status=422)
    deliver(setup, "toots")
    deliver(setup, "preview")
    link = sample_entry(3)["link"]
    text = setup.ok("show", link)
    assert text.startswith("entry ") and "Post 3" in text and "feed blog" in text
    for said in ("entry_new", "delivery_created", "delivery_claimed", "entry_summarised",
                 "delivery_failed", "delivery_posted", "toots", "preview", "422"):  # fmt: skip
        assert said in text, said
    as_json = lines(setup.ok("show", sample_entry(2)["id"], "--json"))
    assert as_json[0]["kind"] == "entry_new" and as_json[0]["feed"] == "blog"
    missing = setup.invoke("show", "https://nowhere.example/")
    assert missing.exit_code == 1 and "no entry" in str(missing.exception)


# --- resync -------------------------------------------------------------------------------


def test_resync_requeues_what_failed_and_twice_queues_nothing_new(
    setup: Setup, mastodon: FakeMastodon
) -> None:
    mastodon.fail_next("status", status=422, count=2)
    assert deliver(setup, "toots") == [DeliveryState.FAILED, DeliveryState.FAILED]
    said = setup.ok("resync", "--account", "toots")
    assert said.strip() == "resync: queued 2, skipped 0 already posted, errors 0"
    actor = person()
    requeued = [e for e in setup.events() if e[0] == "delivery_requeued"]
    assert requeued == [("delivery_requeued", actor)] * 2
    before = (setup.events(), setup.deliveries())
    again = setup.ok("resync", "--account", "toots")
    assert "queued 0" in again and "2 already queued" in again
    assert (setup.events(), setup.deliveries()) == before
    assert deliver(setup, "toots") == [DeliveryState.POSTED, DeliveryState.POSTED]
    assert "skipped 2 already posted" in setup.ok("resync", "--account", "toots")


def test_a_dry_run_shows_the_posts_with_counts_and_limits_and_changes_nothing(
    setup: Setup, mastodon: FakeMastodon
) -> None:
    mastodon.fail_next("status", status=422, count=2)
    deliver(setup, "toots")
    deliver(setup, "preview")
    before = (setup.events(), setup.deliveries())
    shown = setup.ok("resync", "--dry-run", "--poll")
    assert shown.count("== toots: entry") == 2
    assert "-- mastodon: " in shown and "/500" in shown
    assert sample_entry(3)["link"] in shown
    assert "would queue 2 (toots 2)" in shown and "nothing was changed" in shown
    forced = setup.ok("resync", "--dry-run", "--force")
    assert "would queue 4 (preview 2, toots 2)" in forced
    assert (setup.events(), setup.deliveries()) == before


def test_force_asks_before_reposting_and_uses_new_keys(setup: Setup) -> None:
    assert deliver(setup, "preview") == [DeliveryState.POSTED, DeliveryState.POSTED]
    before = setup.deliveries()
    refused = setup.invoke("resync", "--force", "--account", "preview", input="n\n")
    assert refused.exit_code == 1 and "Re-post 2 delivery(ies), 2 of them posted" in refused.output
    assert setup.deliveries() == before
    said = setup.ok("resync", "--force", "--account", "preview", input="y\n")
    assert "queued 2" in said
    after = setup.deliveries()
    reposted = [(old, new) for old, new in zip(before, after, strict=True) if old[1] == "posted"]
    assert len(reposted) == 2
    for old, new in reposted:
        assert new[1] == "pending" and new[2] == 0  # attempts reset
        assert new[3] != old[3]  # a new key: the platform must not replay the old post
    assert "queued 0" in setup.ok("resync", "--force", "--yes", "--account", "preview")


def test_a_baseline_entry_is_queued_only_when_named(setup: Setup) -> None:
    baseline = sample_entry(1)["link"]
    assert "queued 0" in setup.ok("resync", "--feed", "blog")
    said = setup.ok("resync", "--entry", baseline, "--account", "toots")
    assert "queued 1" in said
    assert [r["account"] for r in lines(setup.ok("history", "--json", "--entry", baseline))] == [
        "toots"
    ]
    assert "--entry" in setup.ok("resync", "--help") and "baseline" in setup.ok("resync", "--help")


# --- deliveries, accounts, feeds ----------------------------------------------------------


def test_mark_posted_records_the_person_and_the_link(setup: Setup, mastodon: FakeMastodon) -> None:
    mastodon.fail_next("status", status=422)
    deliver(setup, "toots")
    [failed] = lines(setup.ok("history", "--json", "--state", "failed"))
    url = "https://mastodon.example/@me/42"
    said = setup.ok("deliveries", "mark-posted", str(failed["delivery_id"]), url)
    assert said.strip() == f"delivery {failed['delivery_id']}: failed -> posted ({url})"
    [row] = lines(setup.ok("history", "--json", "--entry", failed["link"], "--account", "toots"))
    assert row["state"] == "posted" and row["remote_url"] == url
    assert setup.events()[-1][0] == "delivery_posted"
    twice = setup.invoke("deliveries", "mark-posted", str(failed["delivery_id"]), url)
    assert twice.exit_code == 1 and "is posted" in str(twice.exception)


def test_accounts_list_check_pause_and_resume(setup: Setup) -> None:
    listed = setup.ok("accounts", "list")
    assert "toots  mastodon  ok" in listed and "deliveries: 2 pending" in listed
    [toots] = [a for a in lines(setup.ok("accounts", "list", "--json")) if a["name"] == "toots"]
    assert toots["health"] == "ok" and toots["deliveries"] == {"pending": 2}
    checked = setup.ok("accounts", "check")
    assert "toots  mastodon  ok  @" in checked and "preview  log  ok" in checked
    assert setup.ok("accounts", "pause", "toots", "--reason", "rotating keys").strip() == (
        "toots: paused (rotating keys)"
    )
    assert "paused (rotating keys)" in setup.ok("accounts", "list")
    assert "already paused" in setup.ok("accounts", "pause", "toots")
    assert "2 held delivery(ies) released" in setup.ok("accounts", "resume", "toots")
    wrong = setup.invoke("accounts", "check", "toots", env={"TEST_MASTODON_TOKEN": "wrong-9f2c1d"})
    assert wrong.exit_code == 1 and "FAILED" in wrong.output and "wrong-9f2c1d" not in wrong.output


def test_feeds_list_shows_the_poll_times_websub_state_and_last_error(
    setup: Setup, tmp_path: Path
) -> None:
    [line] = setup.ok("feeds", "list").splitlines()
    assert line.startswith("blog  active  polled ") and "websub: no hub: polling only" in line
    assert "error" not in line
    (tmp_path / "feed.atom").unlink()  # the blog's feed is gone from disk
    ctx = setup.context()
    with ctx.store.begin() as conn:
        conn.execute(sa.text("UPDATE feeds SET next_poll_at = NULL"))
    assert setup.invoke("poll").exit_code == 1
    [line] = setup.ok("feeds", "list").splitlines()
    assert "websub: no hub: polling only  1 error(s): " in line


def test_a_feed_leaves_the_ledger_only_once_out_of_the_config_or_forced(setup: Setup) -> None:
    kept = setup.invoke("feeds", "remove", "blog")
    assert kept.exit_code == 1 and "still in the config" in str(kept.exception)
    removed = setup.invoke("feeds", "remove", "blog", "--force")
    assert removed.exit_code == 0, removed.output
    assert "blog: removed with 3 entries and 4 deliveries; WebSub: not subscribed" in removed.stdout
    assert "next start adds it back" in removed.stderr
    assert setup.events()[-1][0] == "feed_removed"
    assert setup.ok("history").strip() == "no deliveries yet"


# --- config and logs ----------------------------------------------------------------------


def test_config_show_masks_secrets_and_check_names_the_problem(
    tmp_path: Path, sqlite_url: str, mastodon: FakeMastodon
) -> None:
    setup = Setup(write_config(tmp_path, sqlite_url, mastodon.base_url), sqlite_url)
    shown = setup.ok("config", "show")
    assert 'access_token = "***"  # from ${TEST_MASTODON_TOKEN}' in shown
    assert 'password = "***"' in shown and "[accounts.preview]" in shown
    assert "ok: " in setup.ok("config", "check")
    broken = setup.invoke("config", "check", env={
        "SYNDICATE_DATABASE_URL": "postgresql+psycopg://app:pw-8c1e77@127.0.0.1:1/x",
        "SYNDICATE_BROKER_URL": "redis://:redis-pw-41aa@127.0.0.1:1/0",
    })  # fmt: skip
    assert broken.exit_code == 1
    assert "problem: database" in broken.stderr and "problem: broker redis://" in broken.stderr
    assert "pw-8c1e77" not in broken.output and "redis-pw-41aa" not in broken.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[syndicate]\nnope = 1\n")
    unknown = CliRunner().invoke(cli, ["config", "check", "--config", str(bad)])
    assert unknown.exit_code == 1 and "syndicate.nope" in unknown.stderr


def test_json_logs_are_one_object_per_line_with_secrets_masked(
    tmp_path: Path, sqlite_url: str, mastodon: FakeMastodon
) -> None:
    setup = Setup(write_config(tmp_path, sqlite_url, mastodon.base_url), sqlite_url)
    result = setup.invoke("--log-format", "json", "-v", "poll")
    assert result.exit_code == 0, result.output
    records = lines(result.stderr)
    assert records and all({"at", "level", "logger", "message"} <= set(r) for r in records)
    assert MASTODON_TOKEN not in result.output


def test_the_log_filter_masks_messages_extras_and_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure(json_lines=True, verbose=True, redact=lambda t: t.replace("s3cret", "***"))
    log = logging.getLogger("syndicate.test")
    log.info("token %s", "s3cret", extra={"header": "Bearer s3cret", "attempt": 2})
    try:
        raise ValueError("s3cret in the error")
    except ValueError:
        log.exception("boom")
    logs.configure(json_lines=False, verbose=False, redact=lambda t: t)
    err = capsys.readouterr().err
    assert "s3cret" not in err
    first, second = lines(err)
    assert first["message"] == "token ***" and first["header"] == "Bearer ***"
    assert (
        first["attempt"] == 2 and first["level"] == "INFO" and first["logger"] == "syndicate.test"
    )
    assert "*** in the error" in second["exception"]


# --- live processes: --follow and run --web -----------------------------------------------


def _env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}, **ENV}


def _reader(stream: Any) -> queue.Queue[str]:
    """The stream's lines as they come, read by a thread so the pipe never fills."""
    got: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            got.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return got


def _wait_line(got: queue.Queue[str], needle: str, timeout: float = 60) -> str:
    while True:
        line = got.get(timeout=timeout)  # queue.Empty fails the test
        if needle in line:
            return line


def test_history_follow_prints_new_events_until_interrupted(setup: Setup) -> None:
    binary = Path(sys.executable).parent / "syndicate"
    process = subprocess.Popen(
        [str(binary), "--config", str(setup.config), "history", "--follow", "--account", "toots"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    try:
        got = _reader(process.stdout)
        _wait_line(got, "toots")  # the current deliveries first: it is running
        setup.ok("accounts", "pause", "toots", "--reason", "watch this")
        line = _wait_line(got, "account_paused")
        assert "watch this" in line and "cli:" in line
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()


def _run_web(config: Path) -> subprocess.Popen[str]:
    """The installed `syndicate run --web`, its output piped."""
    binary = Path(sys.executable).parent / "syndicate"
    return subprocess.Popen(
        [str(binary), "--config", str(config), "run", "--web"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip


def test_run_with_web_serves_and_stops_cleanly_on_sigterm(
    tmp_path: Path, sqlite_url: str, mastodon: FakeMastodon
) -> None:
    from tests.fakes.oauth_person import free_port

    port = free_port()
    config = write_config(tmp_path, sqlite_url, mastodon.base_url, port=port)
    process = _run_web(config)
    try:
        errors = _reader(process.stderr)
        _wait_line(errors, "listening on")
        # the scheduler has polled (so the worker and its signal handlers are up) once the
        # dry-run account prints its post
        _wait_line(_reader(process.stdout), "would post")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert "deliveries:" in _wait_line(errors, "done: polled")
    finally:
        process.kill()
        process.wait()


def test_a_retry_pressed_in_the_web_app_is_posted_by_the_running_worker(
    tmp_path: Path, sqlite_url: str, mastodon: FakeMastodon
) -> None:
    """`syndicate run --web`: a retry pressed in the web app (a script's Bearer request) is
    re-queued in the ledger and posted by the worker of the same command, exactly once."""
    import http.client

    from syndicate.web.auth import api_token
    from tests.fakes.oauth_person import free_port

    port = free_port()
    config = write_config(tmp_path, sqlite_url, mastodon.base_url, port=port)
    setup = Setup(config, sqlite_url)
    mastodon.fail_next("status", status=422)  # the first toot fails for good
    process = _run_web(config)
    try:
        _wait_line(_reader(process.stderr), "listening on")
        deadline = time.monotonic() + 60
        while not (failed := [d for d in setup.deliveries() if d[1] == "failed"]):
            assert time.monotonic() < deadline, setup.deliveries()
            time.sleep(0.2)
        [(delivery_id, _, attempts, key)] = failed
        assert attempts == 1 and mastodon.posts_for_key(key) == 0

        web = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        web.request("POST", f"/deliveries/{delivery_id}/retry", headers={
            "Authorization": f"Bearer {api_token(MASTODON_TOKEN)}",
            "Content-Type": "application/x-www-form-urlencoded",
        }, body="next=/deliveries")  # fmt: skip
        answer = web.getresponse()
        assert answer.status == 303, answer.read()
        web.close()
        while mastodon.posts_for_key(key) == 0:
            assert time.monotonic() < deadline + 60, setup.deliveries()
            time.sleep(0.2)
        while dict((d[0], d[1]) for d in setup.deliveries())[delivery_id] != "posted":
            assert time.monotonic() < deadline + 60, setup.deliveries()
            time.sleep(0.2)
        assert mastodon.posts_for_key(key) == 1
        with setup.context().store.begin() as conn:
            triggers = [
                (e.kind, e.trigger, e.actor)
                for e in ledger.list_events(conn)
                if e.delivery_id == delivery_id
            ]
        # The person's press is on record; whichever doorbell then woke the account (the web's,
        # or a follow-up the worker had already set) posted it, once.
        kinds = [kind for kind, _, _ in triggers]
        assert ("delivery_requeued", "web", "web") in triggers, triggers
        assert kinds.index("delivery_requeued") < kinds.index("delivery_posted"), triggers
        assert kinds.count("delivery_posted") == 1 and kinds.count("delivery_failed") == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        process.wait()
        setup.close()
