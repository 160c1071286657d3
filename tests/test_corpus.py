"""Every entry of the 106 real blog feeds: previews for x, mastodon and bluesky never fail,
never exceed the platform's limit by its own counter, keep the link, and carry no
boilerplate or markup."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest

from bench.corpus import feed_files
from syndicate.feeds.parse import parse_feed
from syndicate.model import ComposeOptions
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES
from syndicate.summarise.extractive import summarise

FEEDS = list(feed_files())
# Boilerplate in the form feeds carry it: whole lines, or the tail of a paragraph. ("…a
# handler like this:" mid-paragraph is prose, and stays.)
BOILERPLATE = re.compile(
    r"appeared first on|\[…\]|\[\.\.\.\]|post a comment|twitter delicious facebook"
    r"|(?:^|\n)\s*(?:share this|like this|related|\d+ comments?)\s*:?\s*(?:\n|$)"
    r"|(?:continue reading|read more)\s*(?:→|»|…|\.\.\.)?\s*(?:\n|$)",
    re.I,
)
MARKUP = re.compile(r"</?[a-z][a-z0-9]*[\s>/]|&(?:[a-z]+|#\d+|#x[0-9a-f]+);", re.I)


def visible_text(*fragments: str) -> str:
    """What a browser shows for these HTML fragments: an oracle independent of our cleaner."""
    return " ".join(
        lxml.html.fromstring(f"<div>{fragment}</div>").text_content() for fragment in fragments
    )


def test_the_corpus_is_there() -> None:
    assert len(FEEDS) == 106


@pytest.mark.parametrize(("path", "url"), FEEDS, ids=[p.name for p, _ in FEEDS])
def test_every_entry_previews_within_limits(path: Path, url: str) -> None:
    feed = parse_feed(path.read_bytes(), url)
    for entry in feed.entries:
        summary = summarise(entry)
        for platform in ("x", "mastodon", "bluesky"):
            rules = RULES[platform]
            post = render(summary, ComposeOptions(), rules)
            where = f"{path.name} {entry.identity} {platform}"
            assert rules.count(post.text) <= post.limit, where
            if entry.link.startswith(("http://", "https://")):
                assert summary.link in post.text, where
            body = post.text.replace(summary.link, "")
            assert not BOILERPLATE.search(body), (where, post.text)
            for leaked in MARKUP.findall(body):
                # Allowed only where the author wrote it as text (`&lt;div&gt;` in a post
                # about HTML): then a browser shows it too.
                assert leaked in visible_text(entry.title, entry.content_html), (where, leaked)
