"""deliveries: an index on (account_id, state) for each send's "oldest due of this account"

Without it, finding an account's next delivery read every delivery the account ever had, so a
send got slower with every post (bench.deliver: 99 deliveries/s at 2,000, 57 at 10,000).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_account_id_state", ["account_id", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_account_id_state")
