"""HTML to clean text: paragraphs, decoded entities, normalised whitespace, sentences.

Everything here is pure and deterministic: no network, no language data to download.
"""

from __future__ import annotations

import warnings

import regex
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from bs4.element import CData, NavigableString, Tag

# Never shown to a reader, so never posted: scripts, embeds, widgets and captions.
_DROPPED = frozenset(
    {
        "script", "style", "iframe", "noscript", "object", "embed", "figcaption", "form",
        "button", "svg", "template", "head",
    }
)  # fmt: skip
# Elements a browser lays out as blocks; each one starts and ends a paragraph.
_BLOCKS = frozenset(
    {
        "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "br", "pre", "tr",
        "section", "article", "ul", "ol", "dl", "dt", "dd", "table", "hr", "figure", "header",
        "footer", "aside", "nav", "main", "address", "details", "summary", "caption",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
# Invisible characters a browser does not render as text: soft hyphen, zero-width space, BOM.
_INVISIBLE = regex.compile(r"[\u00ad\u200b\ufeff]|[^\P{Cc}\t\n\r\f\v]")
_SPACES = regex.compile(r"\s+")

# Abbreviations whose final "." does not end a sentence, lower-cased and without that ".".
# Left out on purpose: ones that are also common words or names ("Jan", "Mar", "est").
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "rev", "gen", "capt", "lt", "sgt",
        "etc", "vs", "inc", "ltd", "co", "corp", "no", "nos", "fig", "figs", "vol", "pp",
        "approx", "dept", "mt", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
        "dec",
    }
)  # fmt: skip
# A candidate break: terminal punctuation, closing quotes or brackets, whitespace, and then
# something that can open a sentence (capital, digit or opening quote).
_BREAK = regex.compile(
    r"""(?P<end>[.!?…]+["'”’»)\]]*)(?P<gap>\s+)(?=[\p{Lu}\p{Lt}\p{Nd}"'“‘«„¿¡])"""
)
# Dotted abbreviations and initials: "e.g", "U.S", "J" (the final "." is not included).
_DOTTED = regex.compile(r"(?:\p{L}\.)*\p{L}")
_OPENING = "\"'“‘«„([¿¡"


def html_to_paragraphs(html: str) -> list[str]:
    """The readable paragraphs of an HTML fragment, entities decoded once, as a browser would."""
    with warnings.catch_warnings():
        # Short text that looks like a URL or a file name is still text to us.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(sorted(_DROPPED)):
        tag.decompose()
    paragraphs = (_normalise(chunk) for chunk in _text_chunks(soup))
    return [paragraph for paragraph in paragraphs if paragraph]


def clean_text(html: str) -> str:
    """The readable text of an HTML fragment: paragraphs separated by a blank line."""
    return "\n\n".join(html_to_paragraphs(html))


def split_sentences(paragraph: str) -> list[str]:
    """Rule-based sentence split of one paragraph of clean text; deterministic, no data files."""
    sentences: list[str] = []
    start = 0
    for candidate in _BREAK.finditer(paragraph):
        if _is_abbreviation(paragraph, candidate.start(), candidate.group("end")):
            continue
        sentences.append(paragraph[start : candidate.end("end")])
        start = candidate.end("gap")
    sentences.append(paragraph[start:])
    return [sentence.strip() for sentence in sentences if sentence.strip()]


def _text_chunks(root: Tag) -> list[str]:
    """Text between block boundaries, in document order.

    Walks the tree with an explicit stack: deeply nested markup must not hit the recursion limit.
    """
    chunks: list[list[str]] = [[]]
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if node is _BOUNDARY:
            chunks.append([])
        elif isinstance(node, Tag):
            children: list[object] = list(node.contents)
            if node.name in _BLOCKS:
                children = [_BOUNDARY, *children, _BOUNDARY]
            elif node.name in _CELLS:
                children.append(" ")  # a browser sets cells apart; "a</td><td>b" is not "ab"
            # Reversed, so that they pop in document order.
            stack.extend(reversed(children))
        elif type(node) in (str, NavigableString, CData):
            # Comments, doctypes and processing instructions are NavigableString subclasses.
            chunks[-1].append(str(node))
    return ["".join(chunk) for chunk in chunks]


_BOUNDARY = object()


def _normalise(text: str) -> str:
    visible: str = _INVISIBLE.sub("", text)
    # \s covers the no-break and other Unicode spaces, so they become plain spaces too.
    collapsed: str = _SPACES.sub(" ", visible)
    return collapsed.strip()


def _is_abbreviation(paragraph: str, end: int, terminal: str) -> bool:
    """Whether the "." at `end` closes an abbreviation or an initial rather than a sentence."""
    if not terminal.startswith(".") or terminal.rstrip("\"'”’»)]") != ".":
        return False
    start = end
    while start > 0 and not paragraph[start - 1].isspace():
        start -= 1
    word = paragraph[start:end].lstrip(_OPENING)
    if word.lower() in _ABBREVIATIONS:
        return True
    # Initials ("J. R. R."), dotted abbreviations ("e.g.", "U.S."), but not a plain word.
    if len(word) == 1:
        return word.isupper()
    return "." in word and _DOTTED.fullmatch(word) is not None
