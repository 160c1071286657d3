"""The Bluesky publisher against the loopback PDS fake, over real HTTP."""

from __future__ import annotations

import base64
import itertools
import json
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from syndicate.errors import (
    AlreadyPosted,
    AuthError,
    ConfigError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from syndicate.model import Account, ComposeOptions, Facet, Post, Secret, Summary
from syndicate.platforms.base import MemoryTokenCache, Publisher
from syndicate.platforms.bluesky import BlueskyPublisher, classify, part_key
from syndicate.platforms.bluesky_record import (
    TID_ALPHABET,
    TID_PATTERN,
    encode_tid,
    post_record,
    tid_for,
)
from syndicate.platforms.textlen import grapheme_length, utf8_length
from syndicate.settings import load
from tests.conftest import Clock
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.feedserver import FeedServer

HANDLE = "writer.bsky.social"
PASSWORD = "pw4f-9kq2-xx7t-secr"
KEY = "syndicate-6f1c2d3e-0000-4000-8000-000000000001"
LINK = "https://blog.example.com/2026/11/a-fake-pds.html"
SEED = Path(__file__).resolve().parents[1] / "data" / "posts" / "seed.entry.json"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
TAGGED = "{title}\n\n{summary}\n\n{url}\n\n{hashtags}"
CONTRACT: type[Publisher] = BlueskyPublisher  # mypy checks the class against the Protocol


def epoch(clock: Clock) -> Callable[[], float]:
    """The test's clock in epoch seconds, for the fakes: it moves when the test advances it."""

    def now() -> float:
        return clock.now.timestamp()

    return now


def fake_pds(clock: Clock, **options: Any) -> FakeBluesky:
    return FakeBluesky(handle=HANDLE, password=PASSWORD, clock=epoch(clock), **options)


@pytest.fixture
def bluesky(clock: Clock) -> Iterator[FakeBluesky]:
    with fake_pds(clock) as fake:
        yield fake
    assert fake.errors == []


def account(fake: FakeBluesky, **options: str) -> Account:
    values: dict[str, str | Secret] = {"base_url": fake.base_url, "handle": HANDLE}
    values |= options
    values["app_password"] = Secret(options.get("app_password", PASSWORD))
    return Account("sky", "bluesky", ComposeOptions(template=TAGGED), options=values)


def publisher(
    fake: FakeBluesky,
    clock: Clock,
    *,
    tokens: MemoryTokenCache | None = None,
    timeout: float = 5.0,
    **options: str,
) -> BlueskyPublisher:
    return BlueskyPublisher(account(fake, **options), timeout=timeout, tokens=tokens, clock=clock)


def summary(**fields: Any) -> Summary:
    sentences = ("A loopback PDS answers like the real one.", "Every fault is scripted.")
    values: dict[str, Any] = {
        "title": "Writing a fake PDS",
        "text": " ".join(sentences),
        "sentences": sentences,
        "link": LINK,
        "categories": ("python", "testing"),
    }
    return Summary(**(values | fields))


def founding_summary() -> Summary:
    data = json.loads(SEED.read_text(encoding="utf-8"))["summary"]
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return Summary(**fields)


def hand_made(text: str, facets: tuple[Facet, ...] = ()) -> Post:
    return Post("bluesky", text, grapheme_length(text), 300, facets=facets)


# --------------------------------------------------------------------- record keys


def test_tids_encode_like_the_reference_codec() -> None:
    # Vectors from @atcute/tid's documentation.
    assert encode_tid(1724171495793000, 512) == "3l25zusnsfck2"
    assert encode_tid(1724171495793000, 816) == "3l25zusnsfctk"


def decode_tid(tid: str) -> int:
    value = 0
    for char in tid:
        value = value * 32 + TID_ALPHABET.index(char)
    return value >> 10


def test_a_delivery_key_always_gives_the_same_valid_tid() -> None:
    keys = [f"syndicate-{n}" for n in range(2000)]
    tids = [tid_for(k) for k in keys]
    assert tids == [tid_for(k) for k in keys]
    assert len(set(tids)) == len(keys)
    assert all(TID_PATTERN.fullmatch(t) for t in tids)
    start = datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1e6
    assert all(start <= decode_tid(t) < start + 2**46 for t in tids)


def test_thread_parts_have_keys_of_their_own() -> None:
    assert [part_key(KEY, n) for n in range(3)] == [KEY, f"{KEY}-2", f"{KEY}-3"]


def test_a_post_record_carries_facets_reply_and_a_millisecond_utc_date() -> None:
    from syndicate.platforms.bluesky_record import StrongRef

    root = StrongRef("at://did:plc:x/app.bsky.feed.post/3l25zusnsfck2", "bafyreia")
    facets = (Facet("link", 0, 5, "https://a.example"), Facet("mention", 6, 9, "bob"))
    record = post_record(
        "a.exa bob", facets, datetime(2026, 11, 26, 12, 0, 1, 250000, tzinfo=UTC),
        langs=("en",), reply=(root, root),
    )  # fmt: skip
    assert record == {
        "$type": "app.bsky.feed.post",
        "text": "a.exa bob",
        "createdAt": "2026-11-26T12:00:01.250Z",
        # Mentions need a DID the composer does not have: they stay plain text.
        "facets": [
            {
                "index": {"byteStart": 0, "byteEnd": 5},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example"}],
            }
        ],
        "langs": ["en"],
        "reply": {"root": root.json(), "parent": root.json()},
    }


# --------------------------------------------------------------------- publishing


def test_a_post_becomes_one_record_with_facets_and_its_public_url(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    pub = publisher(bluesky, clock, language="en", embed="none")
    post = pub.render(summary())
    result = pub.publish(post, KEY)
    rkey = tid_for(KEY)
    assert result.remote_url == f"https://bsky.app/profile/{bluesky.did}/post/{rkey}"
    assert result.remote_id == f"at://{bluesky.did}/app.bsky.feed.post/{rkey}"
    [stored] = bluesky.posts
    record = stored["record"]
    assert (stored["rkey"], record["text"]) == (rkey, post.text)
    assert record["createdAt"] == "2026-11-26T12:00:00.000Z"
    assert record["langs"] == ["en"]
    assert "embed" not in record
    features = [f["features"][0] for f in record["facets"]]
    assert {"$type": "app.bsky.richtext.facet#link", "uri": LINK} in features
    assert {"$type": "app.bsky.richtext.facet#tag", "tag": "Python"} in features
    assert bluesky.posts_with_link(LINK) == 1


def test_the_link_card_carries_title_and_description(bluesky: FakeBluesky, clock: Clock) -> None:
    pub = publisher(bluesky, clock)
    pub.publish(pub.render(summary()), KEY)
    external = bluesky.posts[0]["record"]["embed"]["external"]
    assert external["uri"] == LINK
    assert external["title"] == "Writing a fake PDS"
    assert external["description"].startswith("A loopback PDS answers")
    assert "thumb" not in external


def test_publishing_the_same_key_again_is_already_posted(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    pub = publisher(bluesky, clock)
    post = pub.render(summary())
    first = pub.publish(post, KEY)
    with pytest.raises(AlreadyPosted) as info:
        pub.publish(post, KEY)
    assert info.value.remote == first
    assert len(bluesky.posts) == 1


def test_a_server_answering_duplicates_with_400_is_also_already_posted(clock: Clock) -> None:
    with fake_pds(clock, duplicate_status=400) as fake:
        pub = publisher(fake, clock)
        post = pub.render(summary())
        first = pub.publish(post, KEY)
        with pytest.raises(AlreadyPosted) as info:
            pub.publish(post, KEY)
    assert info.value.remote == first
    assert fake.errors == []


def thread_post(pub: BlueskyPublisher) -> Post:
    pub.account = replace(pub.account, compose=ComposeOptions(template=TAGGED, thread=True))
    post = pub.render(founding_summary())
    assert len(post.thread) >= 3
    return post


def test_a_thread_is_a_reply_chain_with_a_record_key_per_part(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    pub = publisher(bluesky, clock)
    post = thread_post(pub)
    result = pub.publish(post, KEY)
    records = bluesky.posts
    assert [p["text"] for p in records] == list(post.thread)
    assert [p["rkey"] for p in records] == [tid_for(part_key(KEY, n)) for n in range(len(records))]
    assert result.remote_id == records[0]["uri"]
    root = {"uri": records[0]["uri"], "cid": records[0]["cid"]}
    assert "reply" not in records[0]["record"]
    for previous, part in itertools.pairwise(records):
        parent = {"uri": previous["uri"], "cid": previous["cid"]}
        assert part["record"]["reply"] == {"root": root, "parent": parent}
        assert "embed" not in part["record"]
    assert records[0]["record"]["embed"]["external"]["uri"] == post.card.url  # type: ignore[union-attr]
    last_links = [f["features"][0].get("uri") for f in records[-1]["record"]["facets"]]
    assert post.card is not None and post.card.url in last_links
    assert bluesky.posts_with_link(post.card.url) == 1


def test_a_partly_posted_thread_is_not_found_and_resumes(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    pub = publisher(bluesky, clock)
    post = thread_post(pub)
    pub.publish(replace(post, thread=post.thread[:2]), KEY)  # the first attempt got this far
    assert pub.find_existing(KEY, post) is None
    result = pub.publish(post, KEY)
    records = bluesky.posts
    assert len(records) == len(post.thread)
    assert records[2]["record"]["reply"]["parent"]["uri"] == records[1]["uri"]
    assert pub.find_existing(KEY, post) == result
    with pytest.raises(AlreadyPosted):
        pub.publish(post, KEY)


# --------------------------------------------------------------------- length rules


def test_renders_stay_within_300_graphemes_and_3000_bytes_and_are_accepted(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, 25 bytes
    sentences = tuple(f"{family * 9} 日本語の文 #{n} {family * 9}." for n in range(12))
    pub = publisher(bluesky, clock, embed="none")
    post = pub.render(summary(sentences=sentences, text=" ".join(sentences)))
    assert post.length == grapheme_length(post.text) <= 300
    assert utf8_length(post.text) <= 3000
    pub.publish(post, KEY)
    assert bluesky.posts[0]["text"] == post.text


@pytest.mark.parametrize(
    ("text", "wording"),
    [
        ("a" * 301, "300 graphemes"),
        ("👨\u200d👩\u200d👧\u200d👦" * 150, "3000 characters"),  # 150 graphemes, 3750 bytes
    ],
)
def test_over_length_text_is_refused_permanently(
    bluesky: FakeBluesky, clock: Clock, text: str, wording: str
) -> None:
    with pytest.raises(PermanentError, match=wording):
        publisher(bluesky, clock).publish(hand_made(text), KEY)
    assert bluesky.posts == []


@pytest.mark.parametrize(
    "facet",
    [
        Facet("tag", 4, 10, "tag"),  # starts inside the two bytes of "é"
        Facet("tag", 6, 12, "tag"),  # past the end of the text
        Facet("tag", 0, 4, "tag"),  # covers "café", not "#tag"
    ],
)
def test_facets_off_the_text_are_refused(bluesky: FakeBluesky, clock: Clock, facet: Facet) -> None:
    with pytest.raises(PermanentError, match="facets"):
        publisher(bluesky, clock).publish(hand_made("café #tag", (facet,)), KEY)


# --------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, TransientError), (502, TransientError), (503, TransientError), (400, PermanentError)],
)
def test_an_error_status_stores_nothing_and_is_classified(
    bluesky: FakeBluesky, clock: Clock, status: int, error: type[PublishError]
) -> None:
    bluesky.fail_next("status", status=status)
    pub = publisher(bluesky, clock)
    with pytest.raises(error) as info:
        pub.publish(pub.render(summary()), KEY)
    assert type(info.value) is error
    assert bluesky.posts == []


def test_a_rate_limit_names_the_reset_and_the_fake_counts_an_early_retry(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    bluesky.fail_next("rate_limit", reset_in=120)
    pub = publisher(bluesky, clock)
    post = pub.render(summary())
    with pytest.raises(RateLimited) as info:
        pub.publish(post, KEY)
    assert info.value.reset_at == clock.now + timedelta(seconds=120)
    with pytest.raises(RateLimited):
        pub.publish(post, KEY)
    assert len(bluesky.violations) == 1
    clock.advance(seconds=120)
    pub.publish(post, KEY)
    assert len(bluesky.posts) == 1


def test_spent_write_points_are_a_rate_limit_until_the_hour_ends(clock: Clock) -> None:
    with fake_pds(clock, points_per_hour=6) as fake:
        pub = publisher(fake, clock, embed="none")
        post = pub.render(summary())
        pub.publish(post, "key-1")
        pub.publish(post, "key-2")
        with pytest.raises(RateLimited) as info:
            pub.publish(post, "key-3")
    assert info.value.reset_at == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    assert fake.violations == []
    assert len(fake.posts) == 2


def test_a_refused_token_logs_in_once_more_and_posts(bluesky: FakeBluesky, clock: Clock) -> None:
    bluesky.fail_next("unauthorized")
    pub = publisher(bluesky, clock)
    pub.publish(pub.render(summary()), KEY)
    assert (bluesky.logins, len(bluesky.posts)) == (2, 1)


def test_a_token_refused_after_a_fresh_login_is_an_auth_error(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    bluesky.fail_next("unauthorized", count=2)
    pub = publisher(bluesky, clock)
    with pytest.raises(AuthError):
        pub.publish(pub.render(summary()), KEY)
    assert bluesky.logins == 2


@pytest.mark.parametrize("kind", ["drop", "hang"])
def test_a_lost_answer_is_unknown_then_found_and_never_doubled(
    bluesky: FakeBluesky, clock: Clock, kind: str
) -> None:
    bluesky.fail_next(kind, hang_seconds=10)  # type: ignore[arg-type]
    pub = publisher(bluesky, clock, timeout=0.5)
    post = pub.render(summary())
    with pytest.raises(OutcomeUnknown):
        pub.publish(post, KEY)
    found = pub.find_existing(KEY, post)
    assert found is not None and found.remote_id == bluesky.posts[0]["uri"]
    with pytest.raises(AlreadyPosted):
        pub.publish(post, KEY)
    assert bluesky.posts_with_link(LINK) == 1


def test_a_reset_connection_is_unknown_and_nothing_is_found(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    bluesky.fail_next("reset")
    pub = publisher(bluesky, clock)
    post = pub.render(summary())
    with pytest.raises(OutcomeUnknown):
        pub.publish(post, KEY)
    assert pub.find_existing(KEY, post) is None
    pub.publish(post, KEY)
    assert len(bluesky.posts) == 1


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_that_cannot_be_reached_is_transient(clock: Clock) -> None:
    pub = BlueskyPublisher(
        replace(
            Account("sky", "bluesky"),
            options={
                "base_url": f"http://127.0.0.1:{unused_port()}",
                "handle": HANDLE,
                "app_password": Secret(PASSWORD),
            },
        ),
        timeout=2.0,
    )
    with pytest.raises(TransientError, match="cannot connect"):
        pub.publish(hand_made("hello"), KEY)


# --------------------------------------------------------------------- find_existing, check


def test_find_existing_is_none_for_a_key_never_posted(bluesky: FakeBluesky, clock: Clock) -> None:
    assert publisher(bluesky, clock).find_existing(KEY, hand_made("hello")) is None


def test_find_existing_cannot_tell_when_the_pds_is_gone(bluesky: FakeBluesky, clock: Clock) -> None:
    pub = publisher(bluesky, clock)
    pub.check()  # logged in
    bluesky.stop()
    with pytest.raises(OutcomeUnknown, match="cannot tell"):
        pub.find_existing(KEY, hand_made("hello"))


def test_check_names_the_account(bluesky: FakeBluesky, clock: Clock) -> None:
    assert publisher(bluesky, clock).check() == f"@{HANDLE} on Bluesky ({bluesky.did})"


# --------------------------------------------------------------------- sessions


def test_a_restarted_worker_reuses_the_stored_session(bluesky: FakeBluesky, clock: Clock) -> None:
    tokens = MemoryTokenCache()
    publisher(bluesky, clock, tokens=tokens).publish(hand_made("one"), "key-1")
    publisher(bluesky, clock, tokens=tokens).publish(hand_made("two"), "key-2")
    assert bluesky.logins == 1
    assert set(tokens.load()) == {"access_jwt", "refresh_jwt", "did", "handle", "pds", "login"}


def test_an_expired_token_is_refreshed_and_the_rotated_pair_stored(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    tokens = MemoryTokenCache()
    pub = publisher(bluesky, clock, tokens=tokens)
    pub.publish(hand_made("one"), "key-1")
    spent = tokens.load()["refresh_jwt"]
    clock.advance(hours=3)
    pub.publish(hand_made("two"), "key-2")
    assert (bluesky.logins, bluesky.refreshes, len(bluesky.posts)) == (1, 1, 2)
    assert tokens.load()["refresh_jwt"] != spent
    again = requests.post(
        f"{bluesky.base_url}/xrpc/com.atproto.server.refreshSession",
        headers={"Authorization": f"Bearer {spent}"},
        timeout=5,
    )
    assert (again.status_code, again.json()["error"]) == (400, "ExpiredToken")


def test_an_expired_refresh_token_falls_back_to_one_login(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    pub = publisher(bluesky, clock)
    pub.publish(hand_made("one"), "key-1")
    clock.advance(days=91)
    pub.publish(hand_made("two"), "key-2")
    assert (bluesky.logins, bluesky.refreshes) == (2, 0)


def test_a_worker_takes_the_session_another_worker_already_rotated(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    tokens = MemoryTokenCache()
    first, second = (publisher(bluesky, clock, tokens=tokens) for _ in range(2))
    first.publish(hand_made("one"), "key-1")
    second.publish(hand_made("two"), "key-2")
    clock.advance(hours=3)
    first.publish(hand_made("three"), "key-3")
    # `second` still holds the old pair; spending its refresh token again would fail.
    second.publish(hand_made("four"), "key-4")
    assert (bluesky.logins, bluesky.refreshes, len(bluesky.posts)) == (1, 1, 4)


def test_a_wrong_app_password_is_an_auth_error(bluesky: FakeBluesky, clock: Clock) -> None:
    with pytest.raises(AuthError, match="refused") as info:
        publisher(bluesky, clock, app_password="wrong-pass-word-1234").check()
    assert "wrong-pass-word-1234" not in str(info.value)


def test_a_revoked_app_password_is_an_auth_error_after_one_login(
    bluesky: FakeBluesky, clock: Clock
) -> None:
    pub = publisher(bluesky, clock)
    pub.publish(hand_made("one"), "key-1")
    bluesky.revoke_app_password()
    with pytest.raises(AuthError):
        pub.publish(hand_made("two"), "key-2")
    assert bluesky.logins == 2


def test_another_handle_in_the_config_logs_in_afresh(bluesky: FakeBluesky, clock: Clock) -> None:
    tokens = MemoryTokenCache()
    publisher(bluesky, clock, tokens=tokens).publish(hand_made("one"), "key-1")
    other = bluesky.add_account("other.bsky.social", "other-pass-word-xyz")
    pub = publisher(
        bluesky,
        clock,
        tokens=tokens,
        handle="other.bsky.social",
        app_password="other-pass-word-xyz",
    )
    pub.publish(hand_made("two"), "key-2")
    assert bluesky.logins == 2
    assert bluesky.posts[-1]["did"] == other


def test_calls_go_to_the_pds_the_did_document_names(bluesky: FakeBluesky, clock: Clock) -> None:
    port = bluesky.base_url.rsplit(":", 1)[1]
    bluesky.pds_endpoint = f"http://127.0.0.1:{port}"
    pub = publisher(bluesky, clock, base_url=f"http://localhost:{port}")
    pub.publish(hand_made("hello"), KEY)
    hosts = {target.split("?")[0]: headers["host"] for _, target, headers, _ in bluesky.requests}
    assert hosts["/xrpc/com.atproto.server.createSession"] == f"localhost:{port}"
    assert hosts["/xrpc/com.atproto.repo.createRecord"] == f"127.0.0.1:{port}"


# --------------------------------------------------------------------- images


@pytest.fixture
def images(clock: Clock) -> Iterator[FeedServer]:
    with FeedServer(clock=epoch(clock)) as server:
        server.publish("/cover.png", PNG, "image/png")
        yield server


def test_the_card_gets_the_uploaded_thumbnail(
    bluesky: FakeBluesky, clock: Clock, images: FeedServer
) -> None:
    pub = publisher(bluesky, clock)
    pub.publish(pub.render(summary(image_url=images.url_for("/cover.png"))), KEY)
    thumb = bluesky.posts[0]["record"]["embed"]["external"]["thumb"]
    [blob] = bluesky.blobs
    assert thumb["ref"] == blob["ref"] and blob["mimeType"] == "image/png"
    assert blob["size"] == len(PNG)


@pytest.mark.parametrize("problem", ["too big", "chunked too big", "not an image", "missing"])
def test_an_image_that_cannot_be_used_leaves_the_card_without_a_thumbnail(
    bluesky: FakeBluesky, clock: Clock, images: FeedServer, problem: str
) -> None:
    if problem == "too big":
        images.publish("/cover.png", PNG + bytes(1_000_000), "image/png")
    elif problem == "chunked too big":
        images.oversize("/cover.png", 1_000_001, declared=False)
    elif problem == "not an image":
        images.publish("/cover.png", b"<html>nope</html>", "image/png")
    else:
        images.remove("/cover.png")
    pub = publisher(bluesky, clock)
    pub.publish(pub.render(summary(image_url=images.url_for("/cover.png"))), KEY)
    assert "thumb" not in bluesky.posts[0]["record"]["embed"]["external"]
    assert bluesky.blobs == []


def test_an_unreachable_image_is_left_out(bluesky: FakeBluesky, clock: Clock) -> None:
    pub = publisher(bluesky, clock)
    url = f"http://127.0.0.1:{unused_port()}/cover.png"
    pub.publish(pub.render(summary(image_url=url)), KEY)
    assert bluesky.posts[0]["record"]["embed"]["external"]["uri"] == LINK


def test_images_mode_posts_the_image_with_its_alt_text(
    bluesky: FakeBluesky, clock: Clock, images: FeedServer
) -> None:
    pub = publisher(bluesky, clock, embed="images")
    url = images.url_for("/cover.png")
    pub.publish(pub.render(summary(image_url=url, image_alt="A cover")), KEY)
    [image] = bluesky.posts[0]["record"]["embed"]["images"]
    assert image["alt"] == "A cover"
    assert image["image"]["ref"] == bluesky.blobs[0]["ref"]


def test_images_mode_without_alt_text_uses_the_title(bluesky: FakeBluesky, clock: Clock) -> None:
    post = publisher(bluesky, clock, embed="images").render(summary(image_url=LINK + ".png"))
    assert (post.image_url, post.image_alt) == (LINK + ".png", "Writing a fake PDS")


def test_images_mode_falls_back_to_the_card_when_the_image_fails(
    bluesky: FakeBluesky, clock: Clock, images: FeedServer
) -> None:
    images.publish("/cover.png", b"not an image", "image/png")
    pub = publisher(bluesky, clock, embed="images")
    pub.publish(pub.render(summary(image_url=images.url_for("/cover.png"))), KEY)
    embed = bluesky.posts[0]["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.external" and "thumb" not in embed["external"]
    assert len([r for r in images.requests if r[1] == "/cover.png"]) == 1


# --------------------------------------------------------------------- secrets


def test_secrets_never_reach_logs_or_error_messages(
    bluesky: FakeBluesky, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = MemoryTokenCache()
    pub = publisher(bluesky, clock, tokens=tokens)
    pub.publish(hand_made("one"), "key-1")
    seen = dict(tokens.load())
    clock.advance(hours=3)
    pub.publish(hand_made("two"), "key-2")
    messages = [repr(pub.xrpc.session()), repr(pub.account)]
    bluesky.fail_next("unauthorized", count=2)
    for attempt in (
        lambda: pub.publish(hand_made("three"), "key-3"),
        lambda: publisher(bluesky, clock, app_password="wrong-pass-word-1234").check(),
    ):
        with pytest.raises(PublishError) as info:
            attempt()
        messages.append(str(info.value))
    secrets = [PASSWORD, "wrong-pass-word-1234"]
    secrets += [v for k, v in {**seen, **tokens.load()}.items() if k.endswith("_jwt")]
    for text in [caplog.text, *messages]:
        assert not [s for s in secrets if s in text]


# --------------------------------------------------------------------- classify


def response(status: int, body: object = None, **headers: str) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.url = "https://bsky.social/xrpc/com.atproto.repo.createRecord"
    answer.headers = CaseInsensitiveDict(headers)
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return answer


def xrpc(error: str, message: str = "") -> dict[str, str]:
    return {"error": error, "message": message or error}


RESET = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
CLASSIFY_CASES = [
    (response(400, xrpc("InvalidRequest", "Record/text must not be longer than 300 graphemes")),
     PermanentError, None),
    (response(400, xrpc("ExpiredToken", "Token has expired")), AuthError, None),
    (response(400, xrpc("InvalidToken", "Bad token scope")), AuthError, None),
    (response(401, xrpc("AuthenticationRequired", "Invalid identifier or password")),
     AuthError, None),
    (response(401, xrpc("InvalidToken", "Token could not be verified")), AuthError, None),
    (response(400, xrpc("AccountTakedown", "Account has been taken down")), AuthError, None),
    (response(401, xrpc("AuthFactorTokenRequired")), AuthError, None),
    (response(400, xrpc("RepoDeactivated")), AuthError, None),
    (response(403, xrpc("Forbidden")), AuthError, None),
    (response(429, xrpc("RateLimitExceeded", "Rate Limit Exceeded"), **{
        "RateLimit-Limit": "5000", "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(int(RESET.timestamp())), "RateLimit-Policy": "5000;w=3600",
    }), RateLimited, RESET),
    (response(429, xrpc("RateLimitExceeded"), **{
        "Retry-After": "60", "Date": "Thu, 26 Nov 2026 12:59:00 GMT",
    }), RateLimited, RESET),
    (response(429, b"slow down"), RateLimited, None),
    (response(500, xrpc("InternalServerError", "Internal Server Error")), TransientError, None),
    (response(502, b"<html>Bad Gateway</html>"), TransientError, None),
    (response(503, xrpc("NotEnoughResources")), TransientError, None),
    (response(504, b""), TransientError, None),
    (response(413, xrpc("PayloadTooLarge", "request entity too large")), PermanentError, None),
    (response(400, xrpc("BlobTooLarge")), PermanentError, None),
    (response(501, xrpc("MethodNotImplemented")), PermanentError, None),
    (response(408, b"timeout"), TransientError, None),
    (response(404, b"<html>Not Found</html>"), PermanentError, None),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "expected", "reset_at"), CLASSIFY_CASES)
def test_classify(
    answer: requests.Response, expected: type[PublishError], reset_at: datetime | None
) -> None:
    error = classify(answer)
    assert type(error) is expected
    assert str(error).startswith(f"com.atproto.repo.createRecord: HTTP {answer.status_code}")
    if isinstance(error, RateLimited):
        assert error.reset_at == reset_at


def test_classify_blanks_out_tokens_in_what_it_quotes() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWQ6cGxjOngifQ.c2lnbmF0dXJlLWJ5dGVz"
    body = json.dumps({"accessJwt": jwt, "password": "hunter2"}).encode()
    message = str(classify(response(400, body)))
    assert jwt not in message and "hunter2" not in message
    assert str(classify(response(502, jwt.encode()))).count("***") == 1


# --------------------------------------------------------------------- settings


CONFIG = """
[[feeds]]
name = "blog"
url = "https://blog.example.com/feeds/posts/default"
accounts = ["sky"]

[accounts.sky]
platform = "bluesky"
handle = "writer.bsky.social"
app_password = "${BSKY_APP_PASSWORD}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syndicate.toml"
    path.write_text(text)
    return path


def test_a_bluesky_account_loads_with_its_defaults(tmp_path: Path) -> None:
    config = CONFIG + 'embed = "images"\nlanguage = "en"\n'
    settings = load(write(tmp_path, config), {"BSKY_APP_PASSWORD": PASSWORD})
    sky = settings.accounts["sky"]
    assert isinstance(sky.options["app_password"], Secret)
    assert sky.option("base_url") == "https://bsky.social"
    assert (sky.option("handle"), sky.option("embed"), sky.option("language")) == (
        HANDLE,
        "images",
        "en",
    )
    assert PASSWORD not in repr(settings)


def test_the_app_password_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    config = CONFIG.replace('app_password = "${BSKY_APP_PASSWORD}"', 'app_password_file = "pw"')
    assert load(write(tmp_path, config), {}).accounts["sky"].option("app_password") == PASSWORD


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (('handle = "writer.bsky.social"\n', ""), "accounts.sky.handle"),
        (('handle = "writer.bsky.social"', 'handle = "not a handle"'), "accounts.sky.handle"),
        (("app_password", "app_pasword"), "accounts.sky.app_pasword"),
        (('platform = "bluesky"', 'platform = "bluesky"\nembed = "video"'), "accounts.sky.embed"),
        (('platform = "bluesky"', 'platform = "bluesky"\nbase_url = "ftp://pds.example"'),
         "accounts.sky.base_url"),
    ],
)  # fmt: skip
def test_a_bad_or_missing_key_is_refused_by_name(
    tmp_path: Path, edit: tuple[str, str], key: str
) -> None:
    path = write(tmp_path, CONFIG.replace(*edit))
    with pytest.raises(ConfigError, match=f"{key}:"):
        load(path, {"BSKY_APP_PASSWORD": PASSWORD})


# --------------------------------------------------------------------- the fake itself


def xrpc_call(
    fake: FakeBluesky, nsid: str, token: str = "", body: object = None, **params: str
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{fake.base_url}/xrpc/{nsid}"
    if body is None:
        return requests.get(url, params=params, headers=headers, timeout=5)
    return requests.post(url, json=body, headers=headers, timeout=5)


def login(fake: FakeBluesky) -> dict[str, Any]:
    answer = xrpc_call(
        fake, "com.atproto.server.createSession", body={"identifier": HANDLE, "password": PASSWORD}
    )
    assert answer.status_code == 200
    return dict(answer.json())


def create(fake: FakeBluesky, token: str, rkey: str, **record: Any) -> requests.Response:
    values = {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-11-26T12:00:00Z"}
    body = {"repo": fake.did, "collection": "app.bsky.feed.post", "rkey": rkey}
    return xrpc_call(
        fake, "com.atproto.repo.createRecord", token, body | {"record": values | record}
    )


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_fake_sessions_are_jwt_shaped_and_name_the_fake_as_pds(bluesky: FakeBluesky) -> None:
    session = login(bluesky)
    claims = jwt_claims(session["accessJwt"])
    assert (claims["scope"], claims["sub"]) == ("com.atproto.access", bluesky.did)
    assert claims["exp"] - claims["iat"] == 7200
    assert jwt_claims(session["refreshJwt"])["scope"] == "com.atproto.refresh"
    [service] = session["didDoc"]["service"]
    assert (service["id"], service["serviceEndpoint"]) == ("#atproto_pds", bluesky.base_url)


def test_fake_tokens_expire_by_its_clock(bluesky: FakeBluesky, clock: Clock) -> None:
    token = login(bluesky)["accessJwt"]
    clock.advance(hours=2)
    answer = xrpc_call(bluesky, "com.atproto.server.getSession", token)
    assert (answer.status_code, answer.json()["error"]) == (400, "ExpiredToken")


@pytest.mark.parametrize(
    ("rkey", "record", "wording"),
    [
        ("not-a-tid", {}, "record key"),
        ("3l25zusnsfck2", {"createdAt": None}, "createdAt"),
        ("3l25zusnsfck2", {"createdAt": "2026-11-26T12:00:00"}, "createdAt"),
        ("3l25zusnsfck2", {"langs": ["en", "de", "fr", "es"]}, "langs"),
        ("3l25zusnsfck2", {"reply": {"root": {"uri": "at://x", "cid": "y"}}}, "reply/root"),
        ("3l25zusnsfck2", {"embed": {"$type": "app.bsky.embed.external", "external": {}}},
         "external"),
        ("3l25zusnsfck2", {"embed": {"$type": "app.bsky.embed.images", "images": []}}, "images"),
    ],
)  # fmt: skip
def test_fake_refuses_records_the_lexicon_refuses(
    bluesky: FakeBluesky, rkey: str, record: dict[str, Any], wording: str
) -> None:
    answer = create(bluesky, login(bluesky)["accessJwt"], rkey, **record)
    assert (answer.status_code, answer.json()["error"]) == (400, "InvalidRequest")
    assert wording in answer.json()["message"]
    assert bluesky.posts == []


def test_fake_blobs_have_a_size_cap_and_a_thumb_one_of_a_megabyte(clock: Clock) -> None:
    with fake_pds(clock, max_blob_bytes=2_000_000) as fake:
        token = login(fake)["accessJwt"]
        url = f"{fake.base_url}/xrpc/com.atproto.repo.uploadBlob"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/png"}
        too_big = requests.post(url, data=bytes(2_000_001), headers=headers, timeout=5)
        assert (too_big.status_code, too_big.json()["error"]) == (400, "BlobTooLarge")
        blob = requests.post(url, data=bytes(1_000_001), headers=headers, timeout=5).json()["blob"]
        external = {"uri": LINK, "title": "t", "description": "d", "thumb": blob}
        embed = {"$type": "app.bsky.embed.external", "external": external}
        answer = create(fake, token, "3l25zusnsfck2", embed=embed)
    assert answer.status_code == 400 and "too large" in answer.json()["message"]
    assert fake.errors == []


def test_fake_answers_every_xrpc_call_with_rate_limit_headers(bluesky: FakeBluesky) -> None:
    token = login(bluesky)["accessJwt"]
    answer = create(bluesky, token, "3l25zusnsfck2")
    assert answer.status_code == 200
    assert answer.headers["RateLimit-Remaining"] == "4997"
    assert answer.headers["RateLimit-Policy"] == "5000;w=3600"
    assert int(answer.headers["RateLimit-Reset"]) % 3600 == 0


def test_fake_duplicate_record_key_is_a_500_and_get_record_finds_the_first(
    bluesky: FakeBluesky,
) -> None:
    token = login(bluesky)["accessJwt"]
    first = create(bluesky, token, "3l25zusnsfck2").json()
    again = create(bluesky, token, "3l25zusnsfck2", text="other")
    assert (again.status_code, again.json()["error"]) == (500, "InternalServerError")
    query = {"repo": bluesky.did, "collection": "app.bsky.feed.post"}
    found = xrpc_call(bluesky, "com.atproto.repo.getRecord", **query, rkey="3l25zusnsfck2")
    assert (found.json()["uri"], found.json()["value"]["text"]) == (first["uri"], "hi")
    missing = xrpc_call(bluesky, "com.atproto.repo.getRecord", **query, rkey="3l25zusnsfctk")
    assert (missing.status_code, missing.json()["error"]) == (400, "RecordNotFound")


def test_fake_random_faults_follow_the_rates_and_the_seed(clock: Clock) -> None:
    def statuses(seed: int) -> list[int]:
        with fake_pds(clock) as fake:
            token = login(fake)["accessJwt"]
            fake.set_random_faults({"status": 0.5}, seed=seed)
            return [create(fake, token, encode_tid(10**15 + n, 0)).status_code for n in range(20)]

    assert statuses(7) == statuses(7)
    assert set(statuses(7)) == {200, 500}


@pytest.mark.parametrize("rates", [{"melt": 0.1}, {"drop": 0.7, "reset": 0.7}, {"drop": -0.1}])
def test_fake_refuses_bad_fault_rates(bluesky: FakeBluesky, rates: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        bluesky.set_random_faults(rates)


def test_fake_refuses_an_unknown_fault_kind(bluesky: FakeBluesky) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        bluesky.fail_next("melt")  # type: ignore[arg-type]


def test_fake_reset_forgets_records_and_keeps_sessions(bluesky: FakeBluesky) -> None:
    token = login(bluesky)["accessJwt"]
    create(bluesky, token, "3l25zusnsfck2", text=f"see {LINK}")
    assert bluesky.posts_with_link(LINK) == 1
    bluesky.reset()
    assert (bluesky.posts, bluesky.requests, bluesky.logins) == ([], [], 0)
    assert create(bluesky, token, "3l25zusnsfck2").status_code == 200


def test_fake_unknown_methods_are_not_implemented(bluesky: FakeBluesky) -> None:
    answer = xrpc_call(bluesky, "app.bsky.feed.getTimeline")
    assert (answer.status_code, answer.json()["error"]) == (501, "MethodNotImplemented")
