"""Golden feeds: tests/data/feeds/<case>.xml|json parses to <case>.entries.json, exactly.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/unit/test_feed_golden.py`
and read the diff. Also: every feed of the shared real-feed corpus parses, and every entry
gets an identity.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from syndicate.feeds.parse import finish, parse_feed
from syndicate.model import FeedEntry, ParsedFeed
from syndicate.summarise.text import clean_text

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "real-feeds"
SOURCES: dict[str, str] = json.loads((DATA / "sources.json").read_text())
CASES = sorted(
    path
    for path in DATA.iterdir()
    if path.suffix in (".xml", ".json")
    and not path.name.endswith(".entries.json")
    and path.name != "sources.json"
)
CORPUS_INDEX: dict[str, str] = json.loads((CORPUS / "index.json").read_text())
# Feeds that parse but yield nothing, and why. A new name here needs a reason.
KNOWN_EMPTY = {"7ef13a42fa7e177a.xml": "every element carries an undeclared rss: prefix"}


def snapshot(feed: ParsedFeed) -> dict[str, Any]:
    return {
        "feed": {
            "title": feed.title,
            "link": feed.link,
            "hub": feed.hub,
            "self_url": feed.self_url,
        },
        "entries": [entry_snapshot(entry) for entry in feed.entries],
    }


def entry_snapshot(entry: FeedEntry) -> dict[str, Any]:
    return {
        "identity": entry.identity,
        "link": entry.link,
        "title": entry.title,
        "published": entry.published.isoformat() if entry.published else None,
        "updated": entry.updated.isoformat() if entry.updated else None,
        "categories": list(entry.categories),
        "content_is_summary": entry.content_is_summary,
        "image_url": entry.image_url,
        "text_length": len(clean_text(entry.content_html)),
    }


def dump(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def test_every_case_has_a_source_url_and_every_source_a_case() -> None:
    assert sorted(path.stem for path in CASES) == sorted(SOURCES)


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_feed_parses_to_its_golden_entries(path: Path) -> None:
    parsed = parse_feed(path.read_bytes(), SOURCES[path.stem])
    raw = parse_feed(path.read_bytes(), SOURCES[path.stem], clean=False)
    assert tuple(finish(entry) for entry in raw.entries) == parsed.entries
    got = snapshot(parsed)
    golden = path.with_name(f"{path.stem}.entries.json")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(dump(got), encoding="utf-8")
    assert golden.exists(), f"no {golden.name}: run with UPDATE_GOLDEN=1 and review it"
    assert json.loads(golden.read_text(encoding="utf-8")) == got


def test_the_corpus_holds_106_feeds() -> None:
    assert len(CORPUS_INDEX) == 106


@pytest.mark.parametrize(("name", "url"), sorted(CORPUS_INDEX.items()))
def test_every_real_feed_parses_and_every_entry_has_an_identity(name: str, url: str) -> None:
    body = (CORPUS / name).read_bytes()
    feed = parse_feed(body, url)
    assert bool(feed.entries) != (name in KNOWN_EMPTY)
    assert all(entry.identity.strip() for entry in feed.entries)
    # A poll leaves bodies raw and cleans only some: cleaned later, each is what it would be.
    raw = parse_feed(body, url, clean=False)
    assert tuple(finish(entry) for entry in raw.entries) == feed.entries
