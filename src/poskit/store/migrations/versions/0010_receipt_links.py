"""receipt_links: the cardholder's e-receipt link, stored as the SHA-256 of its token

Revision ID: 0010_receipt_links
Revises: 0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_receipt_links"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipt_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_receipt_links_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_receipt_links_token_hash")),
    )
    op.create_index("ix_receipt_links_transaction", "receipt_links", ["transaction_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_receipt_links_transaction", table_name="receipt_links")
    op.drop_table("receipt_links")
