"""Benchmark: summarising and rendering entries against parsing them.

    python -m bench.summarise

Over every feed of the real-feed corpus, in one process: (1) bare `feedparser.parse` of the
bytes, the baseline; (2) clean text + extractive summary + three renders (x, mastodon,
bluesky) of every entry. Prints entries per second for each, their ratio, and peak RSS.
Target: summarising and rendering an entry costs less than parsing it; RSS under 200 MB.
"""

from __future__ import annotations

import io
import resource
import time

import feedparser

from bench.corpus import feed_files
from syndicate.feeds.parse import parse_feed
from syndicate.model import ComposeOptions
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES
from syndicate.summarise.extractive import summarise

PLATFORMS = ("x", "mastodon", "bluesky")


def main() -> None:
    bodies = [(path.read_bytes(), url) for path, url in feed_files()]
    started = time.perf_counter()
    parsed_entries = sum(len(feedparser.parse(io.BytesIO(body)).entries) for body, _ in bodies)
    parse_seconds = time.perf_counter() - started

    entries = [e for body, url in bodies for e in parse_feed(body, url).entries]
    options = ComposeOptions()
    started = time.perf_counter()
    for entry in entries:
        summary = summarise(entry)
        for platform in PLATFORMS:
            render(summary, options, RULES[platform])
    summarise_seconds = time.perf_counter() - started

    parse_rate = parsed_entries / parse_seconds
    summarise_rate = len(entries) / summarise_seconds
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"feeds: {len(bodies)}, entries: {len(entries)}")
    print(f"baseline feedparser.parse:          {parse_rate:8.1f} entries/s")
    print(f"summary + {len(PLATFORMS)} renders per entry:   {summarise_rate:8.1f} entries/s")
    print(f"ratio (summarise+render / parse):   {parse_rate / summarise_rate:8.2f}x the time")
    print(f"peak RSS:                           {rss_mb:8.1f} MB")


if __name__ == "__main__":
    main()
