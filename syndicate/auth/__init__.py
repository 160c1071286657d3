"""`syndicate auth`: walk a person through getting an account's credentials, and save them.

Flows: X (OAuth 1.0a PIN, or OAuth 2.0 with PKCE), Tumblr (OAuth 1.0a), LinkedIn, Facebook
Pages and Threads (OAuth 2.0 code flow), Mastodon (app registration, then OAuth 2.0 with
PKCE), Bluesky (an app password, verified). OAuth redirects come back to a listener on
127.0.0.1. Values are saved where the config reads them: `<key>_file` paths or `${VAR}` lines
in the env file, all created 0600. Nothing secret is printed, logged or recorded.

This package sits beside `platforms` (it imports neither settings, service nor the CLI): the
caller describes the account with a `Setup` built from `syndicate.settings.sources`.
"""

from syndicate.auth.common import (
    Browser,
    Console,
    EnvTarget,
    FileTarget,
    Setup,
    SetupError,
    Target,
)
from syndicate.auth.run import FLOWS, authorize, choose_flow

__all__ = [
    "FLOWS",
    "Browser",
    "Console",
    "EnvTarget",
    "FileTarget",
    "Setup",
    "SetupError",
    "Target",
    "authorize",
    "choose_flow",
]
