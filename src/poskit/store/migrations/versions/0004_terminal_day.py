"""terminal day: settlement batches, uploads, signatures, transaction effects, issuer actions

Revision ID: 0004_terminal_day
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_terminal_day"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("terminal_totals", sa.JSON(), nullable=False),
        sa.Column("host_totals", sa.JSON(), nullable=False),
        sa.Column("reconciliation", sa.String(length=12), nullable=False),
        sa.Column("uploaded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("upload_mismatches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_host_batches_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_batches")),
        sa.UniqueConstraint("terminal_id", "batch_no", name=op.f("uq_host_batches_terminal_id_batch_no")),
    )
    op.create_table(
        "batch_upload_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_batch_id", sa.Integer(), nullable=False),
        sa.Column("stan", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("pan_masked", sa.String(length=19), nullable=True),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_batch_id"],
            ["host_batches.id"],
            name=op.f("fk_batch_upload_items_host_batch_id_host_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_batch_upload_items_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_upload_items")),
        sa.UniqueConstraint("host_batch_id", "stan", name=op.f("uq_batch_upload_items_host_batch_id_stan")),
    )
    op.create_table(
        "issuer_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_card_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("sent_transaction_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=60), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_card_id"],
            ["issuer_cards.id"],
            name=op.f("fk_issuer_actions_issuer_card_id_issuer_cards"),
        ),
        sa.ForeignKeyConstraint(
            ["sent_transaction_id"],
            ["transactions.id"],
            name=op.f("fk_issuer_actions_sent_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuer_actions")),
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("rrn", sa.String(length=12), nullable=False),
        sa.Column("settlement_date", sa.String(length=4), nullable=True),
        sa.Column("feature_code", sa.String(length=16), nullable=True),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("image_format", sa.String(length=12), nullable=False),
        sa.Column("receipt_tlv", sa.LargeBinary(), nullable=True),
        sa.Column("chunks", sa.Integer(), server_default="1", nullable=False),
        sa.Column("complete", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("source", sa.String(length=12), server_default="terminal", nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_signatures_transaction_id_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
        sa.UniqueConstraint("terminal_id", "rrn", name=op.f("uq_signatures_terminal_id_rrn")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index("ix_signatures_transaction", ["transaction_id"], unique=False)

    op.create_table(
        "transaction_effects",
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("issuer_account_id", sa.Integer(), nullable=True),
        sa.Column("balance_delta", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("holds_delta", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("related_id", sa.Integer(), nullable=True),
        sa.Column("related_status_before", sa.String(length=16), nullable=True),
        sa.Column("related_status_after", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_account_id"],
            ["issuer_accounts.id"],
            name=op.f("fk_transaction_effects_issuer_account_id_issuer_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["related_id"], ["transactions.id"], name=op.f("fk_transaction_effects_related_id_transactions")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_transaction_effects_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_transaction_effects")),
    )


def downgrade() -> None:
    op.drop_table("transaction_effects")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_signatures_transaction")

    op.drop_table("signatures")
    op.drop_table("issuer_actions")
    op.drop_table("batch_upload_items")
    op.drop_table("host_batches")
