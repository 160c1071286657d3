"""Dry run: render exactly as a real account would and print the post instead of sending it."""

from __future__ import annotations

import sys
from typing import ClassVar, TextIO

from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary
from syndicate.platforms.compose import render_text
from syndicate.platforms.textlen import mastodon_length


class LogPublisher:
    PLATFORM: ClassVar[str] = "log"
    OPTIONS: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("limit", int, default=500, help="character budget, counted as Mastodon does"),
    )

    def __init__(self, account: Account, *, timeout: float, out: TextIO | None = None) -> None:
        self.account = account
        self.limit = int(account.option("limit", "500"))
        self.out = out or sys.stdout

    def render(self, summary: Summary) -> Post:
        text = render_text(summary, self.account.template, self.limit, mastodon_length)
        return Post(self.PLATFORM, text, mastodon_length(text), self.limit)

    def publish(self, post: Post, key: str) -> PublishResult:
        header = f"--- [{self.account.name}] would post ({post.length}/{post.limit} chars) ---"
        self.out.write(f"{header}\n{post.text}\n{'-' * len(header)}\n")
        self.out.flush()
        return PublishResult(remote_id=f"dry-run:{key}", remote_url="")

    def find_existing(self, key: str, post: Post) -> PublishResult | None:
        return None  # nothing was ever sent anywhere

    def check(self) -> str:
        return "dry run: nothing to check"
