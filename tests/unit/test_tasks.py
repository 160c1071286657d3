"""The Celery edge on its own: a poisoned message is dropped, a ledger that does not answer
makes the task retry instead of recording anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tasks.deliver
import tasks.poll
from syndicate import service
from syndicate.model import Trigger
from syndicate.settings import load
from tasks import dispatch, runtime
from tasks.app import LEDGER_RETRY, app
from tasks.dispatch import deliveries as ring_deliveries

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1


@pytest.fixture
def unreachable_ledger(tmp_path: Path) -> Iterator[None]:
    path = tmp_path / "syndicate.toml"
    path.write_text(
        f'[syndicate]\ndata_dir = "{tmp_path}"\ndatabase_url = "{UNREACHABLE}"\n'
        'broker_url = "redis://127.0.0.1:6379/15"\n'
    )
    runtime.bind(load(path, {}))
    app.loader.import_default_modules()
    assert tasks.deliver.deliver.name in app.tasks
    yield
    runtime.bind(load(path, {}))  # drop the context so the next test binds its own


@pytest.mark.parametrize("task", ["syndicate.deliver", "syndicate.poll_feed"])
def test_a_ledger_that_does_not_answer_makes_the_task_retry(
    task: str, unreachable_ledger: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[object] = []
    real_open = service.open_context

    def counting_open(*args: Any, **kwargs: Any) -> service.Context:
        opened.append(args)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(service, "open_context", counting_open)
    result = app.tasks[task].apply(args=[1, "schedule"])
    # Run eagerly, each retry runs at once: the first try and five retries, then it gives up
    # (a worker would space them out; the sweeper finds the work again after that).
    assert len(opened) == 1 + LEDGER_RETRY["max_retries"]
    assert result.state == "FAILURE"
    assert "cannot reach the database" in str(result.result)


@pytest.mark.parametrize("args", [["not-an-id", "retry"], [1, "bogus"], [None, "retry"]])
def test_a_poisoned_message_is_dropped_without_touching_the_ledger(
    args: list[object], unreachable_ledger: None, caplog: pytest.LogCaptureFixture
) -> None:
    result = app.tasks["syndicate.deliver"].apply(args=args)
    assert result.state == "SUCCESS"
    assert "dropped a message with bad arguments" in caplog.text


# --- one task sends an account's due posts in a row -----------------------------------------

CHAIN_CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "sqlite:///{data_dir}/ledger.db"
broker_url = "redis://127.0.0.1:6379/15"

[[feeds]]
name = "blog"
url = "feed.atom"
accounts = ["dry", "also"]

[accounts.dry]
platform = "log"

[accounts.also]
platform = "log"
"""


@pytest.fixture
def chained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, str]]]:
    """Three new posts for each of two dry-run accounts; the bells the task rings, recorded."""
    from tests.fakes.atom import atom_feed, sample_entry

    feed = tmp_path / "feed.atom"
    feed.write_bytes(atom_feed([sample_entry(1)]))
    path = tmp_path / "syndicate.toml"
    path.write_text(CHAIN_CONFIG.format(data_dir=tmp_path))
    runtime.bind(load(path, {}))
    ctx = runtime.context()
    service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE)  # the baseline
    feed.write_bytes(atom_feed([sample_entry(n) for n in (4, 3, 2, 1)]))
    assert len(service.poll_feed(ctx, ctx.feed_ids["blog"], Trigger.SCHEDULE).delivery_ids) == 6
    rung: list[tuple[int, str]] = []

    def ring(ids: list[int], trigger: Trigger, **_: object) -> bool:
        rung.extend((i, trigger.value) for i in ids)
        return True

    monkeypatch.setattr(tasks.deliver.dispatch, "deliveries", ring)
    yield rung
    runtime.bind(load(path, {}))


def deliveries_of(account: str) -> list[tuple[int, str]]:
    """(id, state) of the account's deliveries, oldest first."""
    ctx = runtime.context()
    with ctx.store.begin() as conn:
        rows = conn.exec_driver_sql(
            "SELECT d.id, d.state FROM deliveries d JOIN accounts a ON a.id = d.account_id "
            "WHERE a.name = ? ORDER BY d.id",
            (account,),
        )
        return [(int(row[0]), str(row[1])) for row in rows]


def states(account: str) -> list[str]:
    return [state for _, state in deliveries_of(account)]


def first_of(account: str) -> int:
    return deliveries_of(account)[0][0]


def test_one_doorbell_sends_the_accounts_due_posts_in_a_row_and_rings_nothing(
    chained: list[tuple[int, str]],
) -> None:
    result = app.tasks["syndicate.deliver"].apply(args=[first_of("dry"), "schedule"])
    assert result.state == "SUCCESS", result.result
    assert states("dry") == ["posted"] * 3
    assert states("also") == ["pending"] * 3  # another account's posts wait for their bell
    assert chained == []


def test_the_chain_stops_at_its_cap_and_rings_for_the_rest(
    chained: list[tuple[int, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks.deliver, "MAX_CHAIN", 2)
    app.tasks["syndicate.deliver"].apply(args=[first_of("dry"), "schedule"])
    assert states("dry") == ["posted", "posted", "pending"]
    assert chained == [(deliveries_of("dry")[2][0], "retry")]


def test_a_poll_rings_each_accounts_oldest_and_stamps_every_delivery(
    chained: list[tuple[int, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[object] = []
    monkeypatch.setattr(dispatch, "broker_available", lambda: True)
    monkeypatch.setattr(dispatch, "_send", lambda task, object_id, *_, **__: sent.append(object_id))
    every = sorted(i for account in ("dry", "also") for i, _ in deliveries_of(account))
    # the fixture replaced `dispatch.deliveries`; this is the function as the module defines it
    assert ring_deliveries(every, Trigger.SCHEDULE) is True
    assert sent == sorted([first_of("dry"), first_of("also")])
    ctx = runtime.context()
    with ctx.store.begin() as conn:
        stamped = conn.exec_driver_sql(
            "SELECT count(*) FROM deliveries WHERE enqueued_at IS NOT NULL"
        ).scalar_one()
    assert stamped == len(every) == 6
