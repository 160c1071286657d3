"""How each platform counts and presents a post: one frozen `PlatformRules` per platform.

Pure data (limits, counters, URL finders, flags), read by `compose.render` and by anyone who
must check a post against its platform (preview, the fakes, the corpus test). The sources for
every number are in ../shared/reference/platforms.md §1 and feeds.md §8.1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import regex

from syndicate.platforms.textlen import (
    MASTODON_URL_LENGTH,
    bluesky_length,
    code_point_length,
    facebook_length,
    find_urls,
    grapheme_length,
    linkedin_length,
    mastodon_length,
    mastodon_measure,
    utf8_length,
    x_find_urls,
    x_length,
    x_measure,
)

Counter = Callable[[str], int]
UrlFinder = Callable[[str], list[tuple[int, int]]]
# The count and the URLs of a text from one scan, where the counter finds the URLs anyway.
Measure = Callable[[str], tuple[int, list[tuple[int, int]]]]

X_LIMIT = 280  # weighted; paid accounts may post longer, but design for everyone
X_URL_LENGTH = 23
MASTODON_DEFAULT_LIMIT = 500  # the instance's max_characters overrides it
BLUESKY_MAX_GRAPHEMES = 300
BLUESKY_MAX_BYTES = 3000
LINKEDIN_LIMIT = 3000  # after escaping
FACEBOOK_LIMIT = 63206  # unverified; conservative
TUMBLR_LIMIT = 4096  # code points per text block
UNLIMITED = sys.maxsize  # webhook: the receiver decides
_HEAD_SLACK = 200
_SPACE = regex.compile(r"(?r)\s")  # searched backwards


def _last_space(text: str, before: int) -> int:
    """The offset of the last whitespace character before `before`, or -1."""
    match = _SPACE.search(text, 0, before)
    return -1 if match is None else match.start()


@dataclass(frozen=True)
class PlatformRules:
    """What one platform counts, how it treats URLs, and what a post carries besides text."""

    name: str
    limit: int  # in the unit of `count`
    count: Counter
    find_urls: UrlFinder  # the URLs the platform links (never split, checked intact)
    url_length: int | None = None  # a URL's fixed cost in `count`; None: counted in full
    max_bytes: int | None = None  # a second cap in UTF-8 bytes (Bluesky)
    facets: bool = False  # links and #tags need byte-offset facets (Bluesky)
    card: bool = False  # the client supplies the link card (Bluesky, LinkedIn, Tumblr)
    escape: bool = False  # reserved characters are backslash-escaped (LinkedIn)
    threads: bool = False  # thread mode can chain replies
    measure: Measure | None = None  # (count(t), find_urls(t)) in one scan; None: each alone

    def fits(self, text: str, limit: int | None = None, *, count: Counter | None = None) -> bool:
        """Whether `text` is within `limit` (default: the platform's) and every other cap.

        `count` stands in for the platform's counter on the whole text (a memoising one)."""
        limit = self.limit if limit is None else limit
        if self._head_too_long(text, limit):
            return False
        if (count or self.count)(text) > limit:
            return False
        return self.max_bytes is None or utf8_length(text) <= self.max_bytes

    def _head_too_long(self, text: str, limit: int) -> bool:
        """A cheap refusal of a long text whose beginning alone is over the limit.

        Every counter here counts the pieces between whitespace independently (no URL, emoji
        sequence, mention or grapheme cluster spans a space), so the count of a head that ends
        before whitespace never exceeds the count of the whole. Counting 100 kB with twitter-text
        takes half a second; its first few hundred characters take a millisecond.
        """
        head_size = 4 * limit + _HEAD_SLACK
        if len(text) <= 2 * head_size:
            return False
        end = _last_space(text, head_size)
        return end > 0 and self.count(text[:end]) > limit


THREADS_LIMIT = 500
_CLUSTER = regex.compile(r"\X")
# What makes a cluster an emoji to Threads; ©, ® and ™ count too (conservative: the rule for
# other non-ASCII text is undocumented, reference §13).
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3\ufe0f]")


def threads_length(text: str) -> int:
    """Threads' unit (reference §10.2): grapheme clusters, but an emoji costs its UTF-8 bytes."""
    if not _EMOJI.search(text):
        return grapheme_length(text)  # segments only where clusters can join (fast)
    return sum(utf8_length(c) if _EMOJI.search(c) else 1 for c in _CLUSTER.findall(text))


RULES: dict[str, PlatformRules] = {
    "x": PlatformRules(
        "x",
        X_LIMIT,
        x_length,
        x_find_urls,
        url_length=X_URL_LENGTH,
        threads=True,
        measure=x_measure,
    ),
    "mastodon": PlatformRules(
        "mastodon",
        MASTODON_DEFAULT_LIMIT,
        mastodon_length,
        find_urls,
        url_length=MASTODON_URL_LENGTH,
        threads=True,
        measure=mastodon_measure,
    ),
    "bluesky": PlatformRules(
        "bluesky",
        BLUESKY_MAX_GRAPHEMES,
        bluesky_length,
        find_urls,
        max_bytes=BLUESKY_MAX_BYTES,
        facets=True,
        card=True,
        threads=True,
    ),
    "linkedin": PlatformRules(
        "linkedin", LINKEDIN_LIMIT, linkedin_length, find_urls, card=True, escape=True
    ),
    "facebook": PlatformRules("facebook", FACEBOOK_LIMIT, facebook_length, find_urls),
    "tumblr": PlatformRules("tumblr", TUMBLR_LIMIT, code_point_length, find_urls, card=True),
    "threads": PlatformRules("threads", THREADS_LIMIT, threads_length, find_urls, threads=True),
    "webhook": PlatformRules("webhook", UNLIMITED, code_point_length, find_urls),
    # The dry run counts as Mastodon does, so its preview matches the most common target.
    "log": PlatformRules(
        "log",
        MASTODON_DEFAULT_LIMIT,
        mastodon_length,
        find_urls,
        url_length=MASTODON_URL_LENGTH,
        threads=True,
        measure=mastodon_measure,
    ),
}
