"""Benchmark: the deliveries page at 100,000 deliveries, page 1 against page 500.

    python -m bench.web [--deliveries 100000] [--repeat 7] [--postgres URL]

Seeds a ledger (SQLite in a temporary directory, or the PostgreSQL URL given) with one feed,
two accounts and `--deliveries` entries with one delivery each (one in 20 failed), then renders
/deliveries through the Flask test client: the first page, page 500 (keyset: `before=<id>`),
and the same two filtered by state and by account. Prints the median render time of each and
the ratio page 500 / page 1, which keyset pagination keeps near 1x (an OFFSET query would grow
with the page number). The baseline is page 1 of the same run. On PostgreSQL the tables are
vacuumed and analysed after seeding, as autovacuum would soon do.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient

from syndicate import service
from syndicate.settings import load
from syndicate.store import queries
from syndicate.store.schema import deliveries, entries
from syndicate.web import create_app
from syndicate.web.views.deliveries import PAGE_SIZE, parse_filters

PAGE = 500
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONFIG = """
[syndicate]
data_dir = "{data_dir}"
database_url = "{database_url}"

[[feeds]]
name = "blog"
url = "https://blog.example.com/feed.atom"
accounts = ["dry", "also"]

[accounts.dry]
platform = "log"

[accounts.also]
platform = "log"
"""


@contextmanager
def ledger(count: int, postgres: str | None) -> Iterator[service.Context]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "syndicate.toml"
        url = postgres or f"sqlite:///{Path(tmp) / 'ledger.db'}"
        path.write_text(CONFIG.format(data_dir=tmp, database_url=url))
        ctx = service.open_context(load(path, {}), clock=lambda: NOW)
        try:
            seed(ctx, count)
            if ctx.store.engine.dialect.name == "postgresql":
                # What autovacuum does to a table this size soon after: planner statistics
                # (without them an account filter takes a 50x slower plan) and the visibility
                # map that lets counts read the index alone.
                with ctx.store.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM ANALYZE"
                    )
            yield ctx
        finally:
            ctx.store.dispose()


def seed(ctx: service.Context, count: int) -> None:
    """`count` entries with one delivery each, alternating accounts, in bulk inserts."""
    feed_id = ctx.feed_ids["blog"]
    accounts = [ctx.account_ids["dry"], ctx.account_ids["also"]]
    with ctx.store.begin() as conn:
        conn.execute(deliveries.delete())
        conn.execute(entries.delete().where(entries.c.feed_id == feed_id))
        for start in range(0, count, 10_000):
            numbers = range(start, min(start + 10_000, count))
            conn.execute(entries.insert(), [_entry(feed_id, n) for n in numbers])
            ids = conn.execute(
                sa.select(entries.c.id).where(entries.c.identity.in_([f"e{n}" for n in numbers]))
            ).scalars()
            conn.execute(
                deliveries.insert(),
                [_delivery(entry_id, accounts[entry_id % 2]) for entry_id in ids],
            )


def _entry(feed_id: int, n: int) -> dict[str, object]:
    at = NOW - timedelta(minutes=n)
    return {
        "feed_id": feed_id, "identity": f"e{n}", "link": f"https://blog.example.com/{n}",
        "title": f"Entry {n}", "content_html": "<p>x</p>", "categories": [],
        "content_hash": f"h{n}", "first_seen_at": at, "published": at, "baseline": False,
    }  # fmt: skip


def _delivery(entry_id: int, account_id: int) -> dict[str, object]:
    failed = entry_id % 20 == 0
    return {
        "entry_id": entry_id, "account_id": account_id,
        "state": "failed" if failed else "posted", "attempts": 1, "next_attempt_at": NOW,
        "idempotency_key": f"k{entry_id}", "created_at": NOW, "updated_at": NOW,
        "last_error": "PermanentError: HTTP 422" if failed else None,
    }  # fmt: skip


def render_ms(client: FlaskClient, query: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        reply = client.get("/deliveries", query_string=query)
        times.append((time.perf_counter() - start) * 1000)
        if reply.status_code != 200 or reply.text.count('<td class="title">') != PAGE_SIZE:
            raise SystemExit(f"unexpected page for {query}: HTTP {reply.status_code}")
    return statistics.median(times)


def page_start(ctx: service.Context, query: dict[str, str], page: int) -> str:
    """The `before` id that opens page `page` of `query`: what "Older" links lead to."""
    with ctx.store.begin() as conn:
        rows = queries.list_deliveries(
            conn, parse_filters(query, NOW).query, limit=(page - 1) * PAGE_SIZE, before_id=None
        )
    return str(rows[-1].delivery_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL URL instead of SQLite")
    args = parser.parse_args()
    with ledger(args.deliveries, args.postgres) as ctx:
        client = create_app(ctx).test_client()
        print(f"{args.deliveries:,} deliveries on {ctx.store.engine.dialect.name}; "
              f"{PAGE_SIZE} rows a page; median of {args.repeat} renders")  # fmt: skip
        cases = {"all": {}, "state=failed": {"state": "failed"}, "account=dry": {"account": "dry"}}
        for name, query in cases.items():
            page = PAGE if name != "state=failed" else 50  # 5,000 failed rows: 100 pages
            first = render_ms(client, query, args.repeat)
            deep = {**query, "before": page_start(ctx, query, page)}
            later = render_ms(client, deep, args.repeat)
            print(f"  {name:13} page 1 {first:7.1f} ms   page {page:3} {later:7.1f} ms   "
                  f"ratio {later / first:4.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
