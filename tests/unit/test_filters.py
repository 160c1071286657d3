"""Per-feed filters and routing: include/exclude categories and routes to accounts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.feeds.filters import FeedRules, category_key, route, wanted
from syndicate.model import FeedEntry

DEFAULT = ("mastodon", "bluesky")


def tagged(*categories: str) -> FeedEntry:
    return FeedEntry(
        identity="1",
        link="https://b.example.com/1",
        title="t",
        content_html="",
        categories=categories,
    )


@pytest.mark.parametrize(
    ("categories", "include", "exclude", "expected"),
    [
        ((), (), (), True),  # no filters: everything goes
        (("News",), ("news",), (), True),  # case-insensitive
        (("Social  Media",), ("social media",), (), True),  # spaces collapsed
        (("Cats",), ("news",), (), False),  # include needs a match
        ((), ("news",), (), False),  # an untagged entry fails an include filter
        (("News", "Draft"), ("news",), ("DRAFT",), False),  # exclude beats include
        (("Draft",), (), ("draft",), False),
        (("Cats",), (), ("draft",), True),
    ],
)
def test_include_and_exclude_filters(
    categories: tuple[str, ...], include: tuple[str, ...], exclude: tuple[str, ...], expected: bool
) -> None:
    rules = FeedRules(include=include, exclude=exclude)
    assert wanted(tagged(*categories), rules) is expected
    assert bool(route(tagged(*categories), DEFAULT, rules)) is expected


FRENCH = FeedRules(
    routes=(
        ("Français", ("mastodon-fr",)),
        ("Podcast", ("mastodon", "bluesky", "threads")),
        ("Private", ()),
    )
)


@pytest.mark.parametrize(
    ("categories", "accounts"),
    [
        ((), DEFAULT),  # no route matches: the feed's accounts
        (("Cats",), DEFAULT),
        (("FRANÇAIS",), ("mastodon-fr",)),  # a route replaces the defaults
        (("podcast",), ("mastodon", "bluesky", "threads")),  # ... or lists them to add to them
        (("podcast", "français"), ("mastodon-fr", "mastodon", "bluesky", "threads")),  # union
        (("private",), ()),  # a route to no accounts drops the entry
        (("private", "podcast"), ("mastodon", "bluesky", "threads")),
    ],
)
def test_routes_choose_the_accounts(categories: tuple[str, ...], accounts: tuple[str, ...]) -> None:
    assert route(tagged(*categories), DEFAULT, FRENCH) == accounts


def test_filters_apply_before_routes() -> None:
    rules = FeedRules(exclude=("draft",), routes=(("podcast", ("threads",)),))
    assert route(tagged("Podcast", "Draft"), DEFAULT, rules) == ()


def test_without_rules_every_entry_goes_to_the_defaults() -> None:
    assert route(tagged("anything"), DEFAULT) == DEFAULT


names = st.text(st.sampled_from("abcAB Éé"), min_size=1, max_size=6)


@given(
    categories=st.lists(names, max_size=4),
    include=st.lists(names, max_size=3),
    exclude=st.lists(names, max_size=3),
)
def test_filter_results_ignore_case_and_never_invent_accounts(
    categories: list[str], include: list[str], exclude: list[str]
) -> None:
    rules = FeedRules(
        include=tuple(include),
        exclude=tuple(exclude),
        routes=tuple((c, ("routed",)) for c in include),
    )
    shouted = tagged(*(c.upper() for c in categories))
    assert route(tagged(*categories), DEFAULT, rules) == route(shouted, DEFAULT, rules)
    accounts = route(tagged(*categories), DEFAULT, rules)
    assert set(accounts) <= {*DEFAULT, "routed"}
    assert len(set(accounts)) == len(accounts)
    if {category_key(c) for c in categories} & {category_key(c) for c in exclude}:
        assert accounts == ()
