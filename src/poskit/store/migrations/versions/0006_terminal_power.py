"""terminals: power source and charging from the status upload (mains is not "battery 0 %")

Revision ID: 0006_terminal_power
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_terminal_power"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.add_column(sa.Column("power_source", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("charging", sa.Boolean(), nullable=True))
    # Terminals before this revision sent battery=0 on mains; that 0 was never a reading.
    op.execute("UPDATE terminals SET battery_percent = NULL WHERE battery_percent = 0")


def downgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.drop_column("charging")
        batch.drop_column("power_source")
