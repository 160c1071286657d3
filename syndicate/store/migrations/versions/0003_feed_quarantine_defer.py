"""feeds: accept a quarantined feed's entries as a baseline; poll again when a deferred
(future-dated) entry comes due

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import syndicate.store.schema

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("accept_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("defer_until", syndicate.store.schema.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("defer_until")
        batch_op.drop_column("accept_pending")
