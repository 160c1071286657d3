"""Explicit registry of publishers: platform name -> "module:Class", imported on first use."""

from __future__ import annotations

import importlib
from typing import cast

from syndicate.errors import ConfigError
from syndicate.platforms.base import Publisher

PUBLISHERS: dict[str, str] = {
    "bluesky": "syndicate.platforms.bluesky:BlueskyPublisher",
    "facebook": "syndicate.platforms.facebook:FacebookPublisher",
    "linkedin": "syndicate.platforms.linkedin:LinkedInPublisher",
    "log": "syndicate.platforms.log:LogPublisher",
    "mastodon": "syndicate.platforms.mastodon:MastodonPublisher",
    "threads": "syndicate.platforms.threads:ThreadsPublisher",
    "tumblr": "syndicate.platforms.tumblr:TumblrPublisher",
    "webhook": "syndicate.platforms.webhook:WebhookPublisher",
    "x": "syndicate.platforms.x:XPublisher",
}


def platform_names() -> tuple[str, ...]:
    return tuple(sorted(PUBLISHERS))


def publisher_class(platform: str) -> type[Publisher]:
    try:
        target = PUBLISHERS[platform]
    except KeyError:
        known = ", ".join(platform_names())
        raise ConfigError(f"unknown platform {platform!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(module_name)
    return cast(type[Publisher], getattr(module, class_name))
