"""The only reader of config files and the environment. Validates everything once, at start-up.

A config is a TOML file (``--config`` or ``SYNDICATE_CONFIG``). Every key of ``[syndicate]``
can be overridden by ``SYNDICATE_<KEY>`` in the environment. A string value written as
``${NAME}`` is read from the environment variable NAME; a secret option ``x`` may instead be
given as ``x_file = "/path"``. Unknown keys and bad values stop start-up with an error that
names the file and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from syndicate.errors import ConfigError
from syndicate.model import Account, OptionSpec, Secret
from syndicate.platforms import platform_names, publisher_class

DEFAULT_TEMPLATE = "{title}\n\n{summary}\n\n{url}"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    is_path: bool
    accounts: tuple[str, ...]
    backfill: int = 0
    interval: float = 900.0


@dataclass(frozen=True)
class Settings:
    source: Path | None
    data_dir: Path
    database_url: str
    broker_url: str
    poll_interval: float
    fetch_timeout: float
    max_feed_bytes: int
    user_agent: str
    feeds: tuple[FeedConfig, ...] = ()
    accounts: Mapping[str, Account] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    def feed(self, name: str) -> FeedConfig:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        known = ", ".join(f.name for f in self.feeds) or "none"
        raise ConfigError(f"no feed named {name!r} in {self.source} (feeds: {known})")


# [syndicate] keys: name -> (parser, default). Each is overridable by SYNDICATE_<NAME>.
def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _duration(value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or float(match[1]) <= 0:
        raise ConfigError(f"{where}: expected a duration like '30s', '15m' or '2h', got {value!r}")
    return float(match[1]) * _UNITS[match[2]]


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}: expected a whole number >= 0, got {value!r}")
    return value


_CORE_KEYS: dict[str, tuple[Any, Any]] = {
    "data_dir": (_str, "var"),
    "database_url": (_str, ""),
    "broker_url": (_str, ""),
    "poll_interval": (_duration, "15m"),
    "fetch_timeout": (_duration, "15s"),
    "max_feed_bytes": (_positive_int, 10 * 1024 * 1024),
    "user_agent": (_str, "syndicate/0.1 (+https://github.com/syndicate)"),
}
_FEED_KEYS = {"name", "url", "accounts", "backfill", "interval"}
_ACCOUNT_KEYS = {"platform", "template"}


class _Loader:
    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.base = path.parent
        self.environ = environ
        self.warnings: list[str] = []

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {message}")

    def load(self) -> Settings:
        try:
            raw = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{self.path}: config file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{self.path}: cannot read config: {e}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{self.path}: not valid TOML: {e}") from e
        unknown = set(raw) - {"syndicate", "feeds", "accounts"}
        if unknown:
            raise self.fail(sorted(unknown)[0], "unknown top-level key or table")
        core = self.core(self.table(raw, "syndicate"))
        accounts = self.accounts(self.table(raw, "accounts"))
        feeds = self.feeds(raw.get("feeds", []), accounts, core["poll_interval"])
        return Settings(
            source=self.path,
            feeds=feeds,
            accounts=accounts,
            warnings=tuple(self.warnings),
            **core,
        )

    def table(self, raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(name, "expected a table")
        return value

    def core(self, table: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(table) - set(_CORE_KEYS)
        if unknown:
            raise self.fail(f"syndicate.{sorted(unknown)[0]}", "unknown key")
        values: dict[str, Any] = {}
        for key, (parse, default) in _CORE_KEYS.items():
            env_name = f"SYNDICATE_{key.upper()}"
            where = env_name if env_name in self.environ else f"syndicate.{key}"
            raw_value = self.environ.get(env_name, table.get(key, default))
            try:
                values[key] = parse(self.interpolate(raw_value, where), where)
            except ConfigError as e:
                raise self.fail(where, str(e).removeprefix(f"{where}: ")) from None
        values["data_dir"] = self.resolve_path(values["data_dir"])
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{values['data_dir'] / 'syndicate.db'}"
        return values

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base / path).resolve()

    def interpolate(self, value: Any, where: str) -> Any:
        if not isinstance(value, str):
            return value
        match = _ENV_REF.match(value)
        if not match:
            return value
        if match[1] not in self.environ:
            raise self.fail(where, f"environment variable {match[1]} is not set")
        return self.environ[match[1]]

    def accounts(self, table: Mapping[str, Any]) -> dict[str, Account]:
        accounts: dict[str, Account] = {}
        for name, body in table.items():
            where = f"accounts.{name}"
            if not _NAME.match(name):
                raise self.fail(where, "account names use a-z, 0-9, '-' and '_'")
            if not isinstance(body, dict):
                raise self.fail(where, "expected a table")
            accounts[name] = self.account(name, body)
        return accounts

    def account(self, name: str, body: Mapping[str, Any]) -> Account:
        where = f"accounts.{name}"
        platform = body.get("platform")
        if platform == "twitter":
            platform = "x"
        if platform not in platform_names():
            known = ", ".join(platform_names())
            raise self.fail(f"{where}.platform", f"expected one of {known}, got {platform!r}")
        specs = {spec.name: spec for spec in publisher_class(platform).OPTIONS}
        allowed = _ACCOUNT_KEYS | set(specs) | {f"{s}_file" for s, o in specs.items() if o.secret}
        unknown = set(body) - allowed
        if unknown:
            raise self.fail(f"{where}.{sorted(unknown)[0]}", f"unknown key for {platform}")
        template = self.interpolate(body.get("template", DEFAULT_TEMPLATE), f"{where}.template")
        options = {s.name: self.option(where, s, body) for s in specs.values()}
        present = {k: v for k, v in options.items() if v is not None}
        return Account(
            name=name, platform=platform, template=_str(template, where), options=present
        )

    def option(
        self, where: str, spec: OptionSpec, body: Mapping[str, Any]
    ) -> str | int | bool | Secret | None:
        key = f"{where}.{spec.name}"
        if spec.secret and f"{spec.name}_file" in body:
            return Secret(self.read_secret_file(f"{key}_file", body[f"{spec.name}_file"]))
        if spec.name not in body:
            if spec.required:
                raise self.fail(key, "required")
            return spec.default
        value = body[spec.name]
        if spec.secret and isinstance(value, str) and not _ENV_REF.match(value):
            self.warnings.append(
                f"{self.path}: {key} is a literal secret; write it as ${{ENV_NAME}} instead"
            )
        value = self.interpolate(value, key)
        if spec.kind is bool and not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        if spec.kind is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise self.fail(key, f"expected a whole number, got {value!r}")
        if spec.kind is str and not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {value!r}")
        return Secret(value) if spec.secret else value

    def read_secret_file(self, where: str, value: Any) -> str:
        path = self.resolve_path(_str(value, where))
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise self.fail(where, f"cannot read secret file: {e.strerror}") from None

    def feeds(
        self, items: Any, accounts: Mapping[str, Account], default_interval: float
    ) -> tuple[FeedConfig, ...]:
        if not isinstance(items, list):
            raise self.fail("feeds", "expected [[feeds]] tables")
        feeds = tuple(
            self.feed(i, item, accounts, default_interval) for i, item in enumerate(items)
        )
        names = [f.name for f in feeds]
        for name in names:
            if names.count(name) > 1:
                raise self.fail(f"feeds.{name}", "feed names must be unique")
        return feeds

    def feed(
        self, index: int, item: Any, accounts: Mapping[str, Account], default_interval: float
    ) -> FeedConfig:
        where = f"feeds[{index}]"
        if not isinstance(item, dict):
            raise self.fail(where, "expected a table")
        unknown = set(item) - _FEED_KEYS
        if unknown:
            raise self.fail(f"{where}.{sorted(unknown)[0]}", "unknown key")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(f"{where}.name", "required; use a-z, 0-9, '-' and '_'")
        url, is_path = self.feed_url(f"{where}.url", item.get("url"))
        routed = item.get("accounts", [])
        if not isinstance(routed, list) or not all(isinstance(a, str) for a in routed):
            raise self.fail(f"{where}.accounts", "expected a list of account names")
        for account in routed:
            if account not in accounts:
                raise self.fail(f"{where}.accounts", f"no [accounts.{account}] table")
        try:
            backfill = _positive_int(item.get("backfill", 0), f"{where}.backfill")
            interval = _duration(item.get("interval", default_interval), f"{where}.interval")
        except ConfigError as e:
            raise ConfigError(f"{self.path}: {e}") from None
        return FeedConfig(name, url, is_path, tuple(routed), backfill, interval)

    def feed_url(self, where: str, value: Any) -> tuple[str, bool]:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "required: an http(s) URL or a local file path")
        value = self.interpolate(value.strip(), where)
        scheme = urlsplit(value).scheme.lower()
        if scheme in ("http", "https"):
            return value, False
        if scheme and len(scheme) > 1:
            raise self.fail(where, f"only http, https or a file path, not {scheme}:")
        return str(self.resolve_path(value)), True


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the config named by `path`, else by SYNDICATE_CONFIG."""
    env = os.environ if environ is None else environ
    chosen = path or env.get("SYNDICATE_CONFIG")
    if not chosen:
        raise ConfigError("no config file: pass --config PATH or set SYNDICATE_CONFIG")
    return _Loader(Path(chosen).expanduser().resolve(), env).load()
