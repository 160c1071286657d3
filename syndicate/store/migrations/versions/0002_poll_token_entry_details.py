"""feeds: poll token; entries: author, summary-only flag and image

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("poll_token", sa.String(length=64), nullable=True))
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("content_is_summary", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("image_url", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("image_alt", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_column("image_alt")
        batch_op.drop_column("image_url")
        batch_op.drop_column("content_is_summary")
        batch_op.drop_column("author")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("poll_token")
