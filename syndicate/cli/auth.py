"""`syndicate auth PLATFORM ACCOUNT`: get an account's credentials and save them where the
config reads them (a `<key>_file`, or the env file for `${VAR}` keys)."""

from __future__ import annotations

import webbrowser

import click

from syndicate import auth as flows
from syndicate.cli.common import with_config
from syndicate.settings.sources import AccountSources, account_sources

PLATFORMS = ("bluesky", "facebook", "linkedin", "mastodon", "threads", "tumblr", "twitter", "x")


class _Terminal:
    def say(self, text: str) -> None:
        click.echo(text)

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        return str(click.prompt(prompt, hide_input=secret))


def setup_from(sources: AccountSources) -> flows.Setup:
    """The account as the flows need it: each `${VAR}` key goes to the env file, each
    `<key>_file` to its file."""
    targets: dict[str, flows.Target] = {
        key: flows.EnvTarget(var, sources.env_file) for key, var in sources.env_refs.items()
    }
    targets |= {key: flows.FileTarget(path) for key, path in sources.files.items()}
    return flows.Setup(
        account=sources.account,
        platform=sources.platform,
        targets=targets,
        literals=sources.literals,
        shadowing=sources.shadowing,
        values=sources.values,
    )


@click.command("auth")
@with_config
@click.argument("platform", type=click.Choice(PLATFORMS))
@click.argument("account")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="the local port the platform redirects to: register http://127.0.0.1:PORT/callback",
)
@click.option("--open", "open_browser", is_flag=True, help="open the consent page in a browser")
@click.pass_context
def auth(ctx: click.Context, platform: str, account: str, port: int, open_browser: bool) -> None:
    """Walk through getting ACCOUNT's credentials on PLATFORM and save them.

    X: OAuth 1.0a with a PIN, or OAuth 2.0 with PKCE (by the keys the account names). Tumblr:
    OAuth 1.0a. LinkedIn, Facebook Pages, Threads: OAuth 2.0. Mastodon: registers an app,
    then OAuth 2.0. Bluesky: an app password (never the account password), checked first.

    Each credential key must be written in the config as key = "${VAR}" (saved to the env
    file, [syndicate] env_file, default <data_dir>/secrets.env) or key_file = "path" (saved
    there). Both are created readable by you only. Secrets are never printed.
    """
    sources = account_sources(ctx.find_root().obj["config"], account)
    wanted = "x" if platform == "twitter" else platform
    if sources.platform != wanted:
        raise click.UsageError(f"[accounts.{account}] is a {sources.platform} account")

    def show(url: str) -> None:
        if open_browser and not webbrowser.open(url):
            click.echo("(no browser could be opened: open the address yourself)")

    flows.authorize(setup_from(sources), _Terminal(), show, port=port)
