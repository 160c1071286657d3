"""HTML to clean text: paragraphs, decoded entities, normalised whitespace, sentences.

Everything here is pure and deterministic: no network, no language data to download.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import lxml.etree
import lxml.html
import regex
from lxml.html import HtmlElement

from syndicate.summarise.boilerplate import is_widget, strip_boilerplate

# Never shown to a reader, so never posted: scripts, embeds, widgets and captions. The text
# inside <video> and <audio> is the fallback for browsers without them ("Your browser does not
# support the video tag"), not content.
_DROPPED = frozenset(
    {
        "script", "style", "iframe", "noscript", "object", "embed", "figcaption", "form",
        "button", "svg", "template", "head", "video", "audio", "canvas", "map", "select",
        "textarea",
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
# Blocks whose text is not running prose: headings, list items, code, table rows.
_NOT_PROSE = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "pre", "tr", "table", "caption",
        "summary", "address", "header", "footer", "nav", "aside",
    }
)  # fmt: skip
# Invisible characters a browser does not render as text: soft hyphen, zero-width space, BOM,
# and the control characters other than \t\n\v\f\r. Plain classes like these two are matched
# several times faster by the stdlib `re` than by `regex`.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\ufeff]")
# Characters lxml refuses in text nodes; none of them is visible.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffe\uffff]")

# Abbreviations whose final "." does not end a sentence, lower-cased and without that ".". Left
# out on purpose: common words or names ("Jan", "Mar", "est", "no"), and ones that usually end
# a sentence when a capital follows ("etc.", "Inc.", "Ltd.").
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "rev", "gen", "capt", "lt", "sgt",
        "vs", "approx", "dept", "mt", "ft", "feb", "apr", "jun", "jul", "aug", "sep", "sept",
        "oct", "nov", "dec",
    }
)  # fmt: skip
# Abbreviations only before a number: "No. 5", "Fig. 3", "p. 12"; "I said no. Then" ends.
_NUMBER_ABBREVIATIONS = frozenset(
    {"no", "nos", "fig", "figs", "vol", "p", "pp", "ch", "sec", "eq", "art", "op", "nr"}
)
# A candidate break: terminal punctuation with its closing quotes or brackets, whitespace, then
# something that can open a sentence (a capital, a digit, an opening quote or bracket before a
# capital, or a word like "iPhone"); or a CJK full stop, which needs no space after it.
_BREAK = regex.compile(
    r"""(?P<end>[.!?…]+["'”’»)\]]*)(?P<gap>\s+)
        (?=[\p{Lu}\p{Lt}\p{Nd}"'“‘«„¿¡]|[(\[]\p{Lu}|\p{Ll}+\p{Lu})
      | (?P<end>[。！？]+[」』”’)）]*)(?P<gap>\s*)(?=\S)""",
    regex.VERBOSE,
)
# Every break holds one of these.
_TERMINAL_MARKS = ".!?…。！？"
# Dotted abbreviations and initials: "e.g", "U.S", "J" (the final "." is not included).
_DOTTED = regex.compile(r"(?:\p{L}\.)*\p{L}")
# A list label standing where a sentence would start: "35.", "(2).", "iv.".
_LABEL = regex.compile(r"[(\[]?(?:\p{Nd}{1,3}|[ivxlc]{1,5}|\p{L})[)\]]?", regex.IGNORECASE)
_OPENING = "\"'“‘«„([¿¡"
# The longest label: an opening bracket, five roman numerals, a closing bracket.
_LONGEST_LABEL = 7
_NON_SPACE = re.compile(r"\S")  # `re`'s \s is `str.isspace`, as `str.lstrip` strips
# How far ahead a closing quote may be for a break inside quotes to be skipped: a quote that is
# never closed must not glue the rest of a long paragraph into one sentence.
_QUOTE_REACH = 400
# Images that are not the post's picture: tracking pixels, emoji and avatars.
_NOT_A_PICTURE = regex.compile(
    r"feedburner\.com|feedsportal\.com|stats\.wordpress\.com|pixel\.wp\.com|/emoji/|"
    r"gravatar\.com/avatar|doubleclick\.net|/~r/|/~ff/",
    regex.IGNORECASE,
)
_HIDDEN_STYLE = regex.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", regex.IGNORECASE)
# Containers that hold the whole document: never dropped for a widget-like class.
_DOCUMENT = frozenset({"html", "body", "main", "article"})
# Every element a plain HtmlElement: lxml.html's own lookup (form and input classes) runs in
# Python for each element touched, this one in C.
_PLAIN_HTML = lxml.etree.ElementDefaultClassLookup(
    element=HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


@dataclass(frozen=True)
class Block:
    """One paragraph of clean text and whether it is running prose (not a heading, list item,
    code or table row): prose makes better summary sentences."""

    text: str
    prose: bool = True


@dataclass(frozen=True)
class Content:
    """What a reader sees of an HTML fragment: clean paragraphs and the first real picture."""

    blocks: tuple[Block, ...]
    image_url: str = ""  # as written in the HTML: may be relative
    image_alt: str = ""

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(block.text for block in self.blocks)


def read_content(html: str) -> Content:
    """Clean paragraphs (boilerplate removed) and the first picture of an entry's HTML."""
    root = _parse(html)
    if root is None:
        return Content(())
    found = _read(root, skip=_is_unseen)
    image_url, image_alt = _first_picture(found.images)
    blocks = (
        Block(strip_boilerplate(text), kind not in _NOT_PROSE)
        for kind, text in _blocks(found.chunks)
    )
    return Content(tuple(block for block in blocks if block.text), image_url, image_alt)


def html_to_paragraphs(html: str) -> list[str]:
    """The readable paragraphs of an HTML fragment, entities decoded once, as a browser would.

    Hidden elements and widgets go; boilerplate lines stay (see `clean_paragraphs`)."""
    root = _parse(html)
    return [] if root is None else [text for _, text in _blocks(_read(root, _is_unseen).chunks)]


def clean_paragraphs(html: str) -> list[str]:
    """The paragraphs of an entry's content that belong in a summary: no boilerplate lines."""
    return list(read_content(html).paragraphs)


def clean_text(html: str) -> str:
    """The readable text of an HTML fragment: clean paragraphs separated by a blank line."""
    return "\n\n".join(clean_paragraphs(html))


def inline_text(html: str) -> str:
    """A title or label as one line of plain text: entities decoded, whitespace normalised."""
    if "<" not in html and "&" not in html:
        return _normalise(html)  # plain text already; parsing it would cost more than the rest
    return " ".join(html_to_paragraphs(html))


def normalise_paragraph(text: str) -> str:
    """Plain text as one paragraph: invisible characters removed, whitespace collapsed."""
    return _normalise(text)


def split_sentences(paragraph: str) -> list[str]:
    """Rule-based sentence split of one paragraph of clean text; deterministic, no data files."""
    if not any(mark in paragraph for mark in _TERMINAL_MARKS):
        return [paragraph.strip()] if paragraph.strip() else []  # a heading, a list item
    sentences: list[str] = []
    start = 0
    for candidate in _BREAK.finditer(paragraph):
        if _is_false_break(paragraph, start, candidate):
            continue
        sentences.append(paragraph[start : candidate.end("end")])
        start = candidate.end("gap")
    sentences.append(paragraph[start:])
    return [sentence.strip() for sentence in sentences if sentence.strip()]


def visible_tree(html: str) -> HtmlElement | None:
    """The parsed document without what a reader never sees: hidden elements, embeds, widgets.

    None when there is nothing to parse. libxml2's HTML5 tokenizer decodes entities as a
    browser does (all HTML5 names, "&copy" without ";", Windows-1252 numbers)."""
    root = _parse(html)
    if root is None:
        return None
    for element in [e for e in root.iter() if isinstance(e, HtmlElement) and _is_unseen(e)]:
        element.drop_tree()  # keeps the text that follows it
    return root


def paragraphs_of(root: HtmlElement) -> list[str]:
    """The normalised, non-empty paragraphs under `root`, in document order."""
    return [text for _, text in _blocks(_read(root).chunks)]


def attribute(element: HtmlElement, name: str) -> str:
    """An attribute's value, "" when absent."""
    return str(element.get(name) or "")


def _parse(html: str) -> HtmlElement | None:
    data = _NOT_XML.sub("", html.replace("\f", " ")).encode("utf-8", "replace")
    if not data.strip():
        return None
    # A parser per call: lxml parsers must not be shared between threads. huge_tree lifts
    # libxml2's nesting limit from 256 to 2048 levels; past that it stops reading.
    parser = lxml.html.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True
    )
    parser.set_element_class_lookup(_PLAIN_HTML)
    try:
        return lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None  # "Document is empty": only markup that holds no element


def _is_unseen(element: HtmlElement) -> bool:
    """Whether a reader never sees this element as content: hidden, an embed or a widget."""
    tag = element.tag
    if not isinstance(tag, str) or tag in _DROPPED:
        return True
    if tag in _DOCUMENT:
        return False
    style = element.get("style")
    if element.get("hidden") is not None or (style and _HIDDEN_STYLE.search(style)):
        return True
    classes, name = element.get("class"), element.get("id")
    return bool(classes or name) and is_widget([*(classes or "").split(), name or ""])


def _first_picture(images: list[HtmlElement]) -> tuple[str, str]:
    for img in images:
        # Lazy-loading themes keep the real address in data-src and a placeholder in src.
        src = attribute(img, "data-src") or attribute(img, "src")
        if not src or src.startswith("data:") or _NOT_A_PICTURE.search(src):
            continue
        if _is_pixel(img) or "emoji" in attribute(img, "class").lower():
            continue
        return src.strip(), _normalise(attribute(img, "alt"))
    return "", ""


def _is_pixel(img: HtmlElement) -> bool:
    sizes = (attribute(img, "width"), attribute(img, "height"))
    return any(size.removesuffix("px").strip() in {"0", "1", "2"} for size in sizes)


def _blocks(chunks: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """(innermost block element, normalised text) of each non-empty paragraph."""
    texts = ((kind, _normalise("".join(parts))) for kind, parts in chunks)
    return [(kind, text) for kind, text in texts if text]


@dataclass
class _Found:
    chunks: list[tuple[str, list[str]]] = field(default_factory=lambda: [("", [])])
    images: list[HtmlElement] = field(default_factory=list)


def _read(root: HtmlElement, skip: Callable[[HtmlElement], bool] | None = None) -> _Found:
    """Text between block boundaries, in document order, with the block element it is in, and
    the images, in one walk. Elements that `skip` names are left out as `drop_tree` leaves them
    out (their tail stays), so `_read(root, _is_unseen)` reads what `visible_tree` keeps.

    lxml's `iterwalk` visits the tree without recursion (deeply nested markup must not hit the
    recursion limit): an element's text comes at its start, its tail after its end.
    """
    found, kinds = _Found(), [""]
    depth, dropped = 0, False
    walk = lxml.etree.iterwalk(root, events=("start", "end"))
    for event, element in walk:
        seen = isinstance(element, HtmlElement)  # anything else only has its tail read
        tag = element.tag if seen else None
        if event == "start":
            depth += 1
            if seen and skip is not None and skip(element):
                walk.skip_subtree()  # its end comes next
                dropped = True
                continue
            if tag in _BLOCKS:
                kinds.append(tag)
                found.chunks.append((tag, []))
            elif tag == "img":
                found.images.append(element)
            if seen:
                found.chunks[-1][1].append(element.text or "")
            continue
        depth -= 1
        if dropped:
            dropped = False
        elif tag in _CELLS:
            found.chunks[-1][1].append(" ")  # a browser sets cells apart: "a</td><td>b"
        elif tag in _BLOCKS:
            kinds.pop()
            found.chunks.append((kinds[-1], []))
        if depth:  # the root's tail is outside the document
            found.chunks[-1][1].append(element.tail or "")
    return found


def _normalise(text: str) -> str:
    # Python's whitespace is `regex`'s \s plus four control characters, gone by then: the
    # no-break and other Unicode spaces become plain spaces too.
    return " ".join(_INVISIBLE.sub("", text).split())


def _is_false_break(paragraph: str, start: int, candidate: regex.Match[str]) -> bool:
    """Whether a candidate break is not the end of a sentence."""
    end = candidate.end("end")
    terminal = candidate.group("end")
    if _inside_quote(paragraph, start, end):
        return True
    stop = candidate.start("end")
    if stop - start <= _LONGEST_LABEL and _LABEL.fullmatch(paragraph[start:stop]):
        return True  # "35. Jacques Laffite": a list number, not a sentence
    return _is_abbreviation(paragraph, candidate.start("end"), terminal)


def _inside_quote(paragraph: str, start: int, end: int) -> bool:
    """Whether the sentence so far (`start` to `end`) opens a quotation that closes further on.

    Counted in place: a long paragraph has many candidate breaks, and copies of the sentence so
    far would make it quadratic."""
    reach = end + _QUOTE_REACH
    for opening, closing in (("“", "”"), ("«", "»")):
        opened = paragraph.count(opening, start, end) > paragraph.count(closing, start, end)
        if opened and paragraph.find(closing, end, reach) >= 0:
            return True
    return paragraph.count('"', start, end) % 2 == 1 and paragraph.find('"', end, reach) >= 0


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
    if word.lower() in _NUMBER_ABBREVIATIONS and _digit_follows(paragraph, end + len(terminal)):
        return True
    # Initials ("J. R. R."), dotted abbreviations ("e.g.", "U.S."), but not a plain word.
    if len(word) == 1:
        return word.isupper()
    return "." in word and _DOTTED.fullmatch(word) is not None


def _digit_follows(paragraph: str, position: int) -> bool:
    """Whether the first non-space character from `position` on is a digit."""
    match = _NON_SPACE.search(paragraph, position)
    return match is not None and match.group().isdigit()
