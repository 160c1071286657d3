"""entries: source_hash, a hash of the feed's own text for the entry

A poll of a changed feed compares each entry's source with the one stored, and cleans (sanitises,
resolves links in) only the entries that are new or whose source changed; cleaning was most
of the parse. Entries stored before this have none: the next poll cleans them once, finds the
cleaned text unchanged, and stores their source hash without an event.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_column("source_hash")
