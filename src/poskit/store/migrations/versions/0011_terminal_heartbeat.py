"""terminals: printer paper, parameter version, uptime and free storage from the heartbeat

Revision ID: 0011_terminal_heartbeat
Revises: 0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_terminal_heartbeat"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.add_column(sa.Column("paper", sa.String(length=4), nullable=True))
        batch.add_column(sa.Column("parameter_version", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("uptime_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("storage_free_mb", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.drop_column("storage_free_mb")
        batch.drop_column("uptime_seconds")
        batch.drop_column("parameter_version")
        batch.drop_column("paper")
