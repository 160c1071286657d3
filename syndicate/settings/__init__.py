"""The only reader of config files and the environment. Validates everything once, at start-up.

A config is a TOML file (``--config`` or ``SYNDICATE_CONFIG``). Every key of ``[syndicate]``
can be overridden by ``SYNDICATE_<KEY>`` in the environment. A string value written as
``${NAME}`` is read from the environment variable NAME; a secret option ``x`` may instead be
given as ``x_file = "/path"``. Unknown keys and bad values stop start-up with an error that
names the file and the key, once: ``<file>: <key>: <what is wrong>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from syndicate.errors import ConfigError
from syndicate.settings.loader import _Loader
from syndicate.settings.schema import FeedConfig, Settings, SummariseConfig, WebConfig

__all__ = [
    "FeedConfig",
    "Settings",
    "SummariseConfig",
    "WebConfig",
    "defaults",
    "load",
    "load_or_defaults",
]


def defaults(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings with no config file: every default, paths relative to the working directory."""
    env = os.environ if environ is None else environ
    return _Loader(Path.cwd() / "(no config)", env).build({})


def load_or_defaults(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """`load` when a config is named (argument or SYNDICATE_CONFIG), else `defaults`."""
    env = os.environ if environ is None else environ
    return load(path, env) if path or env.get("SYNDICATE_CONFIG") else defaults(env)


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the config named by `path`, else by SYNDICATE_CONFIG."""
    env = os.environ if environ is None else environ
    chosen = path or env.get("SYNDICATE_CONFIG")
    if not chosen:
        raise ConfigError("no config file: pass --config PATH or set SYNDICATE_CONFIG")
    return _Loader(Path(chosen).expanduser().resolve(), env).load()
