"""The validated settings, as frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from syndicate.errors import ConfigError
from syndicate.feeds.filters import NO_RULES, FeedRules
from syndicate.model import (
    Account,
    Secret,
)


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    is_path: bool
    accounts: tuple[str, ...]
    backfill: int = 0
    interval: float = 900.0
    rules: FeedRules = NO_RULES  # include/exclude categories, routes category -> accounts


@dataclass(frozen=True)
class SummariseConfig:
    """[summarise]: how summaries are made. The model endpoint is optional and OpenAI-style."""

    fetch_pages: bool = True  # summary-only feeds: read the entry's web page for the full text
    llm_base_url: str = ""  # e.g. http://127.0.0.1:8080/v1 (a local model server)
    llm_model: str = ""
    llm_api_key: Secret = field(default_factory=lambda: Secret(""))
    llm_timeout: float = 20.0

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


@dataclass(frozen=True)
class WebConfig:
    """[web]: the web app (`syndicate web`). `public_url` is the base of WebSub callback URLs;
    while it is empty no feed is subscribed to its hub."""

    bind: str = "127.0.0.1:8080"
    public_url: str = ""
    # Required for every page but /healthz and the WebSub callback; empty serves loopback only.
    password: Secret = field(default_factory=lambda: Secret(""))

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.bind.rpartition(":")
        return host.strip("[]"), int(port)


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
    block_private_networks: bool = False  # refuse feeds and pages on private addresses
    env_file: Path | None = None  # NAME=value lines read for `${NAME}` (syndicate auth writes)
    send_lease: float = 300.0
    redispatch_after: float = 120.0
    sweep_interval: float = 30.0
    alert_webhook: str = ""
    feeds: tuple[FeedConfig, ...] = ()
    accounts: Mapping[str, Account] = field(default_factory=dict)
    summarise: SummariseConfig = field(default_factory=SummariseConfig)
    web: WebConfig = field(default_factory=WebConfig)
    warnings: tuple[str, ...] = ()

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    def feed(self, name: str) -> FeedConfig:
        found = self.feeds_by_name.get(name)
        if found is None:
            known = ", ".join(f.name for f in self.feeds) or "none"
            raise ConfigError(f"no feed named {name!r} in {self.source} (feeds: {known})")
        return found

    @cached_property
    def feeds_by_name(self) -> dict[str, FeedConfig]:
        """Looked up on every poll: an index, not a scan of thousands of feeds."""
        return {feed.name: feed for feed in self.feeds}
