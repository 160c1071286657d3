"""feeds: WebSub subscription state, an unguessable callback token, the topic asked for and
when to renew

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import syndicate.store.schema

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("websub_token", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("websub_state", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("websub_topic", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("websub_renew_at", syndicate.store.schema.UTCDateTime(), nullable=True)
        )
        batch_op.create_unique_constraint("uq_feeds_websub_token", ["websub_token"])


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_constraint("uq_feeds_websub_token", type_="unique")
        batch_op.drop_column("websub_renew_at")
        batch_op.drop_column("websub_topic")
        batch_op.drop_column("websub_state")
        batch_op.drop_column("websub_token")
