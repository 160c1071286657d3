"""The publisher contract every platform module implements."""

from __future__ import annotations

from typing import ClassVar, Protocol

from syndicate.model import Account, OptionSpec, Post, PublishResult, Summary


class Publisher(Protocol):
    """One account on one platform.

    `render` is pure and shared by preview and publish; `publish` sends exactly the Post it is
    given and classifies every failure into the errors of `syndicate.errors`; `find_existing`
    answers "did this key already post?" (None means definitely not there, and raises
    OutcomeUnknown when the platform cannot tell).
    """

    PLATFORM: ClassVar[str]
    OPTIONS: ClassVar[tuple[OptionSpec, ...]]

    def __init__(self, account: Account, *, timeout: float) -> None: ...

    def render(self, summary: Summary) -> Post: ...

    def publish(self, post: Post, key: str) -> PublishResult: ...

    def find_existing(self, key: str, post: Post) -> PublishResult | None: ...

    def check(self) -> str: ...
