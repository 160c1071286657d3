"""Where `syndicate auth` saves credentials (0600 files, the env file) and how settings read
them back; the redirect listener's own rules."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from syndicate.auth import EnvTarget, FileTarget, SetupError, Target
from syndicate.auth.listener import RedirectListener
from syndicate.auth.writer import save, update_env_file, write_private
from syndicate.errors import ConfigError
from syndicate.settings import load
from syndicate.settings.envfile import parse_env_text
from syndicate.settings.sources import account_sources


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: files must still never be readable by others."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


# ------------------------------------------------------------------- writing


@pytest.mark.usefixtures("open_umask")
def test_secret_files_are_created_0600_with_their_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "token"
    write_private(path, "s3cret\n")
    assert path.read_text() == "s3cret\n"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


@pytest.mark.usefixtures("open_umask")
def test_rewriting_a_world_readable_file_leaves_it_0600_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("old\n")
    path.chmod(0o644)
    write_private(path, "new\n")
    assert (path.read_text(), mode(path)) == ("new\n", 0o600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["token"]


def test_env_file_values_are_replaced_in_place_keeping_every_other_line(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text(
        "# tokens for syndicate\nOTHER=keep-me\nexport X_ACCESS_TOKEN='old'\n\nLAST=1\n"
    )
    update_env_file(path, {"X_ACCESS_TOKEN": "new-token", "X_REFRESH_TOKEN": "with space"})
    assert path.read_text() == (
        "# tokens for syndicate\n"
        "OTHER=keep-me\n"
        "export X_ACCESS_TOKEN=new-token\n"
        "\n"
        "LAST=1\n"
        "X_REFRESH_TOKEN='with space'\n"
    )
    assert mode(path) == 0o600


def test_what_the_writer_writes_settings_read_back(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    values = {"A": "plain-token_1.2~x/y+z=", "B": "has space #and hash", "C": 'double"quote'}
    update_env_file(path, values)
    assert parse_env_text(path.read_text(), path) == values


def test_a_value_an_env_file_cannot_hold_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="give the key as <key>_file") as info:
        update_env_file(tmp_path / "secrets.env", {"V": "it's\nmultiline"})
    assert "multiline" not in str(info.value)
    assert not (tmp_path / "secrets.env").exists()


def test_save_says_where_each_key_went_never_the_value(tmp_path: Path) -> None:
    targets: dict[str, Target] = {
        "access_token": EnvTarget("X_ACCESS_TOKEN", tmp_path / "secrets.env"),
        "refresh_token": FileTarget(tmp_path / "refresh"),
    }
    said = save({"access_token": "tok-123456", "refresh_token": "ref-654321"}, targets)
    assert said == [
        f"saved access_token to {tmp_path / 'secrets.env'} (VAR X_ACCESS_TOKEN)",
        f"saved refresh_token to {tmp_path / 'refresh'}",
    ]


# ---------------------------------------------------------- settings: env file


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "syndicate.toml"
    path.write_text(body)
    return path


MASTODON = """
[accounts.toots]
platform = "mastodon"
base_url = "https://social.example"
access_token = "${TOOTS_TOKEN}"
"""


def test_settings_read_dollar_vars_from_the_default_env_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[syndicate]\ndata_dir = "data"\n' + MASTODON)
    update_env_file(tmp_path / "data" / "secrets.env", {"TOOTS_TOKEN": "from-file"})
    settings = load(config, environ={})
    assert settings.accounts["toots"].option("access_token") == "from-file"
    assert settings.env_file == tmp_path / "data" / "secrets.env"
    assert settings.warnings == ()


def test_the_real_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, MASTODON)
    update_env_file(tmp_path / "var" / "secrets.env", {"TOOTS_TOKEN": "from-file"})
    settings = load(config, environ={"TOOTS_TOKEN": "from-environment"})
    assert settings.accounts["toots"].option("access_token") == "from-environment"


def test_env_file_location_from_config_or_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[syndicate]\nenv_file = "conf/tokens.env"\n' + MASTODON)
    update_env_file(tmp_path / "conf" / "tokens.env", {"TOOTS_TOKEN": "a"})
    update_env_file(tmp_path / "other.env", {"TOOTS_TOKEN": "b"})
    assert load(config, environ={}).accounts["toots"].option("access_token") == "a"
    moved = {"SYNDICATE_ENV_FILE": str(tmp_path / "other.env")}
    assert load(config, environ=moved).accounts["toots"].option("access_token") == "b"


def test_a_malformed_env_line_is_named_by_number_without_its_content(tmp_path: Path) -> None:
    config = write_config(tmp_path, MASTODON)
    env = tmp_path / "var" / "secrets.env"
    env.parent.mkdir()
    env.write_text("TOOTS_TOKEN=ok\nthis is secret-ish junk\n")
    with pytest.raises(ConfigError) as info:
        load(config, environ={})
    assert str(info.value) == f"{env}:2: expected NAME=value"


def test_a_group_readable_env_file_is_warned_about(tmp_path: Path) -> None:
    config = write_config(tmp_path, MASTODON)
    env = tmp_path / "var" / "secrets.env"
    update_env_file(env, {"TOOTS_TOKEN": "x"})
    env.chmod(0o640)
    assert load(config, environ={}).warnings == (
        f"{env}: env file is readable by others; run chmod 600 {env}",
    )


def test_account_sources_need_no_credentials_to_exist_yet(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        MASTODON + 'client_secret_file = "keys/secret"\nvisibility = "unlisted"\n'
        'token2 = "${SET_IN_SHELL}"\n',
    )
    sources = account_sources(config, "toots", environ={"SET_IN_SHELL": "v"})
    assert sources.platform == "mastodon"
    assert sources.env_refs == {"access_token": "TOOTS_TOKEN", "token2": "SET_IN_SHELL"}
    assert sources.files == {"client_secret": tmp_path / "keys" / "secret"}
    assert sources.literals == {"platform", "base_url", "visibility"}
    assert sources.values["base_url"] == "https://social.example"
    assert "access_token" not in sources.values  # unset: exactly what auth will fill in
    assert sources.shadowing == {"SET_IN_SHELL"}
    assert sources.env_file == tmp_path / "var" / "secrets.env"


def test_account_sources_name_the_accounts_there_are(tmp_path: Path) -> None:
    config = write_config(tmp_path, MASTODON)
    with pytest.raises(ConfigError, match=r"accounts.nope: no such account \(accounts: toots\)"):
        account_sources(config, "nope", environ={})


# ------------------------------------------------------------------- listener


def test_the_listener_answers_one_callback_and_404s_anything_else() -> None:
    with RedirectListener(0, timeout=5) as listener:
        listener.expect(state="abc")
        base = listener.redirect_uri.removesuffix("/callback")
        assert requests.get(f"{base}/favicon.ico", timeout=5).status_code == 404
        first = requests.get(f"{listener.redirect_uri}?state=abc&code=c0de", timeout=5)
        again = requests.get(f"{listener.redirect_uri}?state=abc&code=other", timeout=5)
        assert listener.wait().params == {"state": "abc", "code": "c0de"}
    assert (first.status_code, again.status_code) == (200, 409)


def test_the_listener_escapes_what_the_platform_says() -> None:
    with RedirectListener(0, timeout=5) as listener:
        listener.expect(state="abc")
        page = requests.get(
            listener.redirect_uri,
            params={"state": "abc", "error": "x", "error_description": "<script>alert(1)</script>"},
            timeout=5,
        )
        with pytest.raises(SetupError, match="access was not granted"):
            listener.wait()
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SetupError, match=f"cannot listen on 127.0.0.1:{port}.*pass --port"):
            RedirectListener(port, timeout=1).__enter__()
