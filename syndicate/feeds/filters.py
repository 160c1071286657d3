"""Per-feed filters and routing: which accounts, if any, an entry goes to.

Pure: the caller records every entry it polled, filtered out or not, so an entry that a
filter drops is seen and is never posted later (not even if the filter changes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from syndicate.model import FeedEntry


@dataclass(frozen=True)
class FeedRules:
    """A feed's filters and routes. Categories match case-insensitively, spaces collapsed.

    - `include`: when not empty, an entry needs at least one of these categories.
    - `exclude`: an entry with any of these categories is dropped; exclude beats include.
    - `routes`: (category, accounts) pairs. An entry that matches one or more routes goes to
      the accounts of every matching route (in rule order, each once) *instead of* the
      feed's default accounts; an entry that matches none goes to the defaults. A route that
      should add to the defaults lists them too; a route to no accounts drops the entry.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    routes: tuple[tuple[str, tuple[str, ...]], ...] = ()


NO_RULES = FeedRules()


def category_key(category: str) -> str:
    """How categories compare: `Social  Media` and `social media` are the same category."""
    return " ".join(category.split()).casefold()


def wanted(entry: FeedEntry, rules: FeedRules) -> bool:
    """Whether the include/exclude filters let the entry through."""
    categories = _keys(entry.categories)
    if categories & _keys(rules.exclude):
        return False
    return not rules.include or bool(categories & _keys(rules.include))


def route(
    entry: FeedEntry, default_accounts: tuple[str, ...], rules: FeedRules = NO_RULES
) -> tuple[str, ...]:
    """The accounts to deliver the entry to; () when it is filtered out (store it as seen)."""
    if not wanted(entry, rules):
        return ()
    categories = _keys(entry.categories)
    matched = [
        accounts for category, accounts in rules.routes if category_key(category) in categories
    ]
    if not matched:
        return default_accounts
    return tuple(dict.fromkeys(account for accounts in matched for account in accounts))


def _keys(categories: Iterable[str]) -> set[str]:
    return {category_key(category) for category in categories}
