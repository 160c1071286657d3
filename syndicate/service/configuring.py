"""`config show`, `config check` and `accounts check`: the configuration as it is, redacted,
and whether what it names answers.

Secrets (Secret values, URL passwords, the alert webhook) never leave here unredacted: the
config dump prints "***", and `Redactor` replaces the configured values in any other text
(log lines, error excerpts) with "***".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import sqlalchemy as sa

from syndicate.errors import ConfigError, StoreError, SyndicateError
from syndicate.model import Account, Secret
from syndicate.service.context import Context
from syndicate.settings import Settings
from syndicate.settings.sources import AccountSources, account_sources
from syndicate.store.db import create_engine

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary words in every line; none is that short
_SECTIONS = ("feeds", "accounts", "summarise", "web", "warnings", "source")


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Every configured secret, longest first (so one that contains another goes whole)."""
    found = [settings.summarise.llm_api_key.reveal(), settings.web.password.reveal()]
    for account in settings.accounts.values():
        found += [v.reveal() for v in account.options.values() if isinstance(v, Secret)]
    for url in (settings.database_url, settings.broker_url):
        password = urlsplit(url).password if "://" in url else None
        if password:
            found += [password, unquote(password)]
    if settings.alert_webhook:
        found.append(settings.alert_webhook)  # a webhook URL is its own credential
    return tuple(sorted({v for v in found if len(v) >= MIN_SECRET}, key=len, reverse=True))


class Redactor:
    """Replaces each of the given secret values with *** in any text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = tuple(secrets)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def redact_url(url: str) -> str:
    """The URL with its password (if any) masked: user and host stay readable."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _webhook(url: str) -> str:
    """An alert webhook's path is usually its token (Slack, Discord): show the host only."""
    if not url:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/{MASK}"


# --- config show --------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, Secret):
        return json.dumps(MASK if value.reveal() else "")
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _core(settings: Settings) -> list[str]:
    lines = ["[syndicate]"]
    for f in fields(settings):
        if f.name in _SECTIONS:
            continue
        value = getattr(settings, f.name)
        if f.name in ("database_url", "broker_url"):
            value = redact_url(value)
        elif f.name == "alert_webhook":
            value = _webhook(value)
        lines.append(f"{f.name} = {_value('' if value is None else value)}")
    return lines


def _table(title: str, values: Mapping[str, Any], notes: Mapping[str, str]) -> list[str]:
    lines = ["", title]
    for key, value in values.items():
        note = f"  # {notes[key]}" if key in notes else ""
        lines.append(f"{key} = {_value(value)}{note}")
    return lines


def _origins(settings: Settings, name: str) -> dict[str, str]:
    """Where each option of an account came from, when the config file says."""
    if settings.source is None or not settings.source.exists():
        return {}
    try:
        found: AccountSources = account_sources(settings.source, name)
    except ConfigError:
        return {}
    notes = {key: f"from ${{{var}}}" for key, var in found.env_refs.items()}
    notes.update({key: f"from file {path}" for key, path in found.files.items()})
    return notes


def _account(settings: Settings, name: str, account: Account) -> list[str]:
    values: dict[str, Any] = {"platform": account.platform}
    values.update({f.name: getattr(account.compose, f.name) for f in fields(account.compose)})
    values.update({f.name: getattr(account.delivery, f.name) for f in fields(account.delivery)})
    values.update(account.options)
    return _table(f"[accounts.{name}]", values, _origins(settings, name))


def _feed(feed: Any) -> list[str]:
    values: dict[str, Any] = {"name": feed.name, "url": feed.url, "accounts": feed.accounts}
    values.update(backfill=feed.backfill, interval=feed.interval)
    rules = feed.rules
    if rules.include:
        values["include"] = rules.include
    if rules.exclude:
        values["exclude"] = rules.exclude
    for category, accounts in rules.routes:
        values.setdefault("routes", []).append(f"{category} -> {', '.join(accounts)}")
    return _table("[[feeds]]", values, {})


def show_config(settings: Settings) -> list[str]:
    """The effective configuration as TOML-like lines, every secret shown as ***."""
    lines = [f"# from {settings.source or 'defaults (no config file)'}", *_core(settings)]
    summarise = {f.name: getattr(settings.summarise, f.name) for f in fields(settings.summarise)}
    lines += _table("[summarise]", summarise, {})
    lines += _table(
        "[web]", {f.name: getattr(settings.web, f.name) for f in fields(settings.web)}, {}
    )
    for feed in settings.feeds:
        lines += _feed(feed)
    for name, account in settings.accounts.items():
        lines += _account(settings, name, account)
    redact = Redactor(secret_values(settings))  # a second net: no secret in any line
    return [redact(line) for line in lines]


# --- config check, accounts check ---------------------------------------------------------


def check_database(settings: Settings) -> str | None:
    """None when the database answers; else what is wrong (secrets redacted)."""
    redact = Redactor(secret_values(settings))
    try:
        engine = create_engine(settings.database_url)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()
    except (StoreError, sa.exc.SQLAlchemyError) as e:
        cause = getattr(e, "orig", None) or e
        return redact(f"database {redact_url(settings.database_url)}: {cause}".strip())
    return None


def check_feed_files(settings: Settings) -> list[str]:
    return [
        f"feed {feed.name}: no file at {feed.url}"
        for feed in settings.feeds
        if feed.is_path and not Path(feed.url).exists()
    ]


@dataclass(frozen=True)
class AccountCheck:
    name: str
    platform: str
    ok: bool
    message: str


def check_accounts(ctx: Context, names: Iterable[str] = ()) -> list[AccountCheck]:
    """Ask each account's platform whether its credentials work (`Publisher.check`)."""
    chosen = list(names) or sorted(ctx.settings.accounts)
    redact = Redactor(secret_values(ctx.settings))
    results = []
    for name in chosen:
        account = ctx.settings.accounts.get(name)
        if account is None:
            known = ", ".join(sorted(ctx.settings.accounts)) or "none"
            raise ConfigError(f"no account named {name!r} (accounts: {known})")
        try:
            said, ok = ctx.publisher(account).check(), True
        except SyndicateError as e:
            said, ok = f"{type(e).__name__}: {e}", False
        results.append(AccountCheck(name, account.platform, ok, redact(said)))
    return results
