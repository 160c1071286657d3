"""`syndicate auth` for LinkedIn, Facebook Pages, Threads and Bluesky against the fake server."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicate.auth import SetupError, authorize
from syndicate.auth.common import Setup
from tests.fakes.oauth import Client, FakeAuthServer
from tests.fakes.oauth_person import NOW, Person, Terminal, env_lines, free_port, setup_for

APP_ID, APP_SECRET = "app-id-4411", "app-secret-93f0e2"
HANDLE, DID = "writer.bsky.social", "did:plc:abc123"
APP_PASSWORD, PASSWORD = "abcd-efgh-ijkl-mnop", "correct-horse-battery"


@pytest.fixture(autouse=True)
def _insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake speaks http


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def server(port: int) -> Iterator[FakeAuthServer]:
    with FakeAuthServer() as fake:
        fake.register_client(Client(APP_ID, APP_SECRET, (f"http://127.0.0.1:{port}/callback",)))
        fake.add_bluesky_account(HANDLE, DID, APP_PASSWORD, PASSWORD)
        yield fake
        assert fake.errors == []


def run(
    setup: Setup, terminal: Terminal, port: int, person: Person | None = None
) -> tuple[str, ...]:
    return authorize(setup, terminal, person or Person(), port=port, timeout=10, clock=lambda: NOW)


# ---------------------------------------------------------------------- LinkedIn


def linkedin(server: FakeAuthServer, tmp_path: Path, **values: str) -> Setup:
    return setup_for(
        "linkedin",
        tmp_path,
        env=("access_token", "refresh_token"),
        literals=("client_id",),
        files=("client_secret",),
        values={"base_url": server.base_url, "client_id": APP_ID, "client_secret": APP_SECRET}
        | values,
    )


def test_linkedin_member_token_is_saved_and_the_author_urn_named(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    lines = run(linkedin(server, tmp_path), Terminal(), port)

    saved = env_lines(tmp_path / "secrets.env")
    assert server.token_kind(saved["MAIN_ACCESS_TOKEN"]) == "linkedin"
    assert "MAIN_REFRESH_TOKEN" not in saved  # refresh tokens are for approved partners only
    assert lines[0] == "verified Ada Writer (urn:li:person:abc123XYZ) on LinkedIn"
    assert lines[-1] == 'set author = "urn:li:person:abc123XYZ" in [accounts.main]'
    assert "the access token expires 2027-01-25 12:00 UTC" in lines
    authorize_query = next(r for r in server.requests if r.path == "/oauth/v2/authorization").query
    assert authorize_query["scope"] == "openid profile w_member_social"
    token_form = next(r for r in server.requests if r.path == "/oauth/v2/accessToken").form()
    assert token_form["client_secret"] == APP_SECRET  # LinkedIn takes it in the body


def test_linkedin_partner_refresh_token_is_saved_too(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.linkedin_refresh = True
    setup = linkedin(server, tmp_path, author="urn:li:person:abc123XYZ")
    lines = run(setup, Terminal(), port)
    assert env_lines(tmp_path / "secrets.env")["MAIN_REFRESH_TOKEN"]
    assert not any(line.startswith("set author") for line in lines)


def test_linkedin_organization_asks_for_organization_scopes(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    lines = run(linkedin(server, tmp_path, author="urn:li:organization:42"), Terminal(), port)
    authorize_query = next(r for r in server.requests if r.path == "/oauth/v2/authorization").query
    assert authorize_query["scope"] == "w_organization_social r_organization_social"
    assert lines[0] == "verified urn:li:organization:42 on LinkedIn"


# ---------------------------------------------------------------------- Facebook


def facebook(server: FakeAuthServer, tmp_path: Path, **values: str) -> Setup:
    return setup_for(
        "facebook",
        tmp_path,
        env=("page_access_token",),
        values={"base_url": server.base_url, "api_version": "v25.0"} | values,
    )


def test_facebook_saves_the_configured_pages_token(
    server: FakeAuthServer, port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    terminal = Terminal({"app ID": APP_ID, "app secret": APP_SECRET})

    lines = run(facebook(server, tmp_path, page_id="1234567890"), terminal, port)

    token = env_lines(tmp_path / "secrets.env")["MAIN_PAGE_ACCESS_TOKEN"]
    assert server.token_kind(token) == "page:1234567890"
    assert lines[0] == "verified Ada's Blog on Facebook"
    assert terminal.asked == [("Facebook app ID", False), ("Facebook app secret", True)]
    exchange = next(
        r for r in server.requests if r.path == "/v25.0/oauth/access_token" and r.method == "GET"
    )
    assert (
        exchange.query["grant_type"] == "fb_exchange_token"
    )  # the page token is from a long-lived login
    listing = next(r for r in server.requests if r.path == "/v25.0/me/accounts").query
    proof = hmac.new(APP_SECRET.encode(), listing["access_token"].encode(), "sha256").hexdigest()
    assert listing["appsecret_proof"] == proof
    # The exchanges carry the app secret and tokens in query strings: nothing may log them.
    for secret in (APP_SECRET, token, exchange.query["fb_exchange_token"]):
        assert secret not in caplog.text
        assert secret not in terminal.transcript


def test_facebook_without_page_id_lets_the_person_choose(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.ids.pages.append(("555", "Other Page"))
    terminal = Terminal({"app ID": APP_ID, "app secret": APP_SECRET, "Which Page": "2"})
    lines = run(facebook(server, tmp_path), terminal, port)
    assert (
        server.token_kind(env_lines(tmp_path / "secrets.env")["MAIN_PAGE_ACCESS_TOKEN"])
        == "page:555"
    )
    assert "  2. Other Page (555)" in terminal.said
    assert lines[-1] == 'set page_id = "555" in [accounts.main]'


def test_facebook_page_not_managed_by_the_login_is_named(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    terminal = Terminal({"app ID": APP_ID, "app secret": APP_SECRET})
    with pytest.raises(SetupError, match=r"page_id 999 is not among .*: Ada's Blog \(1234567890\)"):
        run(facebook(server, tmp_path, page_id="999"), terminal, port)
    assert not (tmp_path / "secrets.env").exists()


# ----------------------------------------------------------------------- Threads


def test_threads_saves_a_long_lived_token_and_names_the_user_id(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    setup = setup_for(
        "threads",
        tmp_path,
        env=("access_token", "expires_at"),
        values={"base_url": server.base_url, "app_id": APP_ID, "app_secret": APP_SECRET},
    )
    lines = run(setup, Terminal(), port)
    saved = env_lines(tmp_path / "secrets.env")
    assert server.token_kind(saved["MAIN_ACCESS_TOKEN"]) == "threads_long"
    assert saved["MAIN_EXPIRES_AT"] == str(int(NOW.timestamp()) + 5183944)
    assert lines[0] == "verified @writer on Threads"
    assert lines[-1] == 'set user_id = "17841400000000001" in [accounts.main]'
    authorize_query = next(r for r in server.requests if r.path == "/oauth/authorize").query
    assert authorize_query["scope"] == "threads_basic,threads_content_publish"


# ----------------------------------------------------------------------- Bluesky


def bluesky(server: FakeAuthServer, tmp_path: Path, **values: str) -> Setup:
    return setup_for(
        "bluesky", tmp_path, files=("app_password",), values={"base_url": server.base_url} | values
    )


def test_bluesky_app_password_is_verified_then_saved(
    server: FakeAuthServer, port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal({"handle": HANDLE, "App password": APP_PASSWORD.upper()})

    lines = run(bluesky(server, tmp_path), terminal, port)

    saved = tmp_path / "secrets" / "app_password"
    assert saved.read_text() == f"{APP_PASSWORD}\n"
    assert lines[0] == f"verified @{HANDLE} ({DID}) on Bluesky"
    assert lines[-1] == f'set handle = "{HANDLE}" in [accounts.main]'
    assert ("App password", True) in terminal.asked
    assert "never the account's own password" in terminal.said[1]
    assert APP_PASSWORD not in terminal.transcript + capsys.readouterr().out


def test_bluesky_refuses_the_account_password_without_saving_it(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    terminal = Terminal({"App password": "abcd-efgh-ijkl-mnop"})
    server.add_bluesky_account(HANDLE, DID, "zzzz-zzzz-zzzz-zzzz", "abcd-efgh-ijkl-mnop")
    with pytest.raises(SetupError, match="that is the account's own password"):
        run(bluesky(server, tmp_path, handle=HANDLE), terminal, port)
    assert not (tmp_path / "secrets").exists()


def test_bluesky_never_sends_what_is_not_shaped_like_an_app_password(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    terminal = Terminal({"App password": PASSWORD})
    with pytest.raises(SetupError, match=r"not an app password .* nothing was sent"):
        run(bluesky(server, tmp_path, handle=HANDLE), terminal, port)
    assert server.requests == []


def test_bluesky_wrong_app_password_is_a_clear_error(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    terminal = Terminal({"App password": "wxyz-wxyz-wxyz-wxyz"})
    with pytest.raises(SetupError, match=f"Bluesky refused handle {HANDLE} with that app password"):
        run(bluesky(server, tmp_path, handle=HANDLE), terminal, port)
