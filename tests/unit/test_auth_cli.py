"""`syndicate auth PLATFORM ACCOUNT` through click, from a TOML config to a loadable one."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from syndicate.cli import cli
from syndicate.settings import load
from tests.fakes.oauth import FakeAuthServer
from tests.fakes.oauth_person import Person, free_port

HANDLE, DID, APP_PASSWORD = "writer.bsky.social", "did:plc:abc123", "abcd-efgh-ijkl-mnop"


@pytest.fixture
def server() -> Iterator[FakeAuthServer]:
    with FakeAuthServer() as fake:
        fake.add_bluesky_account(HANDLE, DID, APP_PASSWORD, "the-real-password")
        yield fake
        assert fake.errors == []


def write_config(tmp_path: Path, server: FakeAuthServer) -> Path:
    config = tmp_path / "syndicate.toml"
    config.write_text(
        f"""
[syndicate]
data_dir = "data"

[accounts.toots]
platform = "mastodon"
base_url = "{server.base_url}"
access_token = "${{TOOTS_TOKEN}}"

[accounts.sky]
platform = "bluesky"
base_url = "{server.base_url}"
handle = "{HANDLE}"
app_password_file = "keys/bluesky"
"""
    )
    return config


def test_mastodon_through_the_cli_leaves_a_config_that_loads(
    server: FakeAuthServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake speaks http
    monkeypatch.delenv("TOOTS_TOKEN", raising=False)
    person = Person()

    def open_browser(url: str) -> bool:
        person(url)
        return True

    monkeypatch.setattr("webbrowser.open", open_browser)
    config = write_config(tmp_path, server)
    port = str(free_port())

    result = CliRunner().invoke(
        cli, ["--config", str(config), "auth", "mastodon", "toots", "--port", port, "--open"]
    )

    assert result.exit_code == 0, result.output
    env_file = tmp_path / "data" / "secrets.env"
    assert f"saved access_token to {env_file} (VAR TOOTS_TOKEN)" in result.output
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "bluesky").write_text(APP_PASSWORD)  # the other account, for load()
    token = load(config, environ={}).accounts["toots"].option("access_token")
    assert server.token_kind(token) == "mastodon"
    assert token not in result.output


def test_bluesky_through_the_cli_prompts_hidden_and_writes_the_secret_file(
    server: FakeAuthServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, server)
    result = CliRunner().invoke(
        cli, ["--config", str(config), "auth", "bluesky", "sky"], input=f"{APP_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert f"verified @{HANDLE} ({DID}) on Bluesky" in result.output
    assert APP_PASSWORD not in result.output  # hidden input is not echoed
    assert (tmp_path / "keys" / "bluesky").read_text() == f"{APP_PASSWORD}\n"


def test_the_platform_must_match_the_account(server: FakeAuthServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, server)
    result = CliRunner().invoke(cli, ["--config", str(config), "auth", "x", "toots"])
    assert result.exit_code == 2
    assert "[accounts.toots] is a mastodon account" in result.output
    assert server.requests == []
