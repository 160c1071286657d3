"""Dry run: render exactly as a real account would and print the post instead of sending it."""

from __future__ import annotations

import sys
from typing import ClassVar, TextIO

from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary
from syndicate.platforms.base import TokenCache
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES


class LogPublisher:
    PLATFORM: ClassVar[str] = "log"
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec(
            "limit", int, default=500, minimum=1, help="character budget, counted as Mastodon does"
        ),
    )

    def __init__(
        self,
        account: Account,
        *,
        timeout: float,
        tokens: TokenCache | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.account = account
        self.limit = int(account.option("limit", "500"))
        self.out = out or sys.stdout

    def render(self, summary: Summary) -> Post:
        return render(summary, self.account.compose, RULES[self.PLATFORM], limit=self.limit)

    def publish(self, post: Post, key: str) -> PublishResult:
        parts = post.thread or (post.text,)
        for number, text in enumerate(parts, 1):
            part = f" part {number}/{len(parts)}" if len(parts) > 1 else ""
            size = f"{RULES[self.PLATFORM].count(text)}/{post.limit} chars"
            header = f"--- [{self.account.name}] would post{part} ({size}) ---"
            self.out.write(f"{header}\n{text}\n{'-' * len(header)}\n")
        self.out.flush()
        return PublishResult(remote_id=f"dry-run:{key}", remote_url="")

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        return None  # nothing was ever sent anywhere

    def check(self) -> str:
        return "dry run: nothing to check"
