"""Where each key of one account comes from: what `syndicate auth` needs to write credentials.

`load` refuses a config whose `${VAR}` is unset or whose `<key>_file` does not exist yet; this
reads the same file without that check, because those are exactly the credentials
`syndicate auth` is about to obtain and write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syndicate.errors import ConfigError
from syndicate.settings.loader import _Loader
from syndicate.settings.values import _ENV_REF


@dataclass(frozen=True)
class AccountSources:
    account: str
    platform: str
    env_file: Path  # where `${VAR}` keys are written (and read when the environment lacks them)
    env_refs: Mapping[str, str]  # key -> VAR, for `key = "${VAR}"`
    files: Mapping[str, Path]  # key -> path, for `key_file = "path"`
    literals: frozenset[str]  # keys whose value is written in the config itself
    shadowing: frozenset[str]  # VARs set in the environment itself: they win over the env file
    values: Mapping[str, str] = field(repr=False)  # every key that has a value now, as text


def account_sources(
    path: str | Path | None, account: str, environ: Mapping[str, str] | None = None
) -> AccountSources:
    """The `[accounts.<account>]` table of the config named by `path` (else SYNDICATE_CONFIG)."""
    env = os.environ if environ is None else environ
    chosen = path or env.get("SYNDICATE_CONFIG")
    if not chosen:
        raise ConfigError("no config file: pass --config PATH or set SYNDICATE_CONFIG")
    loader = _Loader(Path(chosen).expanduser().resolve(), env)
    raw = loader.read()
    env_file = loader.load_env_file(loader.table(raw, "syndicate"))
    accounts = loader.table(raw, "accounts")
    if account not in accounts:
        known = ", ".join(sorted(accounts)) or "none"
        raise loader.fail(f"accounts.{account}", f"no such account (accounts: {known})")
    body = loader.table(accounts, account)
    platform = body.get("platform")
    if not isinstance(platform, str):
        raise loader.fail(f"accounts.{account}.platform", "required")
    refs, files, literals, values = _classify(loader, f"accounts.{account}", body)
    return AccountSources(
        account=account,
        platform="x" if platform == "twitter" else platform,
        env_file=env_file,
        env_refs=refs,
        files=files,
        literals=frozenset(literals),
        shadowing=frozenset(var for var in refs.values() if var in env),
        values=values,
    )


def _classify(
    loader: _Loader, where: str, body: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Path], set[str], dict[str, str]]:
    refs: dict[str, str] = {}
    files: dict[str, Path] = {}
    literals: set[str] = set()
    values: dict[str, str] = {}
    for key, raw in body.items():
        if key.endswith("_file") and isinstance(raw, str):
            name = key.removesuffix("_file")
            files[name] = loader.resolve_path(raw)
            text = _read_if_present(loader, f"{where}.{key}", files[name])
            if text:
                values[name] = text
        elif isinstance(raw, str) and (match := _ENV_REF.match(raw)):
            refs[key] = match[1]
            value = loader.environ.get(match[1], loader.file_env.get(match[1], ""))
            if value:
                values[key] = value
        elif isinstance(raw, str | int) and not isinstance(raw, bool):
            literals.add(key)
            values[key] = str(raw)
    return refs, files, literals, values


def _read_if_present(loader: _Loader, where: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""  # not written yet: `syndicate auth` is about to
    except (OSError, UnicodeDecodeError) as e:
        raise loader.fail(where, f"cannot read secret file {path}: {e}") from e
