"""Which flow an account needs, what its config must say first, and saving what it got."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from syndicate.auth import bluesky, meta, oauth1, oauth2
from syndicate.auth.common import (
    Browser,
    Clock,
    Console,
    EnvTarget,
    Obtained,
    Setup,
    SetupError,
    http_session,
    quiet_http_logs,
)
from syndicate.auth.flow import FlowContext
from syndicate.auth.writer import save


@dataclass(frozen=True)
class Flow:
    title: str
    run: Callable[[FlowContext], Obtained]
    saves: tuple[str, ...]  # the config must give each a place (`${VAR}` or `<key>_file`)
    optional: tuple[str, ...] = ()  # saved when the config gives a place
    needs: tuple[str, ...] = ()  # the config must mention each, in any form


_X_OAUTH1 = ("consumer_key", "consumer_secret", "access_token_secret")
_X_OAUTH2 = ("client_id", "client_secret", "refresh_token")
FLOWS: dict[str, Flow] = {
    "x-oauth1": Flow(
        "X, OAuth 1.0a (PIN)",
        oauth1.x_oauth1,
        ("access_token", "access_token_secret"),
        needs=("consumer_key", "consumer_secret"),
    ),
    "x-oauth2": Flow(
        "X, OAuth 2.0 with PKCE",
        oauth2.x_oauth2,
        ("access_token", "refresh_token"),
        optional=("expires_at",),
        needs=("client_id",),
    ),
    "tumblr": Flow(
        "Tumblr, OAuth 1.0a",
        oauth1.tumblr,
        ("oauth_token", "oauth_token_secret"),
        needs=("consumer_key", "consumer_secret"),
    ),
    "linkedin": Flow(
        "LinkedIn, OAuth 2.0",
        oauth2.linkedin,
        ("access_token",),
        optional=("refresh_token", "expires_at"),
    ),
    "facebook": Flow("Facebook Page, OAuth 2.0", meta.facebook, ("page_access_token",)),
    "threads": Flow(
        "Threads, OAuth 2.0", meta.threads, ("access_token",), optional=("expires_at",)
    ),
    "mastodon": Flow(
        "Mastodon, app registration and OAuth 2.0",
        oauth2.mastodon,
        ("access_token",),
        needs=("base_url",),
    ),
    "bluesky": Flow("Bluesky, app password", bluesky.bluesky, ("app_password",)),
}


def choose_flow(setup: Setup) -> Flow:
    if setup.platform == "x":
        one = any(setup.mentions(k) for k in _X_OAUTH1)
        two = any(setup.mentions(k) for k in _X_OAUTH2)
        if one == two:
            raise SetupError(
                f"[accounts.{setup.account}] must name one X credential set: OAuth 1.0a "
                "(consumer_key, consumer_secret, access_token, access_token_secret) or OAuth "
                "2.0 (client_id, access_token, refresh_token, and client_secret for a "
                "confidential client)"
            )
        return FLOWS["x-oauth1" if one else "x-oauth2"]
    flow = FLOWS.get(setup.platform)
    if flow is None:
        handled = ", ".join(sorted({k.split("-")[0] for k in FLOWS}))
        raise SetupError(f"syndicate auth sets up {handled} accounts, not {setup.platform}")
    return flow


def config_problems(setup: Setup, flow: Flow) -> list[str]:
    """What the config must say first: checked before the person is sent to a consent page,
    so no token is obtained only to be thrown away."""
    problems = [
        f"{key} is missing; add {_hint(setup, key)}"
        for key in flow.needs
        if not setup.mentions(key)
    ]
    for key in flow.saves:
        if key in setup.targets:
            continue
        where = (
            "is written in the config itself"
            if key in setup.literals
            else "has no place to be saved"
        )
        problems.append(f"{key} {where}; write it as {_hint(setup, key)}")
    return problems


def _hint(setup: Setup, key: str) -> str:
    if key == "base_url":
        return 'base_url = "https://your.instance"'
    var = re.sub(r"[^A-Z0-9]+", "_", f"{setup.account}_{key}".upper())
    return f'{key} = "${{{var}}}" (or {key}_file = "/path/to/file")'


def authorize(
    setup: Setup,
    console: Console,
    browser: Browser,
    *,
    port: int = 8765,
    timeout: float = 300.0,
    clock: Clock | None = None,
) -> tuple[str, ...]:
    """Walk the person through the account's flow and save what it yields; the lines said at
    the end (who was verified, where each key went, advice) are also returned."""
    flow = choose_flow(setup)
    problems = config_problems(setup, flow)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise SetupError(f"[accounts.{setup.account}] needs changes first:\n{listed}")
    console.say(f"{flow.title}: [accounts.{setup.account}]")
    with quiet_http_logs(), http_session() as http:
        ctx = FlowContext(setup, console, browser, port, timeout, clock or _utcnow, http)
        obtained = flow.run(ctx)
        lines = (f"verified {obtained.who}", *_save(setup, flow, obtained, ctx.prompted))
    for line in lines:
        console.say(line)
    return lines


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _save(setup: Setup, flow: Flow, obtained: Obtained, prompted: dict[str, str]) -> list[str]:
    values = {k: v for k, v in {**prompted, **obtained.values}.items() if v}
    keep = {
        k: v
        for k, v in values.items()
        if k in flow.saves or k in prompted or (k in flow.optional and k in setup.targets)
    }
    lines = save(keep, setup.targets)
    for key in sorted(set(values) - set(keep)):
        lines.append(_unsaved(setup, key, values[key]))
    for key in sorted(keep):
        target = setup.targets[key]
        if isinstance(target, EnvTarget) and target.var in setup.shadowing:
            lines.append(
                f"note: {target.var} is also set in this environment, which wins over "
                f"{target.env_file}: unset or update it"
            )
    return [*lines, *obtained.notes]


def _unsaved(setup: Setup, key: str, value: str) -> str:
    if key == "expires_at":  # not secret; the publishers learn it again when they refresh
        return (
            f"the access token expires {datetime.fromtimestamp(int(value), UTC):%Y-%m-%d %H:%M} UTC"
        )
    return f"{key} was not saved: the config has no place for it; add {_hint(setup, key)}"
