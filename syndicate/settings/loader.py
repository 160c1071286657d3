"""Reads one TOML file (and the environment it names) into Settings."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from syndicate.errors import ConfigError
from syndicate.feeds.filters import FeedRules
from syndicate.model import (
    LINK_ALWAYS,
    LINK_WHEN_TRUNCATED,
    Account,
    ComposeOptions,
    DeliveryOptions,
    OptionSpec,
    Secret,
)
from syndicate.platforms import platform_names, publisher_class
from syndicate.settings.envfile import read_env_file
from syndicate.settings.schema import FeedConfig, Settings, SummariseConfig, WebConfig
from syndicate.settings.values import (
    _ACCOUNT_KEYS,
    _COMPOSE_KEYS,
    _CORE_KEYS,
    _DELIVERY_KEYS,
    _ENV_REF,
    _FEED_KEYS,
    _INTERVAL,
    _NAME,
    _SUMMARISE_OPTIONS,
    _TIMEOUT,
    _WEB_KEYS,
    _WEB_PASSWORD,
    _http_url,
    _Invalid,
    _option_value,
    _str,
    _template,
    _whole_number,
)


class _Loader:
    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.base = path.parent
        self.environ = environ
        self.file_env: Mapping[str, str] = {}  # the env file: `${VAR}`s the environment lacks
        self.warnings: list[str] = []

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {message}")

    def checked(self, where: str, parse: Callable[[Any], Any], value: Any) -> Any:
        try:
            return parse(value)
        except _Invalid as e:
            raise self.fail(where, str(e)) from None

    def load(self) -> Settings:
        return self.build(self.read())

    def read(self) -> dict[str, Any]:
        try:
            raw = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{self.path}: config file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{self.path}: cannot read config: {e}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{self.path}: not valid TOML: {e}") from e
        return raw

    def build(self, raw: Mapping[str, Any]) -> Settings:
        unknown = set(raw) - {"syndicate", "feeds", "accounts", "summarise", "web"}
        if unknown:
            raise self.fail(sorted(unknown)[0], "unknown top-level key or table")
        core = self.core(self.table(raw, "syndicate"))
        accounts = self.accounts(self.table(raw, "accounts"))
        summarise = self.summarise(self.table(raw, "summarise"))
        web = self.web(self.table(raw, "web"))
        feeds = self.feeds(raw.get("feeds", []), accounts, core["poll_interval"])
        return Settings(
            source=self.path,
            feeds=feeds,
            accounts=accounts,
            summarise=summarise,
            web=web,
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
        env_file = self.load_env_file(table)
        for key, (parse, default) in _CORE_KEYS.items():
            env_name = f"SYNDICATE_{key.upper()}"
            where = env_name if env_name in self.environ else f"syndicate.{key}"
            raw_value = self.environ.get(env_name, table.get(key, default))
            values[key] = self.checked(where, parse, self.interpolate(raw_value, where))
        values["data_dir"] = self.resolve_path(values["data_dir"])
        values["env_file"] = env_file
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
        if match[1] in self.environ:  # the real environment wins over the env file
            return self.environ[match[1]]
        if match[1] in self.file_env:
            return self.file_env[match[1]]
        raise self.fail(where, f"environment variable {match[1]} is not set")

    def load_env_file(self, table: Mapping[str, Any]) -> Path:
        """Read the env file before any other value is interpolated, so a `${VAR}` anywhere can
        come from it. Its own location (env_file, data_dir) comes from the real environment."""
        raw: dict[str, str] = {}
        for key in ("data_dir", "env_file"):
            env_name = f"SYNDICATE_{key.upper()}"
            where = env_name if env_name in self.environ else f"syndicate.{key}"
            value = self.environ.get(env_name, table.get(key, _CORE_KEYS[key][1]))
            raw[key] = self.checked(where, _str, self.interpolate(value, where))
        path = self.resolve_path(raw["env_file"] or str(Path(raw["data_dir"]) / "secrets.env"))
        self.file_env, warning = read_env_file(path)
        if warning:
            self.warnings.append(warning)
        return path

    def summarise(self, table: Mapping[str, Any]) -> SummariseConfig:
        allowed = {s.name for s in _SUMMARISE_OPTIONS} | {"llm_api_key_file", "llm_timeout"}
        unknown = set(table) - allowed
        if unknown:
            raise self.fail(f"summarise.{sorted(unknown)[0]}", "unknown key")
        values = {s.name: self.option("summarise", s, table) for s in _SUMMARISE_OPTIONS}
        key = values["llm_api_key"]
        where = "summarise.llm_timeout"
        timeout = self.interpolate(table.get("llm_timeout", "20s"), where)
        return SummariseConfig(
            fetch_pages=bool(values["fetch_pages"]),
            llm_base_url=str(values["llm_base_url"]),
            llm_model=str(values["llm_model"]),
            llm_api_key=key if isinstance(key, Secret) else Secret(str(key or "")),
            llm_timeout=self.checked(where, _TIMEOUT, timeout),
        )

    def web(self, table: Mapping[str, Any]) -> WebConfig:
        unknown = set(table) - set(_WEB_KEYS) - {"password", "password_file"}
        if unknown:
            raise self.fail(f"web.{sorted(unknown)[0]}", "unknown key")
        values = {
            key: self.checked(
                f"web.{key}", parse, self.interpolate(table.get(key, default), f"web.{key}")
            )
            for key, (parse, default) in _WEB_KEYS.items()
        }
        password = self.option("web", _WEB_PASSWORD, table)
        values["password"] = password if isinstance(password, Secret) else Secret("")
        return WebConfig(**values)

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
        publisher = publisher_class(platform)
        specs = {spec.name: spec for spec in publisher.OPTIONS}
        allowed = _ACCOUNT_KEYS | set(specs) | {f"{s}_file" for s, o in specs.items() if o.secret}
        unknown = set(body) - allowed
        if unknown:
            raise self.fail(f"{where}.{sorted(unknown)[0]}", f"unknown key for {platform}")
        options = {s.name: self.option(where, s, body) for s in specs.values()}
        present = {k: v for k, v in options.items() if v is not None}
        # Rules across keys (X: OAuth 1.0a keys or OAuth 2.0 keys) belong to the platform.
        check = getattr(publisher, "validate_options", None)
        if check is not None and (problem := check(present)):
            raise self.fail(where, str(problem))
        compose = self.compose_options(where, body)
        delivery = self.delivery_options(where, body)
        return Account(
            name=name, platform=platform, compose=compose, delivery=delivery, options=present
        )

    def delivery_options(self, where: str, body: Mapping[str, Any]) -> DeliveryOptions:
        values = {
            key: self.checked(
                f"{where}.{key}", parse, self.interpolate(body[key], f"{where}.{key}")
            )
            for key, parse in _DELIVERY_KEYS.items()
            if key in body
        }
        options = DeliveryOptions(**values)
        if options.retry_cap < options.retry_base:
            raise self.fail(f"{where}.retry_cap", "expected at least retry_base")
        return options

    def compose_options(self, where: str, body: Mapping[str, Any]) -> ComposeOptions:
        """The composition keys every account shares, typed like ComposeOptions' defaults."""
        values: dict[str, Any] = {}
        for key in _COMPOSE_KEYS & set(body):
            default = getattr(ComposeOptions(), key)
            value = self.interpolate(body[key], f"{where}.{key}")
            values[key] = self.typed_like(f"{where}.{key}", value, default)
        if values.get("link", LINK_ALWAYS) not in (LINK_ALWAYS, LINK_WHEN_TRUNCATED):
            raise self.fail(f"{where}.link", f"expected {LINK_ALWAYS!r} or {LINK_WHEN_TRUNCATED!r}")
        if values.get("max_hashtags", 0) < 0:
            raise self.fail(f"{where}.max_hashtags", "expected a whole number >= 0")
        if "template" in values:
            values["template"] = self.checked(f"{where}.template", _template, values["template"])
        return ComposeOptions(**values)

    def typed_like(self, where: str, value: Any, default: Any) -> Any:
        """`value` checked against the type of `default` (lists become tuples)."""
        if isinstance(default, tuple):
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return tuple(value)
            raise self.fail(where, f"expected a list of strings, got {value!r}")
        # bool before int: True is an int to Python, not to a config file.
        for kind, name in ((bool, "true or false"), (int, "a whole number"), (str, "a string")):
            if isinstance(default, kind):
                if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
                    return value
                raise self.fail(where, f"expected {name}, got {value!r}")
        return value

    def option(
        self, where: str, spec: OptionSpec, body: Mapping[str, Any]
    ) -> str | int | bool | Secret | None:
        key, file_key = f"{where}.{spec.name}", f"{spec.name}_file"
        if spec.secret and file_key in body:
            if spec.name in body:
                raise self.fail(key, f"give {spec.name} or {file_key}, not both")
            return self.secret_file(f"{where}.{file_key}", spec, body[file_key])
        if spec.name not in body:
            if spec.required:
                raise self.fail(key, "required")
            return spec.default
        raw = body[spec.name]
        if spec.secret and isinstance(raw, str) and raw and not _ENV_REF.match(raw):
            self.warnings.append(
                f"{self.path}: {key} is a literal secret; write it as ${{ENV_NAME}} instead"
            )
        value = self.interpolate(raw, key)
        if spec.required and isinstance(value, str) and not value.strip():
            ref = _ENV_REF.match(raw)
            empty = f"environment variable {ref[1]} is empty" if ref else "required, but empty"
            raise self.fail(key, empty)
        value = self.checked(key, lambda v: _option_value(spec, v), value)
        return Secret(value) if spec.secret else value

    def secret_file(self, where: str, spec: OptionSpec, value: Any) -> Secret:
        path = self.resolve_path(self.checked(where, _str, value))
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise self.fail(where, f"cannot read secret file: {e.strerror}") from None
        if spec.required and not text:
            raise self.fail(where, f"secret file {path} is empty")
        return Secret(text)

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
        self.known_accounts(f"{where}.accounts", routed, accounts)
        rules = self.feed_rules(where, item, accounts)
        backfill = self.checked(f"{where}.backfill", _whole_number, item.get("backfill", 0))
        interval = self.checked(
            f"{where}.interval", _INTERVAL, item.get("interval", default_interval)
        )
        return FeedConfig(name, url, is_path, tuple(routed), backfill, interval, rules)

    def known_accounts(self, where: str, names: list[str], accounts: Mapping[str, Account]) -> None:
        for account in names:
            if account not in accounts:
                raise self.fail(where, f"no [accounts.{account}] table")

    def feed_rules(
        self, where: str, item: Mapping[str, Any], accounts: Mapping[str, Account]
    ) -> FeedRules:
        """include = [...], exclude = [...], routes = [{category = "...", accounts = [...]}]"""
        lists = {key: item.get(key, []) for key in ("include", "exclude")}
        for key, value in lists.items():
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail(f"{where}.{key}", "expected a list of category names")
        routes = item.get("routes", [])
        if not isinstance(routes, list):
            raise self.fail(f"{where}.routes", 'expected [{category = "...", accounts = [...]}]')
        parsed = tuple(
            self.route(f"{where}.routes[{i}]", r, accounts) for i, r in enumerate(routes)
        )
        return FeedRules(tuple(lists["include"]), tuple(lists["exclude"]), parsed)

    def route(
        self, where: str, route: Any, accounts: Mapping[str, Account]
    ) -> tuple[str, tuple[str, ...]]:
        if not isinstance(route, dict) or set(route) != {"category", "accounts"}:
            raise self.fail(where, 'expected {category = "...", accounts = [...]}')
        category, names = route["category"], route["accounts"]
        if not isinstance(category, str) or not category.strip():
            raise self.fail(f"{where}.category", "expected a category name")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self.fail(f"{where}.accounts", "expected a list of account names")
        self.known_accounts(f"{where}.accounts", names, accounts)
        return category, tuple(names)

    def feed_url(self, where: str, value: Any) -> tuple[str, bool]:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "required: an http(s) URL or a local file path")
        value = self.interpolate(value.strip(), where)
        scheme = urlsplit(value).scheme.lower()
        if scheme in ("http", "https"):
            return self.checked(where, _http_url, value), False
        if scheme and len(scheme) > 1:
            raise self.fail(where, f"only http, https or a file path, not {scheme}:")
        return str(self.resolve_path(value)), True
