from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest

from syndicate.errors import ConfigError
from syndicate.model import Account, Secret
from syndicate.platforms import platform_names, publisher_class
from syndicate.platforms.mastodon import MastodonPublisher
from syndicate.settings import load
from tests.fakes.mastodon import FakeMastodon

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
    assert str(info.value) == (
        f"{path}: accounts.toots.access_token: environment variable MASTODON_TOKEN is not set"
    )


def test_missing_environment_variable_in_syndicate_table_is_named_once(tmp_path: Path) -> None:
    path = write(tmp_path, '[syndicate]\nbroker_url = "${BROKER}"\n')
    with pytest.raises(ConfigError) as info:
        load(path, {})
    assert (
        str(info.value) == f"{path}: syndicate.broker_url: environment variable BROKER is not set"
    )


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


def test_composition_options_are_typed_and_validated(tmp_path: Path) -> None:
    text = MASTODON + (
        'link = "when_truncated"\nhashtags = false\nmax_hashtags = 2\nthread = true\n'
        'categories_deny = ["Uncategorized"]\n'
    )
    compose = load(write(tmp_path, text), {"MASTODON_TOKEN": "t"}).accounts["toots"].compose
    assert (compose.link, compose.hashtags, compose.max_hashtags, compose.thread) == (
        "when_truncated",
        False,
        2,
        True,
    )
    assert compose.categories_deny == ("Uncategorized",)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('link = "sometimes"', "accounts.toots.link"),
        ("hashtags = 1", "accounts.toots.hashtags"),
        ("max_hashtags = true", "accounts.toots.max_hashtags"),
        ('categories_allow = "Web"', "accounts.toots.categories_allow"),
    ],
)
def test_bad_composition_option_names_the_key(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(write(tmp_path, MASTODON + line + "\n"), {"MASTODON_TOKEN": "t"})


def test_summarise_table_with_a_model_endpoint(tmp_path: Path) -> None:
    text = (
        '[summarise]\nllm_base_url = "http://127.0.0.1:8080/v1"\nllm_model = "small"\n'
        'llm_api_key = "${LLM_KEY}"\nllm_timeout = "5s"\nfetch_pages = false\n'
    )
    summarise = load(write(tmp_path, text), {"LLM_KEY": "k-123"}).summarise
    assert summarise.llm_enabled
    assert summarise.llm_api_key.reveal() == "k-123"
    assert summarise.llm_timeout == 5.0
    assert not summarise.fetch_pages


def test_summarise_defaults_fetch_pages_and_no_model(tmp_path: Path) -> None:
    summarise = load(write(tmp_path, ""), {}).summarise
    assert summarise.fetch_pages and not summarise.llm_enabled


def test_unknown_summarise_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"summarise\.llm_modle"):
        load(write(tmp_path, '[summarise]\nllm_modle = "x"\n'), {})


def test_web_table_defaults_to_loopback_and_no_websub(tmp_path: Path) -> None:
    web = load(write(tmp_path, ""), {}).web
    assert (web.bind, web.host_port, web.public_url) == ("127.0.0.1:8080", ("127.0.0.1", 8080), "")


def test_web_table_is_read_and_validated(tmp_path: Path) -> None:
    text = '[web]\nbind = "[::1]:9000"\npublic_url = "${PUBLIC}"\n'
    web = load(write(tmp_path, text), {"PUBLIC": "https://syndicate.example/"}).web
    assert (web.host_port, web.public_url) == (("::1", 9000), "https://syndicate.example")


@pytest.mark.parametrize("key", ["passwd", "bnid"])
def test_unknown_web_key_is_named(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"web\.{key}: unknown key"):
        load(write(tmp_path, f'[web]\n{key} = "x"\n'), {})


def with_line(line: str) -> str:
    """MASTODON with one more line in [accounts.toots]."""
    return MASTODON + line + "\n"


def with_option(key: str, value: str) -> str:
    """MASTODON with [accounts.toots] `key` set to the TOML `value` (replacing it if present)."""
    lines = [ln for ln in MASTODON.splitlines() if not ln.startswith(f"{key} =")]
    return "\n".join(lines) + f"\n{key} = {value}\n"


# (config text, environment, key named, words the message must contain)
BAD_VALUES = [
    # 1. durations: above zero, finite, at most 30 days; timeouts at most 5 minutes
    ("[syndicate]\npoll_interval = inf\n", {}, "syndicate.poll_interval", "at most 30d"),
    ("[syndicate]\npoll_interval = nan\n", {}, "syndicate.poll_interval", "above 0"),
    ("[syndicate]\npoll_interval = '99999999999d'\n", {}, "syndicate.poll_interval", "30d"),
    ("[syndicate]\npoll_interval = '31d'\n", {}, "syndicate.poll_interval", "at most 30d"),
    ("[syndicate]\npoll_interval = 0\n", {}, "syndicate.poll_interval", "above 0"),
    ("", {"SYNDICATE_POLL_INTERVAL": "99999999999d"}, "SYNDICATE_POLL_INTERVAL", "30d"),
    ("[syndicate]\nfetch_timeout = '6m'\n", {}, "syndicate.fetch_timeout", "at most 5m"),
    ("[syndicate]\nfetch_timeout = 301\n", {}, "syndicate.fetch_timeout", "at most 5m"),
    ("[summarise]\nllm_timeout = '1h'\n", {}, "summarise.llm_timeout", "at most 5m"),
    ("[summarise]\nllm_timeout = 'soon'\n", {}, "summarise.llm_timeout", "duration"),
    (
        MASTODON.replace('accounts = ["toots"]', 'accounts = ["toots"]\ninterval = inf'),
        {},
        "feeds[0].interval",
        "at most 30d",
    ),
    # 2. max_feed_bytes: 1 KiB to 1 GiB
    ("[syndicate]\nmax_feed_bytes = 1023\n", {}, "syndicate.max_feed_bytes", "1024 to"),
    ("[syndicate]\nmax_feed_bytes = 0\n", {}, "syndicate.max_feed_bytes", "1024 to"),
    ("[syndicate]\nmax_feed_bytes = 1073741825\n", {}, "syndicate.max_feed_bytes", "1 GiB"),
    ("", {"SYNDICATE_MAX_FEED_BYTES": "12"}, "SYNDICATE_MAX_FEED_BYTES", "1024 to"),
    # 3. database_url and broker_url
    ("[syndicate]\ndatabase_url = 'mysql://u:pw@h/db'\n", {}, "syndicate.database_url", "mysql://"),
    (
        "[syndicate]\ndatabase_url = 'postgres://u:pw@h/db'\n",
        {},
        "syndicate.database_url",
        "sqlite",
    ),
    ("[syndicate]\ndatabase_url = 'syndicate.db'\n", {}, "syndicate.database_url", "parse"),
    ("[syndicate]\ndatabase_url = 'postgresql://h:x/db'\n", {}, "syndicate.database_url", "sqlite"),
    ("[syndicate]\nbroker_url = 'amqp://u:pw@h//'\n", {}, "syndicate.broker_url", "rediss://"),
    ("[syndicate]\nbroker_url = '127.0.0.1:6379'\n", {}, "syndicate.broker_url", "redis://"),
    # 4. a required secret that resolves to nothing
    (MASTODON, {"MASTODON_TOKEN": ""}, "accounts.toots.access_token", "MASTODON_TOKEN is empty"),
    (MASTODON, {"MASTODON_TOKEN": " \n"}, "accounts.toots.access_token", "is empty"),
    (with_option("access_token", '""'), {}, "accounts.toots.access_token", "empty"),
    (
        with_line('access_token_file = "token"'),
        {"MASTODON_TOKEN": "t"},
        "accounts.toots.access_token",
        "not both",
    ),
    # 5. OptionSpec choices, url, pattern and minimum
    (with_line('visibility = "friends"'), {}, "accounts.toots.visibility", "public, unlisted"),
    (with_option("base_url", '"mastodon.example"'), {}, "accounts.toots.base_url", "http(s)"),
    (with_option("base_url", '"https://"'), {}, "accounts.toots.base_url", "with a host"),
    (with_option("base_url", '"ftp://m.example"'), {}, "accounts.toots.base_url", "http(s)"),
    (with_option("base_url", '"https://m.example:99999"'), {}, "accounts.toots.base_url", "URL"),
    (with_option("base_url", '""'), {}, "accounts.toots.base_url", "empty"),
    (with_line('language = "english"'), {}, "accounts.toots.language", "2-3 lowercase letters"),
    (with_line('language = "EN"'), {}, "accounts.toots.language", "2-3 lowercase letters"),
    (with_line("max_characters = -1"), {}, "accounts.toots.max_characters", ">= 0"),
    ('[summarise]\nllm_base_url = "localhost:8080"\n', {}, "summarise.llm_base_url", "http(s)"),
    ('[web]\nbind = "8080"\n', {}, "web.bind", "HOST:PORT"),
    ('[web]\nbind = "0.0.0.0:99999"\n', {}, "web.bind", "1 to 65535"),
    ('[web]\nbind = "::1:8080"\n', {}, "web.bind", "HOST:PORT"),
    ("[web]\nbind = 8080\n", {}, "web.bind", "string"),
    ('[web]\npublic_url = "syndicate.example"\n', {}, "web.public_url", "http(s)"),
    ('[web]\npublic_url = "https://s.example/?x=1"\n', {}, "web.public_url", "base URL"),
    ('[web]\npublic_url = "${NOPE}"\n', {}, "web.public_url", "NOPE is not set"),
    # 6. templates
    (with_line('template = "{titel}\\n{url}"'), {}, "accounts.toots.template", "{title}?"),
    (with_line('template = "{title"'), {}, "accounts.toots.template", "malformed"),
    (with_line('template = "{title}}"'), {}, "accounts.toots.template", "malformed"),
    (with_line('template = "{title!r}"'), {}, "accounts.toots.template", "conversion"),
    (with_line('template = "{url:>80}"'), {}, "accounts.toots.template", "format"),
    (with_line('template = "{0} {url}"'), {}, "accounts.toots.template", "unknown"),
    (with_line('template = "{}"'), {}, "accounts.toots.template", "unknown"),
    (with_line('template = " "'), {}, "accounts.toots.template", "empty"),
]


@pytest.mark.parametrize(("text", "env", "key", "words"), BAD_VALUES)
def test_bad_value_stops_startup_naming_the_file_and_key_once(
    tmp_path: Path, text: str, env: dict[str, str], key: str, words: str
) -> None:
    path = write(tmp_path, text)
    (tmp_path / "token").write_text("t")
    with pytest.raises(ConfigError) as info:
        load(path, {"MASTODON_TOKEN": "t", **env})
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: ")
    assert message.count(str(path)) == 1
    assert message.count(f"{key}:") == 1
    assert words in message


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        ("[syndicate]\ndatabase_url = 'mysql://u:hunter2@h/db'\n", {}, "database_url"),
        ("[syndicate]\ndatabase_url = 'postgresql://u:hunter2@h:x/db'\n", {}, "database_url"),
        ("[syndicate]\nbroker_url = 'amqp://u:hunter2@h//'\n", {}, "broker_url"),
        ("[syndicate]\nbroker_url = 'u:hunter2@h'\n", {}, "broker_url"),
        ("", {"SYNDICATE_DATABASE_URL": "mysql://u:hunter2@h/db"}, "DATABASE_URL"),
        (with_option("access_token", '["hunter2"]'), {}, "access_token"),
    ],
)
def test_errors_about_urls_and_secrets_never_show_the_password(
    tmp_path: Path, text: str, env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError, match=key) as info:
        load(write(tmp_path, text), env)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("[syndicate]\npoll_interval = '30d'\nfetch_timeout = '5m'\n", {}),
        ("[syndicate]\npoll_interval = 2592000\nfetch_timeout = 300.0\n", {}),
        ("[syndicate]\nmax_feed_bytes = 1024\n", {}),
        ("[syndicate]\nmax_feed_bytes = 1073741824\n", {}),
        ("", {"SYNDICATE_MAX_FEED_BYTES": "2048"}),
        ("[syndicate]\ndatabase_url = 'postgresql+psycopg://u:p@db.example:5432/s'\n", {}),
        ("[syndicate]\ndatabase_url = 'postgresql://u:p@db.example/s'\n", {}),
        ("[syndicate]\ndatabase_url = 'sqlite:///var/x.db'\n", {}),
        ("[syndicate]\ndatabase_url = '${DATABASE_URL}'\n", {"DATABASE_URL": "sqlite://"}),
        ("[syndicate]\nbroker_url = 'rediss://:p@cache.example:6380/0'\n", {}),
        ("[syndicate]\nbroker_url = ''\n", {}),
        ("[summarise]\nllm_timeout = '5m'\nllm_base_url = 'http://127.0.0.1:8080/v1'\n", {}),
        ('[summarise]\nllm_api_key = "${LLM_KEY}"\n', {"LLM_KEY": ""}),  # optional: empty is fine
        (with_line('visibility = "direct"\nlanguage = "fil"'), {}),
        (with_line('language = ""\nmax_characters = 0'), {}),
        (with_option("base_url", '"http://127.0.0.1:3000/"'), {}),
        (with_line('template = "{title} by {author} {{literal}}\\n{categories}\\n{url}"'), {}),
        (with_line('template = """\n{title}\n\n{summary}\n\n{hashtags}\n{url}"""'), {}),
    ],
)
def test_good_values_load(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    load(write(tmp_path, text), {"MASTODON_TOKEN": "t", **env})


def test_multiline_template_keeps_its_newlines(tmp_path: Path) -> None:
    text = with_line('template = """{title}\n\n{url}"""')
    account = load(write(tmp_path, text), {"MASTODON_TOKEN": "t"}).accounts["toots"]
    assert account.template == "{title}\n\n{url}"


def test_limits_are_parsed_to_seconds_and_bytes(tmp_path: Path) -> None:
    text = "[syndicate]\npoll_interval = '30d'\nfetch_timeout = '5m'\nmax_feed_bytes = '2048'\n"
    settings = load(write(tmp_path, text), {})
    assert (settings.poll_interval, settings.fetch_timeout) == (30 * 86400.0, 300.0)
    assert settings.max_feed_bytes == 2048


@pytest.mark.parametrize(("content", "loads"), [("", False), ("\n", False), ("tok\n", True)])
def test_secret_file_must_not_be_empty_for_a_required_option(
    tmp_path: Path, content: str, loads: bool
) -> None:
    (tmp_path / "token").write_text(content)
    text = MASTODON.replace('access_token = "${MASTODON_TOKEN}"', 'access_token_file = "token"')
    path = write(tmp_path, text)
    if loads:
        assert load(path, {}).accounts["toots"].option("access_token") == "tok"
        return
    with pytest.raises(ConfigError) as info:
        load(path, {})
    assert str(info.value).startswith(f"{path}: accounts.toots.access_token_file: ")
    assert "is empty" in str(info.value)


def test_an_empty_literal_optional_secret_is_not_warned_about(tmp_path: Path) -> None:
    settings = load(write(tmp_path, '[summarise]\nllm_api_key = ""\n'), {})
    assert settings.warnings == ()


@pytest.mark.parametrize("platform", platform_names())
def test_every_platform_default_is_one_of_its_choices(platform: str) -> None:
    for spec in publisher_class(platform).OPTIONS:
        assert not spec.choices or spec.default in spec.choices, spec.name


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def mastodon_account(base_url: str) -> Account:
    return Account("toots", "mastodon", options={"base_url": base_url, "access_token": Secret("t")})


def test_failed_instance_lookup_warns_uses_500_and_asks_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = MastodonPublisher(mastodon_account(f"http://127.0.0.1:{closed_port()}"), timeout=2)
    with caplog.at_level(logging.WARNING, logger="syndicate.platforms.mastodon"):
        assert publisher.limit == 500
    assert [r.name for r in caplog.records] == ["syndicate.platforms.mastodon"]
    assert "/api/v2/instance" in caplog.records[0].getMessage()
    with FakeMastodon(token="t", max_characters=5000) as instance:
        publisher.base_url = instance.base_url  # the instance is back
        assert publisher.limit == 5000
        assert publisher.limit == 5000
        lookups = [r for r in instance.requests if r[1] == "/api/v2/instance"]
    assert len(lookups) == 1  # a real answer is kept
    assert publisher.limit == 5000  # even once the instance is gone again


def test_a_bare_postgresql_url_uses_the_psycopg_driver_we_ship(tmp_path: Path) -> None:
    text = '[syndicate]\ndatabase_url = "postgresql://u:p@db.example:5432/syndicate"\n'
    settings = load(write(tmp_path, text), {})
    assert settings.database_url == "postgresql+psycopg://u:p@db.example:5432/syndicate"


def test_feed_filters_and_routes(tmp_path: Path) -> None:
    text = MASTODON.replace(
        'accounts = ["toots"]',
        'accounts = ["toots"]\ninclude = ["Web"]\nexclude = ["Drafts"]\n'
        'routes = [{category = "Photos", accounts = ["toots"]}]',
    )
    rules = load(write(tmp_path, text), {"MASTODON_TOKEN": "t"}).feeds[0].rules
    assert (rules.include, rules.exclude, rules.routes) == (
        ("Web",),
        ("Drafts",),
        (("Photos", ("toots",)),),
    )


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('include = "Web"', "feeds[0].include"),
        ('routes = [{category = "P", accounts = ["nobody"]}]', "feeds[0].routes[0].accounts"),
        ('routes = [{category = "P"}]', "feeds[0].routes[0]"),
    ],
)
def test_bad_feed_rules_name_the_key(tmp_path: Path, line: str, key: str) -> None:
    text = MASTODON.replace('accounts = ["toots"]', f'accounts = ["toots"]\n{line}')
    with pytest.raises(ConfigError, match=re.escape(key)):
        load(write(tmp_path, text), {"MASTODON_TOKEN": "t"})
