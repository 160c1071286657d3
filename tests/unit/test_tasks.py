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
from syndicate.settings import load
from tasks import runtime
from tasks.app import LEDGER_RETRY, app

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
