"""twitter-text's own conformance suite against our X counter and URL finder.

validate.yml's three counting sections and every URL case of extract.yml, run as they ship
(../shared/conformance/twitter-text). WeightedTweetsCounterTest is written for config v2 (an
emoji counts per code point), as in twitter-text's own runners; the other two for v3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from syndicate.platforms.textlen import x_config, x_find_urls, x_parse

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SUITE = SHARED / "conformance" / "twitter-text"


def load(name: str) -> dict[str, list[dict[str, Any]]]:
    with (SUITE / name).open(encoding="utf-8") as f:
        tests: dict[str, list[dict[str, Any]]] = yaml.safe_load(f)["tests"]
    return tests


VALIDATE = load("validate.yml")
EXTRACT = load("extract.yml")

# (section, whether emoji sequences are discounted: config v3)
COUNTING = [
    ("WeightedTweetsCounterTest", False),
    ("WeightedTweetsWithDiscountedEmojiCounterTest", True),
    ("UnicodeDirectionalMarkerCounterTest", True),
]
URL_SECTIONS = [
    "urls",
    "urls_with_indices",
    "urls_with_directional_markers",
    "tco_urls_with_params",
]


def cases(tests: dict[str, list[dict[str, Any]]], sections: list[str]) -> list[Any]:
    """One pytest.param per case, named after its section and description."""
    return [
        pytest.param(section, case, id=f"{section}: {case['description']}")
        for section in sections
        for case in tests[section]
    ]


@pytest.mark.parametrize(("section", "case"), cases(VALIDATE, [name for name, _ in COUNTING]))
def test_weighted_length_matches_twitter_text(section: str, case: dict[str, Any]) -> None:
    discount_emoji = dict(COUNTING)[section]

    parsed = x_parse(case["text"], discount_emoji=discount_emoji)

    got = {
        "weightedLength": parsed.weighted_length,
        "valid": parsed.valid,
        "permillage": parsed.permillage,
        "displayRangeStart": parsed.display_range[0],
        "displayRangeEnd": parsed.display_range[1],
        "validRangeStart": parsed.valid_range[0],
        "validRangeEnd": parsed.valid_range[1],
    }
    assert got == case["expected"]


@pytest.mark.parametrize(("section", "case"), cases(EXTRACT, URL_SECTIONS))
def test_url_extraction_matches_twitter_text(section: str, case: dict[str, Any]) -> None:
    text: str = case["text"]

    spans = x_find_urls(text)

    if section.endswith("_with_indices") or section == "urls_with_directional_markers":
        got: list[Any] = [{"url": text[s:e], "indices": [s, e]} for s, e in spans]
    else:
        got = [text[s:e] for s, e in spans]
    assert got == case["expected"]


def test_the_suite_is_all_there() -> None:
    counted = sum(len(VALIDATE[name]) for name, _ in COUNTING)
    extracted = sum(len(EXTRACT[name]) for name in URL_SECTIONS)
    assert (counted, extracted) == (44, 108)


def test_our_x_config_is_the_suites_v3_config() -> None:
    shipped = json.loads((SUITE / "config-v3.json").read_text(encoding="utf-8"))
    ours = x_config()
    assert {
        "version": ours["version"],
        "maxWeightedTweetLength": ours["max_weighted_tweet_length"],
        "scale": ours["scale"],
        "defaultWeight": ours["default_weight"],
        "emojiParsingEnabled": ours["emoji_parsing_enabled"],
        "transformedURLLength": ours["transformed_url_length"],
        "ranges": ours["ranges"],
    } == shipped
