"""Hashtags and category lists from a summary's raw feed categories, per account options."""

from __future__ import annotations

from collections.abc import Iterable

import regex

from syndicate.model import ComposeOptions
from syndicate.platforms.textlen import grapheme_length, utf8_length

# Hashtag bodies keep letters (with their marks), decimal digits and the underscore.
_TAG_WORD = regex.compile(r"[\p{L}\p{M}\p{Nd}_]+")
_APOSTROPHES = regex.compile(r"['’]")
_LETTER = regex.compile(r"\p{L}")
# Names whose symbols carry the meaning: "C++" -> "Cpp", "C#" -> "CSharp" (not "C").
_PLUS_PLUS = regex.compile(r"(?<=\w)\+\+")
_SHARP = regex.compile(r"(?<=\w)#(?!\w)")
# Bluesky's tag facet limits, which also keep junk out everywhere else.
_MAX_TAG_GRAPHEMES = 64
_MAX_TAG_BYTES = 640


def hashtags_from(
    categories: Iterable[str], options: ComposeOptions | None = None
) -> tuple[str, ...]:
    """Hashtag bodies (no "#") for `categories`, in order, as `options` ask.

    "Social Media" becomes "SocialMedia" (or is dropped when `camel_case_tags` is off, as are
    all multi-word categories); tags without a letter ("2011") and repeats (compared without
    case) are dropped; at most `max_hashtags`; none when `hashtags` is off.
    """
    options = options or ComposeOptions()
    if not options.hashtags:
        return ()
    tags: list[str] = []
    seen: set[str] = set()
    for category in allowed_categories(categories, options):
        tag = _tag(category, camel_case=options.camel_case_tags)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tuple(tags[: max(0, options.max_hashtags)])


def allowed_categories(categories: Iterable[str], options: ComposeOptions) -> tuple[str, ...]:
    """The raw categories that pass the allow and deny lists (compared without case), once each."""
    allow = {c.strip().casefold() for c in options.categories_allow}
    deny = {c.strip().casefold() for c in options.categories_deny}
    kept: dict[str, str] = {}
    for category in categories:
        key = category.strip().casefold()
        if key and key not in deny and (not allow or key in allow):
            kept.setdefault(key, category.strip())
    return tuple(kept.values())


def _tag(category: str, *, camel_case: bool) -> str:
    spelled = _SHARP.sub("Sharp", _PLUS_PLUS.sub("pp", _APOSTROPHES.sub("", category)))
    words: list[str] = _TAG_WORD.findall(spelled)
    if len(words) > 1 and not camel_case:
        return ""
    tag = camel_case_tag(words).strip("_")
    if not _LETTER.search(tag):
        return ""
    if grapheme_length(tag) > _MAX_TAG_GRAPHEMES or utf8_length(tag) > _MAX_TAG_BYTES:
        return ""
    return tag


def camel_case_tag(words: list[str]) -> str:
    """["Social", "media"] -> "SocialMedia"; "iPad" and "OMS" keep their own capitals."""
    return "".join(word[0].upper() + word[1:] if word.islower() else word for word in words)
