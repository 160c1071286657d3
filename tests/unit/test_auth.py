"""`syndicate auth` flows end to end against the fake authorization server over loopback HTTP."""

from __future__ import annotations

import dataclasses
import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from syndicate.auth import SetupError, authorize
from syndicate.auth.common import Setup
from tests.fakes.oauth import Client, FakeAuthServer
from tests.fakes.oauth_person import NOW, Person, Terminal, env_lines, free_port, setup_for

X_CLIENT = "x-client-id"
X_SECRET = "x-client-secret-5d1e"
CONSUMER_KEY, CONSUMER_SECRET = "consumer-key-77a1", "consumer-secret-0b9c"


@pytest.fixture(autouse=True)
def _insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake speaks http on 127.0.0.1; oauthlib insists on https for token endpoints.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def server() -> Iterator[FakeAuthServer]:
    with FakeAuthServer() as fake:
        yield fake
        assert fake.errors == []


@pytest.fixture
def port() -> int:
    return free_port()


def run(setup: Setup, terminal: Terminal, person: Person, port: int) -> tuple[str, ...]:
    return authorize(setup, terminal, person, port=port, timeout=10, clock=lambda: NOW)


def assert_private(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def assert_nothing_leaked(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text


# ------------------------------------------------------------------ Mastodon


def test_mastodon_registers_an_app_and_saves_a_verified_token_to_the_env_file(
    server: FakeAuthServer,
    port: int,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    setup = setup_for(
        "mastodon", tmp_path, env=("access_token",), values={"base_url": server.base_url}
    )
    terminal, person = Terminal(), Person()

    lines = run(setup, terminal, person, port)

    token = env_lines(tmp_path / "secrets.env")["MAIN_ACCESS_TOKEN"]
    assert server.token_kind(token) == "mastodon"
    assert_private(tmp_path / "secrets.env")
    assert lines == (
        f"verified @writer on {server.base_url}",
        f"saved access_token to {tmp_path / 'secrets.env'} (VAR MAIN_ACCESS_TOKEN)",
    )
    app = next(r for r in server.requests if r.path == "/api/v1/apps").form()
    assert app["scopes"] == "write:statuses read:accounts read:statuses"
    assert app["redirect_uris"] == f"http://127.0.0.1:{port}/callback"
    authorize_query = next(r for r in server.requests if r.path == "/oauth/authorize").query
    assert authorize_query["code_challenge_method"] == "S256"
    assert person.landing is not None and person.landing.status_code == 200
    secret = next(r for r in server.requests if r.path == "/oauth/token").form()["client_secret"]
    out = capsys.readouterr()
    assert_nothing_leaked([token, secret], terminal.transcript, caplog.text, out.out + out.err)


def test_a_mastodon_account_without_base_url_is_refused_before_anything_is_sent(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    setup = setup_for("mastodon", tmp_path, env=("access_token",))
    with pytest.raises(
        SetupError, match=re.escape('base_url is missing; add base_url = "https://your.instance"')
    ):
        run(setup, Terminal(), Person(), port)
    assert server.requests == []


# ---------------------------------------------------------------- X OAuth 2.0


@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
def test_x_oauth2_pkce_saves_the_token_pair(
    server: FakeAuthServer, port: int, tmp_path: Path, confidential: bool
) -> None:
    redirect = f"http://127.0.0.1:{port}/callback"
    secret = X_SECRET if confidential else ""
    server.register_client(Client(X_CLIENT, secret, (redirect,), pkce_required=True))
    setup = setup_for(
        "x",
        tmp_path,
        env=("access_token", "refresh_token"),
        files=("client_secret",) if confidential else (),
        values={"base_url": server.base_url, "client_id": X_CLIENT}
        | ({"client_secret": secret} if confidential else {}),
    )
    terminal = Terminal()

    lines = run(setup, terminal, Person(), port)

    saved = env_lines(tmp_path / "secrets.env")
    assert server.token_kind(saved["MAIN_ACCESS_TOKEN"]) == "x"
    assert saved["MAIN_REFRESH_TOKEN"]
    assert lines[0] == "verified @writer on X"
    assert "the access token expires 2026-11-26 14:00 UTC" in lines  # no place for expires_at
    token_request = next(r for r in server.requests if r.path == "/2/oauth2/token")
    assert token_request.form()["code_verifier"]  # the fake checked it against the challenge
    assert ("authorization" in token_request.headers) == confidential
    assert terminal.asked == []  # client id and secret came from the config
    assert_nothing_leaked([saved["MAIN_REFRESH_TOKEN"], X_SECRET], terminal.transcript)


def test_x_oauth2_writes_expires_at_when_the_config_has_a_place(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_client(Client(X_CLIENT, "", (f"http://127.0.0.1:{port}/callback",)))
    setup = setup_for(
        "x",
        tmp_path,
        env=("access_token", "refresh_token", "expires_at"),
        values={"base_url": server.base_url, "client_id": X_CLIENT},
    )
    run(setup, Terminal(), Person(), port)
    assert env_lines(tmp_path / "secrets.env")["MAIN_EXPIRES_AT"] == str(
        int(NOW.timestamp()) + 7200
    )


def test_fake_refuses_a_pkce_verifier_that_does_not_match_the_challenge(
    server: FakeAuthServer,
) -> None:
    redirect = "http://127.0.0.1:9/callback"
    server.register_client(Client(X_CLIENT, "", (redirect,), pkce_required=True))
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
    authorize_url = f"{server.base_url}/i/oauth2/authorize"
    params = {
        "response_type": "code",
        "client_id": X_CLIENT,
        "redirect_uri": redirect,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    location = requests.get(authorize_url, params=params, allow_redirects=False, timeout=5).headers[
        "Location"
    ]
    code = location.split("code=")[1].split("&")[0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "client_id": X_CLIENT,
    }
    wrong = requests.post(
        f"{server.base_url}/2/oauth2/token", data=form | {"code_verifier": "x" * 43}, timeout=5
    )
    assert wrong.status_code == 400 and "PKCE" in wrong.json()["error_description"]
    right = requests.post(
        f"{server.base_url}/2/oauth2/token",
        data=form | {"code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"},
        timeout=5,
    )
    assert right.status_code == 200  # RFC 7636's own pair; the wrong try did not spend the code
    assert server.token_kind(right.json()["access_token"]) == "x"


def test_x_with_both_credential_sets_is_refused(tmp_path: Path, port: int) -> None:
    setup = setup_for("x", tmp_path, env=("access_token", "access_token_secret", "refresh_token"))
    with pytest.raises(SetupError, match="must name one X credential set"):
        run(setup, Terminal(), Person(), port)


# ---------------------------------------------------------------- X OAuth 1.0a


def test_x_oauth1_pin_flow_saves_token_files_readable_by_the_owner_only(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_consumer(CONSUMER_KEY, CONSUMER_SECRET)
    setup = setup_for(
        "x",
        tmp_path,
        files=("access_token", "access_token_secret", "consumer_key", "consumer_secret"),
        values={
            "base_url": server.base_url,
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
        },
    )
    person = Person()
    terminal = Terminal({"PIN": lambda: person.pin})

    lines = run(setup, terminal, person, port)

    token = (tmp_path / "secrets" / "access_token").read_text().strip()
    token_secret = (tmp_path / "secrets" / "access_token_secret").read_text().strip()
    assert server.access_secret(token) == token_secret
    for name in ("access_token", "access_token_secret"):
        assert_private(tmp_path / "secrets" / name)
    assert lines[0] == "verified @writer on X"
    assert lines[1:] == (
        f"saved access_token to {tmp_path / 'secrets' / 'access_token'}",
        f"saved access_token_secret to {tmp_path / 'secrets' / 'access_token_secret'}",
    )
    assert_nothing_leaked([token, token_secret, CONSUMER_SECRET], terminal.transcript)


def test_x_oauth1_asks_for_missing_consumer_keys_hidden_and_saves_them(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_consumer(CONSUMER_KEY, CONSUMER_SECRET)
    setup = setup_for(
        "x",
        tmp_path,
        env=("access_token", "access_token_secret", "consumer_key", "consumer_secret"),
        values={"base_url": server.base_url},
    )
    person = Person()
    terminal = Terminal(
        {
            "consumer key": CONSUMER_KEY,
            "consumer secret": CONSUMER_SECRET,
            "PIN": lambda: person.pin,
        }
    )

    run(setup, terminal, person, port)

    assert [secret for prompt, secret in terminal.asked if "consumer" in prompt] == [True, True]
    saved = env_lines(tmp_path / "secrets.env")
    assert (saved["MAIN_CONSUMER_KEY"], saved["MAIN_CONSUMER_SECRET"]) == (
        CONSUMER_KEY,
        CONSUMER_SECRET,
    )


def test_a_wrong_consumer_secret_is_reported_without_echoing_it(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_consumer(CONSUMER_KEY, CONSUMER_SECRET)
    setup = setup_for(
        "x",
        tmp_path,
        env=("access_token", "access_token_secret"),
        literals=("consumer_key", "consumer_secret"),
        values={
            "base_url": server.base_url,
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": "wrong-secret-1234",
        },
    )
    with pytest.raises(SetupError, match="X request token refused: HTTP 401") as info:
        run(setup, Terminal(), Person(), port)
    assert "wrong-secret-1234" not in str(info.value)
    assert not (tmp_path / "secrets.env").exists()


# ---------------------------------------------------------------------- Tumblr


def test_tumblr_callback_flow_saves_the_oauth_token_pair(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_consumer(CONSUMER_KEY, CONSUMER_SECRET)
    setup = setup_for(
        "tumblr",
        tmp_path,
        env=("oauth_token", "oauth_token_secret"),
        literals=("consumer_key", "consumer_secret"),
        values={
            "base_url": server.base_url,
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
        },
    )
    person = Person()

    lines = run(setup, Terminal(), person, port)

    saved = env_lines(tmp_path / "secrets.env")
    assert server.access_secret(saved["MAIN_OAUTH_TOKEN"]) == saved["MAIN_OAUTH_TOKEN_SECRET"]
    assert lines[0] == "verified writerblog on Tumblr"  # a signed /v2/user/info answered
    request_token = next(r for r in server.requests if r.path == "/oauth/request_token")
    assert (
        f'oauth_callback="http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback"'
        in request_token.headers["authorization"]
    )
    assert person.landing is not None and person.landing.status_code == 200


# ------------------------------------------------------------ refusals, denial


def test_denied_consent_is_a_clear_error_and_saves_nothing(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_client(Client(X_CLIENT, "", (f"http://127.0.0.1:{port}/callback",)))
    server.consent = "deny"
    setup = setup_for(
        "x",
        tmp_path,
        env=("access_token", "refresh_token"),
        values={"base_url": server.base_url, "client_id": X_CLIENT},
    )
    person = Person()
    with pytest.raises(SetupError, match=r"access was not granted \(The user denied access\)"):
        run(setup, Terminal(), person, port)
    assert person.landing is not None and person.landing.status_code == 400
    assert not any(r.path == "/2/oauth2/token" for r in server.requests)
    assert not (tmp_path / "secrets.env").exists()


def test_denied_tumblr_consent_is_a_clear_error(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_consumer(CONSUMER_KEY, CONSUMER_SECRET)
    server.consent = "deny"
    setup = setup_for(
        "tumblr",
        tmp_path,
        env=("oauth_token", "oauth_token_secret"),
        literals=("consumer_key", "consumer_secret"),
        values={
            "base_url": server.base_url,
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
        },
    )
    with pytest.raises(SetupError, match="access was not granted"):
        run(setup, Terminal(), Person(), port)


def test_a_redirect_with_a_forged_state_is_refused(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_client(Client(X_CLIENT, "", (f"http://127.0.0.1:{port}/callback",)))
    setup = setup_for(
        "x",
        tmp_path,
        env=("access_token", "refresh_token"),
        values={"base_url": server.base_url, "client_id": X_CLIENT},
    )
    person = Person(forge_state=True)
    with pytest.raises(SetupError, match="state does not match this sign-in; refused"):
        run(setup, Terminal(), person, port)
    assert person.landing is not None and person.landing.status_code == 400
    assert not any(r.path == "/2/oauth2/token" for r in server.requests)  # the code was never spent


def test_a_literal_token_in_the_config_is_refused_before_any_request(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    setup = setup_for(
        "mastodon", tmp_path, literals=("access_token",), values={"base_url": server.base_url}
    )
    with pytest.raises(SetupError) as info:
        run(setup, Terminal(), Person(), port)
    assert str(info.value) == (
        "[accounts.main] needs changes first:\n"
        "  - access_token is written in the config itself; write it as "
        'access_token = "${MAIN_ACCESS_TOKEN}" (or access_token_file = "/path/to/file")'
    )
    assert server.requests == []


def test_a_token_endpoint_error_is_reported_with_secrets_redacted(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    server.register_client(Client(X_CLIENT, X_SECRET, (f"http://127.0.0.1:{port}/callback",)))
    server.fail_next(
        "/2/oauth2/token",
        400,
        {"error": "invalid_request", "error_description": f"bad client {X_SECRET}"},
    )
    setup = setup_for(
        "x",
        tmp_path,
        env=("access_token", "refresh_token"),
        literals=("client_id", "client_secret"),
        values={"base_url": server.base_url, "client_id": X_CLIENT, "client_secret": X_SECRET},
    )
    with pytest.raises(
        SetupError, match=r"X token request refused: invalid_request: bad client \*\*\*"
    ):
        run(setup, Terminal(), Person(), port)


def test_no_redirect_within_the_timeout_is_a_clear_error(tmp_path: Path, port: int) -> None:
    server_url = "http://127.0.0.1:9"
    setup = setup_for(
        "x",
        tmp_path,
        env=("access_token", "refresh_token"),
        values={"base_url": server_url, "client_id": X_CLIENT},
    )
    terminal = Terminal()
    with pytest.raises(
        SetupError, match=rf"no redirect reached http://127.0.0.1:{port}/callback within 0.2s"
    ):
        authorize(setup, terminal, lambda url: None, port=port, timeout=0.2, clock=lambda: NOW)
    assert any(line.startswith(f"  {server_url}/i/oauth2/authorize?") for line in terminal.said)


def test_a_variable_the_environment_also_sets_is_pointed_out(
    server: FakeAuthServer, port: int, tmp_path: Path
) -> None:
    setup = setup_for(
        "mastodon", tmp_path, env=("access_token",), values={"base_url": server.base_url}
    )
    setup = dataclasses.replace(setup, shadowing=frozenset({"MAIN_ACCESS_TOKEN"}))
    lines = run(setup, Terminal(), Person(), port)
    assert lines[-1] == (
        f"note: MAIN_ACCESS_TOKEN is also set in this environment, which wins over "
        f"{tmp_path / 'secrets.env'}: unset or update it"
    )
