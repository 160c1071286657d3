"""One render's measurements: each distinct candidate text counted once. Pure.

The composer measures a handful of candidate posts and asks about some of them again (the
kept post is counted for its length and checked for its link; an empty hashtag list repeats
the text without hashtags). Counting is most of a render's cost, so a `Meter` remembers every
count and URL list by text, and takes both from one scan where the platform's counter finds
the URLs anyway (X, Mastodon).
"""

from __future__ import annotations

from syndicate.platforms.rules import PlatformRules

Span = tuple[int, int]


class Meter:
    """`rules.count`, `rules.find_urls` and `rules.fits` for one render, remembered per text."""

    def __init__(self, rules: PlatformRules) -> None:
        self.rules = rules
        self._counts: dict[str, int] = {}
        self._urls: dict[str, list[Span]] = {}

    def count(self, text: str) -> int:
        count = self._counts.get(text)
        if count is None:
            if self.rules.measure is None:
                count = self.rules.count(text)
            else:
                count, self._urls[text] = self.rules.measure(text)
            self._counts[text] = count
        return count

    def find_urls(self, text: str) -> list[Span]:
        """The platform's URLs in `text`; the list is shared, not to be changed."""
        urls = self._urls.get(text)
        if urls is None:
            urls = self._urls[text] = self.rules.find_urls(text)
        return urls

    def fits(self, text: str) -> bool:
        return self.rules.fits(text, count=self.count)
