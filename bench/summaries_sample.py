"""Write docs/summaries-sample.md: 30 rendered posts from 30 different blogs of the corpus.

    python -m bench.summaries_sample

The newest entry of every 3rd feed, rendered in turn for x, mastodon and bluesky with the
default options, so a reader can judge what the summariser and the composer make of real
posts. Deterministic: the same corpus gives the same file.
"""

from __future__ import annotations

from pathlib import Path

from bench.corpus import ROOT, feed_files
from syndicate.feeds.parse import parse_feed
from syndicate.model import ComposeOptions
from syndicate.platforms.compose import render
from syndicate.platforms.rules import RULES
from syndicate.summarise.extractive import summarise

PLATFORMS = ("x", "mastodon", "bluesky")
COUNT = 30
OUT = ROOT / "docs" / "summaries-sample.md"


def sample() -> list[str]:
    sections: list[str] = []
    for path, url in list(feed_files())[::3]:
        entries = parse_feed(path.read_bytes(), url).entries
        if not entries or len(sections) == COUNT:
            continue
        entry = entries[0]
        platform = PLATFORMS[len(sections) % len(PLATFORMS)]
        post = render(summarise(entry), ComposeOptions(), RULES[platform])
        quoted = "\n".join(f"> {line}" if line else ">" for line in post.text.split("\n"))
        sections.append(
            f"### {len(sections) + 1}. {platform}, {post.length}/{post.limit}\n\n"
            f"Feed: <{url}>  \nEntry: <{entry.link}>\n\n{quoted}\n"
        )
    return sections


def main(out: Path = OUT) -> None:
    header = (
        "# Sample of rendered posts\n\n"
        f"{COUNT} posts from {COUNT} blogs of the shared real-feed corpus, made by the default\n"
        "extractive summariser and rendered with the default options (template\n"
        "`{title}\\n\\n{summary}\\n\\n{url}`).\n"
        "Regenerate with `python -m bench.summaries_sample`.\n\n"
    )
    out.write_text(header + "\n".join(sample()))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
