"""The env file: `NAME=value` lines that fill `${NAME}` references the environment leaves unset.

`syndicate auth` writes new credentials there (`[syndicate] env_file`, default
`<data_dir>/secrets.env`), so a person never has to paste a token into a shell profile. The
format is the common subset of docker's `env_file`, systemd's `EnvironmentFile` and dotenv:
`NAME=value`, an optional `export ` prefix, `#` comment lines, and a value optionally wrapped
in one pair of single or double quotes, taken literally (no escapes, no `$` expansion).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from syndicate.errors import ConfigError

ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


def parse_env_text(text: str, source: Path) -> dict[str, str]:
    """NAME -> value. A malformed line is named by number only: it may hold a secret."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = ENV_LINE.match(line)
        if not match:
            raise ConfigError(f"{source}:{number}: expected NAME=value")
        values[match[1]] = unquote(match[2].strip())
    return values


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def read_env_file(path: Path) -> tuple[dict[str, str], str | None]:
    """The file's variables (none when it does not exist) and a warning when others may read
    it: it holds tokens, so it should be 0600 like the files `syndicate auth` creates."""
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read env file: {e}") from e
    warning = None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warning = f"{path}: env file is readable by others; run chmod 600 {path}"
    return parse_env_text(text, path), warning
