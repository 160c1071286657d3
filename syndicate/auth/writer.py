"""Saves new credentials where the config reads them: a `<key>_file` or a `${VAR}` line in the
env file. Every file is created 0600 under a temporary name and renamed into place, so no
reader ever sees it half-written or, even briefly, with looser permissions."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from syndicate.auth.common import FileTarget, SetupError, Target

# The same line grammar syndicate.settings.envfile reads (kept in step; a test round-trips).
_ENV_LINE = re.compile(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=)")
_BARE_VALUE = re.compile(r"[A-Za-z0-9._~+/=:@%,-]*")


def save(values: Mapping[str, str], targets: Mapping[str, Target]) -> list[str]:
    """Write each value to its key's target; one line per key saying where (never the value)."""
    missing = sorted(set(values) - set(targets))
    if missing:
        raise SetupError(f"no place in the config for {', '.join(missing)}")
    said: list[str] = []
    env_files: dict[Path, dict[str, str]] = {}
    for key, value in values.items():
        target = targets[key]
        if isinstance(target, FileTarget):
            write_private(target.path, value + "\n")
            said.append(f"saved {key} to {target.path}")
        else:
            env_files.setdefault(target.env_file, {})[target.var] = value
            said.append(f"saved {key} to {target.env_file} (VAR {target.var})")
    for path, updates in env_files.items():
        update_env_file(path, updates)
    return said


def update_env_file(path: Path, updates: Mapping[str, str]) -> None:
    """Replace `NAME=...` lines in place (keeping every other line and its order) and append
    the names not there yet."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    except (OSError, UnicodeDecodeError) as e:
        raise SetupError(f"cannot read env file {path}: {e}") from e
    pending = dict(updates)
    for i, line in enumerate(lines):
        match = _ENV_LINE.match(line)
        if match and match[2] in updates:
            lines[i] = f"{match[1]}{match[2]}{match[3]}{env_value(match[2], updates[match[2]])}"
            pending.pop(match[2], None)
    lines.extend(f"{name}={env_value(name, value)}" for name, value in pending.items())
    write_private(path, "\n".join(lines) + "\n")


def env_value(name: str, value: str) -> str:
    """Bare when every reader takes it literally, else single-quoted (taken literally too)."""
    if _BARE_VALUE.fullmatch(value):
        return value
    if "'" not in value and value.isprintable():
        return f"'{value}'"
    raise SetupError(
        f"the value for {name} has characters an env file cannot hold; "
        "give the key as <key>_file in the config instead"
    )


def write_private(path: Path, text: str) -> None:
    """Atomically replace `path` with `text`, readable by its owner only."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise SetupError(f"cannot write {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)  # mkstemp makes it 0600; say so rather than rely on it
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise SetupError(f"cannot write {path}: {e.strerror}") from e
