"""accounts: pause time, minimum-gap and in-flight lease; account_tokens; deliveries:
reconcile_at for unknown outcomes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import syndicate.store.schema

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

UTC = syndicate.store.schema.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", UTC(), nullable=True))
        batch_op.add_column(sa.Column("last_posted_at", UTC(), nullable=True))
        batch_op.add_column(sa.Column("lease_token", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", UTC(), nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reconcile_at", UTC(), nullable=True))
    op.create_table(
        "account_tokens",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_account_tokens_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_tokens"),
    )


def downgrade() -> None:
    op.drop_table("account_tokens")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("reconcile_at")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_token")
        batch_op.drop_column("last_posted_at")
        batch_op.drop_column("paused_at")
