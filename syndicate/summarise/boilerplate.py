"""Feed and page boilerplate that must never reach a summary.

Two kinds: widgets recognised by their markup (share bars, comment blocks, related-post lists),
dropped before any text is taken, and lines recognised by their words ("Read more", "The post …
appeared first on …", "0 comments"), dropped or trimmed from the clean paragraphs. The line rules
only match a phrase where it stands on its own or closes a paragraph, because the same words are
ordinary prose mid-sentence ("you can read more about it in my guide").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import regex

# class or id values of embedded widgets and captions: WordPress Jetpack (sharedaddy,
# jp-relatedposts), AddToAny, Blogger (post-share-buttons, blogger-post-footer), FeedBurner flares,
# comment sections. A value must match whole: body and article elements carry classes such as
# "comments-open" or "category-social-media" and must stay. A bare "comment" is left alone: code
# highlighters use it.
_WIDGET = regex.compile(
    r"""(?:
        (?:share|sharing|sharedaddy|sharethis|addtoany|a2a|jp-relatedposts|relatedposts
          |related-posts|related_posts|yarpp|crp_related|sd-sharing|sd-like|wpl-likebox
          |wp-block-buttons|feedflare|printfriendly)(?:[-_][\w-]*)?
        | social(?:[-_](?:links?|icons?|share|sharing|buttons?|networks?|bar|media-\w+))?
        | (?:post|entry|article)[-_]share(?:[-_][\w-]*)?
        | comments|comment-list|commentlist|comments-area|comment-respond|respond|disqus_thread
        | post-footer|blogger-post-footer|wp-caption-text|gallery-caption
    )""",
    regex.VERBOSE | regex.IGNORECASE,
)

# Sharing targets: a paragraph made only of these words is a share bar
# ("Twitter Delicious Facebook Digg Stumbleupon Favorites More", "Email This BlogThis! …").
_SHARE_WORDS = frozenset(
    {
        "twitter", "x", "delicious", "facebook", "digg", "stumbleupon", "favorites", "more",
        "email", "this", "blogthis", "share", "to", "on", "pinterest", "linkedin", "reddit",
        "tumblr", "whatsapp", "telegram", "print", "pocket", "mastodon", "bluesky", "threads",
        "google+", "google", "buffer", "flipboard", "mix", "hacker", "news", "skype", "messenger",
    }
)  # fmt: skip
_WORD = regex.compile(r"[\p{L}\p{N}+]+")

_ARROWS = r"[→»›>…]|\.{3}"
# What may follow "Read more" or "Continue reading" in a link line: nothing, a mark, a quoted
# title, or where ("on Medium", "about the release"). "Read more books" is a sentence.
_LINK_TAIL = r"""(?:\s*(?:[:»→›…“"]|\.{3})|\s+(?:on|at|here|about|of|in)\b|\s*$).{0,200}"""
# A paragraph that is nothing but boilerplate, matched whole and case-insensitively.
_WHOLE_LINE = regex.compile(
    rf"""^(?:
        the\ post\ .+\ appeared\ first\ on\ .+
        | (?:continue|keep)\ reading{_LINK_TAIL}
        | read\ (?:more|the\ rest|full\ (?:topic|post|article|story)){_LINK_TAIL}
        | (?:share|like)\ this:.{{0,200}}
        | click\ to\ (?:share|email|print)\b.{{0,200}}
        | like\ loading(?:\.{{3}}|…)? | loading(?:\.{{3}}|…)
        | related(?:\ (?:posts|articles|stories|reading))?:?
        | related:\ .{{0,200}}
        | (?:\d+|no|one)\ (?:comments?|responses?|replies)(?:\ so\ far)?:?(?:\ »)?
        | (?:post|leave|add)\ a\ (?:comment|reply)(?:\ \(\d+\))?
        | (?:\[(?:…|\.{{3}})\])
        | your\ browser\ does\ not\ support\ the\ (?:video|audio)\ (?:tag|element)\.?
        | (?:\[/?[\p{{L}}_][^\]]{{0,200}}\]\s*)+
    )\s*(?:{_ARROWS})*\s*$""",
    regex.VERBOSE | regex.IGNORECASE,
)
# Boilerplate closing an otherwise real paragraph, stripped repeatedly from its end. Each starts
# where a sentence may start, so "you can read more about it" is prose and stays. Each comes
# with the words it cannot match without: looking for them first spares most paragraphs the
# scan.
_READ_ON = ("Continue reading", "Keep reading", "Read more", "Read More", "READ MORE")
_TRAILING = (
    # "… [more text] The post Title appeared first on Blog." (WordPress Yoast footer)
    (
        (" appeared first on ",),
        regex.compile(r"(?:^|(?<=[.!?…\])”\"’]\s))The post .+ appeared first on .+$"),
    ),
    # "Continue reading →", "Continue reading “Title” →", "Read more »", "(Read more…)".
    (
        (*_READ_ON, "Read the rest"),
        regex.compile(
            rf"(?:^|(?<=[.!?…\])”\"’:]\s?)|\s)[\[(]?(?:Continue reading|Keep reading|Read more|"
            rf"Read More|READ MORE|Read the rest)(?:\s+(?:of\s+)?[“\"][^”\"]{{0,200}}[”\"])?"
            rf"\s*(?:{_ARROWS}|[.:])*[\])]?$"
        ),
    ),
    # The truncation mark of feed excerpts: "text [&hellip;]", "text [...]".
    (("[…]", "[...]"), regex.compile(r"\s*\[(?:…|\.{3})\]$")),
)
# Any of those words: most paragraphs have none, which one search tells.
_TRAILING_WORDS = re.compile("|".join(re.escape(word) for words, _ in _TRAILING for word in words))
_SENTENCE_END = ".!?…。！？\"'”’)]"


def is_widget(tokens: Iterable[str]) -> bool:
    """Whether an element with these class/id values is a share, comment or related widget."""
    return any(_is_widget_token(token) for token in tokens if token)


# Themes repeat the same few class names on every element of every post.
@functools.lru_cache(maxsize=4096)
def _is_widget_token(token: str) -> bool:
    return _WIDGET.fullmatch(token) is not None


def is_boilerplate(paragraph: str) -> bool:
    """Whether a whole clean paragraph is feed or page boilerplate."""
    return _WHOLE_LINE.match(paragraph) is not None or _is_share_bar(paragraph)


def _is_share_bar(paragraph: str) -> bool:
    """Three or more words, all of them sharing targets; stops at the first other word."""
    words = 0
    for word in _WORD.finditer(paragraph.casefold()):
        if word.group() not in _SHARE_WORDS:
            return False
        words += 1
    return words >= 3


def trim_boilerplate(paragraph: str) -> str:
    """The paragraph without boilerplate at its end; a cut sentence is marked with "…"."""
    if not _TRAILING_WORDS.search(paragraph):
        return paragraph
    # Trimming leaves a prefix (and "…"): patterns whose words are not in the paragraph never
    # match, so they are left out from the start.
    patterns = [pattern for needed, pattern in _TRAILING if any(w in paragraph for w in needed)]
    text = paragraph
    changed = bool(patterns)
    while changed:
        changed = False
        for pattern in patterns:
            match = pattern.search(text)
            if match:
                text, truncated = text[: match.start()].rstrip(), match.group().strip()
                changed = True
                if truncated.startswith("[") and text and text[-1] not in _SENTENCE_END:
                    # "[…]" closed a cut sentence: keep it visibly unfinished.
                    text = text.rstrip(",;:–— ") + "…"
    return text


def strip_boilerplate(paragraph: str) -> str:
    """The paragraph with boilerplate trimmed from its end; "" when it is all boilerplate."""
    if is_boilerplate(paragraph):
        return ""
    trimmed = trim_boilerplate(paragraph)
    return "" if trimmed != paragraph and is_boilerplate(trimmed) else trimmed


def remove_boilerplate(paragraphs: Iterable[str]) -> list[str]:
    """Clean paragraphs with boilerplate lines dropped and boilerplate endings trimmed."""
    return [kept for kept in map(strip_boilerplate, paragraphs) if kept]
