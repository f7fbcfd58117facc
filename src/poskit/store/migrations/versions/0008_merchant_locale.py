"""merchants: own country, time zone and terminal language (NULL: the acquirer's); terminal capabilities

Revision ID: 0008_merchant_locale
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_merchant_locale"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("country", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=5), nullable=True))
    with op.batch_alter_table("terminals") as batch:
        batch.add_column(sa.Column("capabilities", sa.String(length=80), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.drop_column("capabilities")
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("language")
        batch.drop_column("timezone")
        batch.drop_column("country")
