"""keys: DUKPT devices per terminal and LMK rotation runs

Revision ID: 0005_keys
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_keys"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dukpt_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=4), nullable=False),
        sa.Column("bdk_name", sa.String(length=40), nullable=False),
        sa.Column("initial_ksn", sa.String(length=24), nullable=False),
        sa.Column("ik_kcv", sa.String(length=16), nullable=False),
        sa.Column("last_counter", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=12), server_default="active", nullable=False),
        sa.Column("injected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_dukpt_devices_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dukpt_devices")),
        sa.UniqueConstraint("initial_ksn", name=op.f("uq_dukpt_devices_initial_ksn")),
    )
    op.create_index("ix_dukpt_devices_terminal", "dukpt_devices", ["terminal_id"], unique=False)
    op.create_table(
        "lmk_rotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("old_lmk_id", sa.String(length=16), nullable=False),
        sa.Column("new_lmk_id", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rewrapped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lmk_rotations")),
    )


def downgrade() -> None:
    op.drop_table("lmk_rotations")
    op.drop_index("ix_dukpt_devices_terminal", table_name="dukpt_devices")
    op.drop_table("dukpt_devices")
