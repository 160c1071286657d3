"""An entry's HTML cleaned the way feedparser cleans it: relative URIs resolved against the
element's base URL, then sanitised. RSS/Atom (`parse`) and JSON Feed (`jsonfeed`) share it."""

from __future__ import annotations

from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris


def clean_html(markup: str, base: str, kind: str = "text/html", encoding: str = "utf-8") -> str:
    return sanitize(resolve_relative_uris(markup, base, encoding, kind), kind, encoding)


def sanitize(markup: str, kind: str = "text/html", encoding: str = "utf-8") -> str:
    cleaned: str = _sanitize_html(markup, encoding, kind)
    return cleaned
