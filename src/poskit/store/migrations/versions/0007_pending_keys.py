"""terminals: working keys issued at sign-on wait as pending until the terminal's first good MAC

Revision ID: 0007_pending_keys
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_pending_keys"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.add_column(sa.Column("pending_pik", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pending_mak", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pending_tdk", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pending_batch_no", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.drop_column("pending_batch_no")
        batch.drop_column("pending_tdk")
        batch.drop_column("pending_mak")
        batch.drop_column("pending_pik")
