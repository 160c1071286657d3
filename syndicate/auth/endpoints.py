"""Where each platform's consent page and token endpoints live.

The API root comes from the account's `base_url` (the publisher's default when unset). Some
platforms ask for consent on another host than their API (x.com for api.x.com,
www.linkedin.com for api.linkedin.com): when `base_url` is the platform's own API root, the
known consent host is used; any other root (a test fake, a proxy) serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Site:
    api: str  # the API root, no trailing slash
    consent: str  # the root of the consent pages (and, for some, the token endpoint)


def site(base_url: str, default_api: str, consent_hosts: Mapping[str, str]) -> Site:
    api = (base_url or default_api).rstrip("/")
    parts = urlsplit(api)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return Site(api=api, consent=consent_hosts.get(origin, api))


def x(base_url: str) -> Site:
    production = {"https://api.x.com": "https://x.com", "https://api.twitter.com": "https://x.com"}
    return site(base_url, "https://api.x.com", production)


def tumblr(base_url: str) -> Site:
    return site(
        base_url, "https://api.tumblr.com", {"https://api.tumblr.com": "https://www.tumblr.com"}
    )


def linkedin(base_url: str) -> Site:
    production = {"https://api.linkedin.com": "https://www.linkedin.com"}
    return site(
        base_url.removesuffix("/").removesuffix("/rest"), "https://api.linkedin.com", production
    )


def facebook(base_url: str) -> Site:
    production = {"https://graph.facebook.com": "https://www.facebook.com"}
    return site(base_url, "https://graph.facebook.com", production)


def threads(base_url: str) -> Site:
    production = {"https://graph.threads.net": "https://threads.net"}
    return site(base_url, "https://graph.threads.net", production)


def mastodon(base_url: str) -> Site:
    return site(base_url, "", {})


def bluesky(base_url: str) -> Site:
    return site(base_url, "https://bsky.social", {})


X_SCOPES = ("tweet.read", "tweet.write", "users.read", "offline.access")
MASTODON_SCOPES = ("write:statuses", "read:accounts", "read:statuses")
LINKEDIN_MEMBER_SCOPES = ("openid", "profile", "w_member_social")
LINKEDIN_ORGANIZATION_SCOPES = ("w_organization_social", "r_organization_social")
FACEBOOK_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")
THREADS_SCOPES = ("threads_basic", "threads_content_publish")
