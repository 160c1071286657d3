"""Golden posts: tests/data/posts/<case>.entry.json rendered for every platform.

Each entry file holds a Summary as JSON ("summary") and optional ComposeOptions ("options").
The expected post sits beside it as <case>.<platform>.txt (the text; thread parts separated by
PART_BREAK) or, for Bluesky, <case>.bluesky.json (text, facets, card, thread, notes).
Run with UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then read the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, TypeVar

import pytest

from syndicate.model import ComposeOptions, Post, Summary
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES

POSTS = Path(__file__).resolve().parents[1] / "data" / "posts"
PLATFORMS = ("x", "mastodon", "bluesky", "linkedin", "facebook", "tumblr", "webhook")
PART_BREAK = "\n\n--- next part ---\n\n"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
T = TypeVar("T")
CASES = sorted(path.name.removesuffix(".entry.json") for path in POSTS.glob("*.entry.json"))


def load_entry(case: str) -> tuple[Summary, ComposeOptions]:
    data = json.loads((POSTS / f"{case}.entry.json").read_text(encoding="utf-8"))
    return from_json(Summary, data["summary"]), from_json(ComposeOptions, data.get("options", {}))


def from_json(cls: type[T], values: dict[str, Any]) -> T:
    """A frozen dataclass from JSON: lists become the tuples the model holds."""
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - fields
    assert not unknown, f"unknown {cls.__name__} fields {unknown}"
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def serialise(post: Post, platform: str) -> str:
    if platform != "bluesky":
        return PART_BREAK.join(post.thread or (post.text,)) + "\n"
    data = {
        "text": post.text,
        "length": post.length,
        "limit": post.limit,
        "facets": [dataclasses.asdict(facet) for facet in post.facets],
        "card": dataclasses.asdict(post.card) if post.card else None,
        "thread": list(post.thread),
        "notes": list(post.notes),
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def golden_path(case: str, platform: str) -> Path:
    return POSTS / f"{case}.{platform}.{'json' if platform == 'bluesky' else 'txt'}"


def test_the_founding_sample_and_varied_cases_are_there() -> None:
    assert {"seed", "cjk", "emoji-zwj", "long-title", "url-parens", "empty-title"} <= set(CASES)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("case", CASES)
def test_rendered_post_matches_golden_file(case: str, platform: str) -> None:
    summary, options = load_entry(case)
    rules = RULES[platform]

    post = render(summary, options, rules)

    for part in post.thread or (post.text,):
        assert rules.fits(part, post.limit), part
    actual = serialise(post, platform)
    path = golden_path(case, platform)
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text(encoding="utf-8")
