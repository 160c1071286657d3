"""config/syndicate.example.toml is the reference people copy: it must load, and it must
document every key of every platform and every core table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syndicate.platforms import platform_names, publisher_class
from syndicate.settings import load
from syndicate.settings.values import _CORE_KEYS, _DELIVERY_KEYS

EXAMPLE = Path(__file__).parents[2] / "config" / "syndicate.example.toml"
TEXT = EXAMPLE.read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """Account table text (comments included) by platform."""
    found: dict[str, str] = {}
    for chunk in re.split(r"(?m)^(?=\[)", TEXT):
        match = re.search(r'(?m)^platform = "([a-z]+)"', chunk)
        if chunk.startswith("[accounts.") and match:
            found.setdefault(match[1], chunk)
    return found


def mentions(text: str, key: str) -> bool:
    """`key = ...` as a line of its own or commented out."""
    return re.search(rf"(?m)^#?\s*{re.escape(key)}\s*=", text) is not None


def test_the_example_loads_with_its_secrets_in_the_environment() -> None:
    names = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", TEXT))
    environ = {
        name: "https://hooks.example/in" if name.endswith("_URL") else f"value-of-{name.lower()}"
        for name in names
    }
    settings = load(EXAMPLE, environ)
    assert {a.platform for a in settings.accounts.values()} == set(platform_names())


@pytest.mark.parametrize("platform", platform_names())
def test_every_option_of_every_platform_is_documented(platform: str) -> None:
    section = sections().get(platform)
    assert section is not None, f"no [accounts.*] example for {platform}"
    missing = [o.name for o in publisher_class(platform).OPTIONS if not mentions(section, o.name)]
    assert missing == []


@pytest.mark.parametrize("key", sorted(set(_CORE_KEYS) | set(_DELIVERY_KEYS)))
def test_every_core_and_pacing_key_is_documented(key: str) -> None:
    assert mentions(TEXT, key)
