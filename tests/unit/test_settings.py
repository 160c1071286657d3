from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.errors import ConfigError
from syndicate.model import Secret
from syndicate.settings import load

MASTODON = """
[[feeds]]
name = "blog"
url = "https://blog.example.com/feeds/posts/default"
accounts = ["toots"]

[accounts.toots]
platform = "mastodon"
base_url = "https://mastodon.example"
access_token = "${MASTODON_TOKEN}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syndicate.toml"
    path.write_text(text)
    return path


def test_secret_is_read_from_the_environment_and_never_shown(tmp_path: Path) -> None:
    settings = load(write(tmp_path, MASTODON), {"MASTODON_TOKEN": "s3cret"})
    token = settings.accounts["toots"].options["access_token"]
    assert isinstance(token, Secret)
    assert token.reveal() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.warnings == ()


def test_missing_environment_variable_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, MASTODON)
    with pytest.raises(ConfigError) as info:
        load(path, {})
    message = str(info.value)
    assert str(path) in message
    assert "accounts.toots.access_token" in message
    assert "MASTODON_TOKEN" in message


def test_literal_secret_is_allowed_with_a_warning(tmp_path: Path) -> None:
    text = MASTODON.replace('"${MASTODON_TOKEN}"', '"literal-token"')
    settings = load(write(tmp_path, text), {})
    assert settings.accounts["toots"].option("access_token") == "literal-token"
    assert any("literal secret" in w for w in settings.warnings)
    assert all("literal-token" not in w for w in settings.warnings)


def test_secret_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    text = MASTODON.replace('access_token = "${MASTODON_TOKEN}"', 'access_token_file = "token"')
    settings = load(write(tmp_path, text), {})
    assert settings.accounts["toots"].option("access_token") == "from-file"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[syndicate]\ndata_dirr = 'x'\n", "syndicate.data_dirr"),
        (MASTODON.replace("base_url", "base_ur1"), "accounts.toots.base_ur1"),
        (MASTODON.replace('accounts = ["toots"]', 'accounts = ["nope"]'), "feeds[0].accounts"),
        (MASTODON.replace('platform = "mastodon"', 'platform = "myspace"'), "platform"),
        ("[syndicate]\npoll_interval = 'often'\n", "syndicate.poll_interval"),
        (MASTODON + "\n[[feeds]]\nname='blog'\nurl='x.xml'\n", "feeds.blog"),
        (MASTODON.replace("https://blog.example.com", "ftp://blog.example.com"), "feeds[0].url"),
        ("[surprise]\n", "surprise"),
        (
            MASTODON.replace('accounts = ["toots"]', 'accounts = ["toots"]\nbackfill = -1'),
            "backfill",
        ),
    ],
)
def test_bad_config_stops_startup_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, {"MASTODON_TOKEN": "t"})
    assert key in str(info.value)
    assert str(path) in str(info.value)


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[syndicate\n"), {})


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml", {})


def test_no_config_named_at_all_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SYNDICATE_CONFIG"):
        load(None, {})


def test_environment_overrides_and_defaults(tmp_path: Path) -> None:
    env = {
        "MASTODON_TOKEN": "t",
        "SYNDICATE_BROKER_URL": "redis://127.0.0.1:6379/3",
        "SYNDICATE_POLL_INTERVAL": "2m",
    }
    settings = load(write(tmp_path, MASTODON), env)
    assert settings.broker_url == "redis://127.0.0.1:6379/3"
    assert not settings.embedded_broker
    assert settings.poll_interval == 120.0
    assert settings.feeds[0].interval == 120.0
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'syndicate.db'}"
    assert settings.feeds[0].backfill == 0


def test_config_path_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    settings = load(None, {"SYNDICATE_CONFIG": str(path)})
    assert settings.source == path
    assert settings.embedded_broker


def test_local_feed_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    text = "[[feeds]]\nname = 'local'\nurl = 'demo/feed.atom'\n"
    settings = load(write(tmp_path, text), {})
    assert settings.feeds[0].is_path
    assert settings.feeds[0].url == str(tmp_path / "demo" / "feed.atom")


def test_the_demo_config_loads() -> None:
    settings = load(Path(__file__).resolve().parents[2] / "config" / "demo.toml", {})
    assert [f.name for f in settings.feeds] == ["notes-from-the-road"]
    assert settings.accounts["preview"].platform == "log"
