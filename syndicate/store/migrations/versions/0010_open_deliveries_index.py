"""deliveries: a partial index of the open deliveries by (account_id, created_at, id)

Each send asks for its account's oldest due delivery. The (account_id, state) index of 0009
found the open rows but left them to be sorted by age, so a send read the account's whole
backlog: 4.8 CPU ms per delivery with 3,000 queued, 5.6 with 10,000 (bench.deliver). This
index holds only the open rows, in the order asked for; the first due one ends the search.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

# Written out rather than imported: a migration keeps the meaning it had when it was written.
OPEN = "state IN ('pending', 'waiting', 'unknown')"


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_open_by_account",
        "deliveries",
        ["account_id", "created_at", "id"],
        unique=False,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_open_by_account", table_name="deliveries")
