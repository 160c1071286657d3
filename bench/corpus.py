"""The shared real-feed corpus: 106 real blog feeds and the URLs they came from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "real-feeds"


def feed_files() -> Iterator[tuple[Path, str]]:
    """(file, source URL) for every feed in the corpus, in a stable order."""
    index: dict[str, str] = json.loads((CORPUS / "index.json").read_text())
    for name in sorted(index):
        yield CORPUS / name, index[name]
