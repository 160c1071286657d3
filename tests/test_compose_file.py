"""docker-compose.yml, checked without Docker: it parses, every image tag is pinned, every
command it runs exists in this package, and every long-running service has a healthcheck."""

from __future__ import annotations

import importlib
import shlex
import tomllib
from typing import Any

import click
import pytest
import yaml

from syndicate.cli import cli
from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
LONG_RUNNING = {"redis", "postgres", "worker", "scheduler", "web"}


def services() -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    found: dict[str, dict[str, Any]] = loaded["services"]
    return found


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def commands() -> list[tuple[str, list[str]]]:
    """Every command line the file runs: service commands and healthcheck tests."""
    found = []
    for name, service in services().items():
        if "command" in service:
            found.append((name, argv(service["command"])))
        test = service.get("healthcheck", {}).get("test")
        if test and test[0] == "CMD":
            found.append((name, [str(a) for a in test[1:]]))
        elif test and test[0] == "CMD-SHELL":
            found.append((name, shlex.split(test[1])))
    return found


def test_every_service_the_stack_needs_is_there_and_long_running_ones_are_checked() -> None:
    found = services()
    assert set(found) == LONG_RUNNING
    for name in LONG_RUNNING:
        check = found[name].get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert found[name].get("restart") == "unless-stopped", name


def test_every_image_tag_is_pinned() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in services().items():
        image = service.get("image")
        assert image, f"{name}: no image (a built one needs a tagged name too)"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert any(c.isdigit() for c in tag), f"{name}: {image} names no version"
        if "build" in service:
            assert tag == version, f"{name}: built image should carry the project version"


def test_redis_keeps_its_queue_across_restarts_and_data_lives_in_volumes() -> None:
    found = services()
    redis = argv(found["redis"]["command"])
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(v.endswith(":/data") for v in found["redis"]["volumes"])
    assert any("/var/lib/postgresql/data" in v for v in found["postgres"]["volumes"])
    declared = yaml.safe_load(COMPOSE.read_text())["volumes"]
    assert {"redis-data", "postgres-data"} <= set(declared)


def test_the_app_services_share_one_env_file_and_reach_redis_and_postgres() -> None:
    for name in ("worker", "scheduler", "web"):
        service = services()[name]
        assert service["env_file"] == ".env"
        env = service["environment"]
        assert env["SYNDICATE_BROKER_URL"].startswith("redis://redis:")
        assert "@postgres:5432/" in env["SYNDICATE_DATABASE_URL"]
        assert env["SYNDICATE_CONFIG"].startswith("/app/config/")
        assert set(service["depends_on"]) == {"redis", "postgres"}
    example = (ROOT / "config" / ".env.example").read_text()
    assert "POSTGRES_PASSWORD=" in example


def _syndicate_command(args: list[str]) -> click.Command:
    """Walk the click group as the shell would, skipping global options."""
    command: click.Command = cli
    for arg in args:
        if arg.startswith("-"):
            continue
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(click.Context(command), arg)
        if sub is None:
            if command is cli and arg in ("json", "text"):  # the value of --log-format
                continue
            raise AssertionError(f"`syndicate {' '.join(args)}`: no command {arg!r}")
        command = sub
    return command


@pytest.mark.parametrize(("service", "args"), commands(), ids=lambda v: str(v)[:40])
def test_every_command_it_runs_exists_in_this_package(service: str, args: list[str]) -> None:
    program = args[0]
    if program == "celery":
        app_path = args[args.index("-A") + 1]
        module = importlib.import_module(app_path)
        assert module.app.main == "syndicate"
        assert args[args.index("-A") + 2] in ("worker", "beat", "inspect")
    elif program == "syndicate":
        assert _syndicate_command(args[1:]) is not cli
    elif program == "python":
        code = args[args.index("-c") + 1]
        compile(code, f"{service} healthcheck", "exec")
        assert "/healthz" in code
    else:
        assert program in ("redis-server", "redis-cli", "pg_isready"), f"{service}: {program}"
