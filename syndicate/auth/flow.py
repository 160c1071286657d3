"""The state one credential flow carries, and the steps every flow takes with the person."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests

from syndicate.auth.common import Browser, Clock, Console, Redactor, Setup, SetupError
from syndicate.auth.listener import RedirectListener


@dataclass(frozen=True)
class FlowContext:
    setup: Setup
    console: Console
    browser: Browser
    port: int  # of the redirect listener
    timeout: float  # how long to wait for the redirect
    clock: Clock
    http: requests.Session
    redact: Redactor = field(default_factory=Redactor)
    prompted: dict[str, str] = field(default_factory=dict, repr=False)  # to save as well

    def listen(self) -> RedirectListener:
        return RedirectListener(self.port, self.timeout)

    def client_value(self, key: str, label: str, *, secret: bool, optional: bool = False) -> str:
        """An app credential (consumer key, client id or secret) from the config, else asked
        for. What is asked for is saved too when the config names a place for `key`."""
        value = self.setup.value(key).strip()
        if not value:
            value = self.console.ask(label, secret=secret).strip()
            if value and key in self.setup.targets:
                self.prompted[key] = value
        if not value and not optional:
            raise SetupError(f"{label} is needed to ask for a token")
        if secret:
            self.redact.add(value)
        return value

    def send_to_browser(self, url: str, redirect_uri: str | None) -> None:
        self.console.say("Open this address in a browser, sign in and approve access:")
        self.console.say(f"  {url}")
        if redirect_uri:
            self.console.say(
                f"Waiting up to {self.timeout:g}s for the browser to come back to {redirect_uri} "
                "(the app must list it as a redirect/callback URL)."
            )
        self.browser(url)

    def expires_at(self, token: Mapping[str, Any]) -> str:
        """Epoch seconds (as text) when the token expires, or "" when the platform did not say;
        the form the publishers' token caches keep."""
        try:
            seconds = int(token.get("expires_in") or 0)
        except (TypeError, ValueError):
            return ""
        if seconds <= 0:
            return ""
        return str(int((self.clock() + timedelta(seconds=seconds)).timestamp()))


def required(body: Mapping[str, Any], key: str, what: str) -> str:
    """A non-empty string field of an answer; a SetupError naming the field otherwise."""
    value = body.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise SetupError(f"{what}: the answer has no {key}")
    return value
