"""Properties of the URL normaliser and of entry identity (hypothesis)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from syndicate.feeds.identity import entry_identity, normalise_url

TRACKING_KEYS = ["utm_source", "utm_medium", "UTM_Campaign", "utm_", "fbclid", "gclid"]

schemes = st.sampled_from(["http", "https"])
hosts = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){1,2}", fullmatch=True)
paths = st.from_regex(r"(/([a-zA-Z0-9_.~!$'()*+,;=:@-]|%[0-9A-F]{2}){0,8}){0,4}", fullmatch=True)
# Keys are never tracking keys: they start with a letter other than u, f, g.
keys = st.from_regex(r"[a-eh-tv-zA-Z][a-zA-Z0-9_]{0,8}", fullmatch=True)
values = st.text(max_size=8).map(lambda s: quote(s, safe=""))
pairs = st.lists(st.tuples(keys, values).map("=".join), max_size=4)
whitespace = st.text(" \t\r\n", max_size=3)


def url(scheme: str, host: str, path: str, query: list[str]) -> str:
    return f"{scheme}://{host}{path}" + ("?" + "&".join(query) if query else "")


def swap_case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if i < len(flips) and flips[i] else c for i, c in enumerate(text))


@given(st.text())
@example("http:////x")
@example("http://[::1]:80/a")
@example("http://[bad/")
@example("http://a:99999/x")
@example("")
def test_normalising_arbitrary_text_never_raises_and_is_idempotent(text: str) -> None:
    once = normalise_url(text)
    assert normalise_url(once) == once


@given(schemes, hosts, paths, pairs)
def test_normalising_a_url_is_idempotent(scheme: str, host: str, path: str, q: list[str]) -> None:
    once = normalise_url(url(scheme, host, path, q))
    assert normalise_url(once) == once


@given(schemes, hosts, paths, pairs, st.lists(st.booleans()), st.lists(st.booleans()))
def test_scheme_and_host_are_case_insensitive(
    scheme: str, host: str, path: str, q: list[str], f1: list[bool], f2: list[bool]
) -> None:
    shouted = url(swap_case(scheme, f1), swap_case(host, f2), path, q)
    assert normalise_url(shouted) == normalise_url(url(scheme, host, path, q))


@given(schemes, hosts, paths, pairs)
def test_the_default_port_is_dropped(scheme: str, host: str, path: str, q: list[str]) -> None:
    port = {"http": 80, "https": 443}[scheme]
    assert normalise_url(url(scheme, f"{host}:{port}", path, q)) == normalise_url(
        url(scheme, host, path, q)
    )


@given(schemes, hosts, st.integers(1, 65535), paths)
def test_any_other_port_is_kept(scheme: str, host: str, port: int, path: str) -> None:
    default = {"http": 80, "https": 443}[scheme]
    netloc = urlsplit(normalise_url(url(scheme, f"{host}:{port}", path, []))).netloc
    assert netloc == (host if port == default else f"{host}:{port}")


@given(schemes, hosts, paths, pairs, st.text())
def test_the_fragment_is_dropped(
    scheme: str, host: str, path: str, q: list[str], fragment: str
) -> None:
    plain = url(scheme, host, path, q)
    assert normalise_url(f"{plain}#{fragment}") == normalise_url(plain)


@given(schemes, hosts, paths, pairs, st.data())
def test_tracking_parameters_are_dropped_wherever_they_are(
    scheme: str, host: str, path: str, q: list[str], data: st.DataObject
) -> None:
    noisy = list(q)
    for key in data.draw(st.lists(st.sampled_from(TRACKING_KEYS), max_size=3)):
        noisy.insert(data.draw(st.integers(0, len(noisy))), f"{key}={data.draw(values)}")
    assert normalise_url(url(scheme, host, path, noisy)) == normalise_url(
        url(scheme, host, path, q)
    )


@given(schemes, hosts, paths, pairs)
def test_other_query_parameters_are_kept_as_written_and_in_order(
    scheme: str, host: str, path: str, q: list[str]
) -> None:
    kept = urlsplit(normalise_url(url(scheme, host, path, q))).query
    assert kept == "&".join(p for p in q if p)


def test_normalised_url_examples() -> None:
    assert normalise_url("HTTPS://Example.COM:443") == "https://example.com/"
    assert normalise_url("http://[::1]:80/a") == "http://[::1]/a"
    assert normalise_url("http://[::1]:8080/a") == "http://[::1]:8080/a"
    assert normalise_url("https://e.com/?q=a+b&ref=x&fbclid=1") == "https://e.com/?q=a+b"
    assert normalise_url("https://e.com/?flag&&b=") == "https://e.com/?flag&b="
    assert normalise_url("  not a url  ") == "not a url"


ids = st.text(min_size=1).filter(str.strip)
text = st.text()


@given(ids, text, text, text)
def test_a_non_blank_id_wins(entry_id: str, link: str, title: str, published: str) -> None:
    assert entry_identity(entry_id, link, title, published) == entry_id.strip()


@given(text, text, text, text, text)
def test_identity_is_stable(
    entry_id: str, link: str, title: str, published: str, content: str
) -> None:
    first = entry_identity(entry_id, link, title, published, content)
    assert first == entry_identity(entry_id, link, title, published, content)
    assert first


@given(text, text, text, text, text, whitespace, whitespace)
def test_identity_ignores_surrounding_whitespace(
    entry_id: str, link: str, title: str, published: str, content: str, pre: str, post: str
) -> None:
    padded = [f"{pre}{value}{post}" for value in (entry_id, link, title, published, content)]
    assert entry_identity(*padded) == entry_identity(entry_id, link, title, published, content)


@given(st.lists(st.text(min_size=1).filter(str.strip), min_size=1), st.lists(whitespace))
def test_a_hashed_identity_ignores_how_the_title_is_spaced(
    words: list[str], gaps: list[str]
) -> None:
    spaced = "".join(f"{w} {gaps[i] if i < len(gaps) else ''}" for i, w in enumerate(words))
    assert entry_identity("", "", spaced, "2026-01-01") == entry_identity(
        "", "", " ".join(" ".join(words).split()), "2026-01-01"
    )


@given(hosts, paths)
def test_without_an_id_the_normalised_link_is_the_identity(host: str, path: str) -> None:
    link = f"HTTPS://{host.upper()}{path}?utm_source=rss#top"
    assert entry_identity(" ", link, "t", "d") == normalise_url(f"https://{host}{path}")


@pytest.mark.parametrize(
    ("title", "published", "content"),
    [("Title", "", ""), ("", "2026-01-01", ""), ("", "", "<p>Only a body</p>")],
)
def test_without_id_or_link_the_identity_is_a_hash(
    title: str, published: str, content: str
) -> None:
    assert entry_identity("", "", title, published, content).startswith("sha256:")


def test_untitled_undated_entries_are_told_apart_by_their_content() -> None:
    a = entry_identity("", "", "", "", "<p>One note.</p>")
    b = entry_identity("", "", "", "", "<p>Another note.</p>")
    assert a != b


def test_title_and_date_win_over_content_so_an_edit_keeps_the_identity() -> None:
    before = entry_identity("", "", "Title", "2026-01-01", "<p>Typo.</p>")
    after = entry_identity("", "", "Title", "2026-01-01", "<p>Fixed.</p>")
    assert before == after


def test_a_link_of_control_characters_is_not_an_identity() -> None:
    from syndicate.feeds.identity import entry_identity

    assert entry_identity("", "\x1b", "", "").startswith("sha256:")
