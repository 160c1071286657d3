"""The main text of a web page, for entries whose feed carries only a summary.

Pure: the caller fetches the page (with the feed fetcher's caps) and passes its HTML here.
trafilatura finds the post body with comments excluded (reference/feeds.md §6: its defaults keep
the comment block and "Post a Comment"); when it finds nothing, a plain DOM walk takes the
likeliest content container. Either way the boilerplate line filter runs last.
"""

from __future__ import annotations

import regex
import trafilatura
from lxml.html import HtmlElement

from syndicate.summarise.boilerplate import remove_boilerplate
from syndicate.summarise.text import attribute, html_to_paragraphs, paragraphs_of, visible_tree

# Page furniture around a post, by element or by whole class/id value.
_LAYOUT_ELEMENTS = frozenset({"header", "footer", "nav", "aside"})
_LAYOUT = regex.compile(
    r"(?:sidebar|side-bar|footer|site-footer|header|site-header|masthead|nav|navbar|navigation"
    r"|menu|breadcrumbs?|widgets?|blog-archive|skip-link|cookie[-_]?\w*)(?:[-_][\w-]*)?",
    regex.IGNORECASE,
)
# The post body in common blog templates, most specific first.
_BODY_CLASSES = ("post-body", "entry-content", "post-content", "article-body", "article-content")


def extract_page(html: str, url: str = "") -> list[str]:
    """The main text paragraphs of a web page: no comments, sidebar, footer or share bar."""
    if not html.strip():
        return []  # trafilatura would log an error for an empty document
    extracted = trafilatura.extract(
        html,
        url=url or None,
        output_format="html",
        include_comments=False,
        include_images=False,
        include_links=False,
        include_tables=True,
        deduplicate=False,
    )
    if not extracted:
        return fallback_paragraphs(html)
    # trafilatura keeps a line break inside a paragraph as a bare newline; a break it is.
    return remove_boilerplate(html_to_paragraphs(extracted.replace("\n", "<br>")))


def fallback_paragraphs(html: str) -> list[str]:
    """The paragraphs of the likeliest post container, page furniture and boilerplate removed.

    Used when trafilatura finds no main text (fragments, very short posts)."""
    root = visible_tree(html)
    if root is None:
        return []
    for element in [e for e in root.iter() if isinstance(e, HtmlElement) and _is_layout(e)]:
        element.drop_tree()
    return remove_boilerplate(paragraphs_of(_main_container(root)))


def _is_layout(element: HtmlElement) -> bool:
    if element.tag in _LAYOUT_ELEMENTS:
        return True
    if element.tag in {"html", "body", "main", "article"}:
        return False
    values = [*attribute(element, "class").split(), attribute(element, "id")]
    return any(_LAYOUT.fullmatch(value) for value in values if value)


def _main_container(root: HtmlElement) -> HtmlElement:
    """The post body by microdata, by a common class name, else <article>, <main> or all."""
    for element in root.iter():
        if element.get("itemprop") == "articleBody":
            return element
    for name in _BODY_CLASSES:
        found = root.find_class(name)
        if found:
            return found[0]
    for tag in ("article", "main"):
        for element in root.iter(tag):
            return element
    return root
