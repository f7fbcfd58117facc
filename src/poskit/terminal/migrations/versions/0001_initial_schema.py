"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("stan", sa.Integer(), nullable=False),
        sa.Column("txn_type", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pan_token", sa.Text(), nullable=True),
        sa.Column("pan_masked", sa.String(length=19), nullable=True),
        sa.Column("card_organisation", sa.String(length=3), server_default="", nullable=False),
        sa.Column("foreign_card", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("entry_mode", sa.String(length=20), nullable=False),
        sa.Column("response_code", sa.String(length=2), nullable=False),
        sa.Column("auth_code", sa.String(length=6), nullable=True),
        sa.Column("rrn", sa.String(length=12), nullable=True),
        sa.Column("settlement_date", sa.String(length=4), nullable=True),
        sa.Column("local_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=3), server_default="01", nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("original_stan", sa.Integer(), nullable=True),
        sa.Column("signature_required", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("signature_uploaded", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("settled", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_records")),
        sa.UniqueConstraint("batch_no", "stan", name=op.f("uq_batch_records_batch_no_stan")),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "event_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_log")),
    )
    op.create_table(
        "pending_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("stan", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("last_error", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_uploads")),
    )
    op.create_table(
        "reversal_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stan", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("txn_type", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=2), nullable=False),
        sa.Column("pan_token", sa.Text(), nullable=True),
        sa.Column("pan_masked", sa.String(length=19), nullable=True),
        sa.Column("amount", sa.Integer(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("icc_data", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("last_error", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reversal_queue")),
        sa.UniqueConstraint("batch_no", "stan", name=op.f("uq_reversal_queue_batch_no_stan")),
    )
    op.create_table(
        "secure_keys",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("key_block", sa.Text(), nullable=False),
        sa.Column("kcv", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_secure_keys")),
    )
    op.create_table(
        "terminal_operators",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_terminal_operators")),
    )
    op.create_table(
        "terminal_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("merchant_no", sa.String(length=15), nullable=False),
        sa.Column("merchant_name", sa.String(length=80), nullable=False),
        sa.Column("merchant_name_en", sa.String(length=80), server_default="", nullable=False),
        sa.Column("acquirer_name", sa.String(length=80), server_default="", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("country", sa.String(length=3), server_default="156", nullable=False),
        sa.Column("dialect", sa.String(length=16), server_default="cups", nullable=False),
        sa.Column("mac_algorithm", sa.String(length=16), server_default="cups-ecb", nullable=False),
        sa.Column("key_scheme", sa.String(length=16), server_default="fixed", nullable=False),
        sa.Column("track_encryption", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("host_address", sa.String(length=120), server_default="127.0.0.1:8583", nullable=False),
        sa.Column(
            "portal_url", sa.String(length=200), server_default="http://127.0.0.1:8000", nullable=False
        ),
        sa.Column("support_phone", sa.String(length=40), server_default="", nullable=False),
        sa.Column("language", sa.String(length=8), server_default="en", nullable=False),
        sa.Column("chip_reader_ok", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("sign_on_required", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("signed_on_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("operator", sa.String(length=3), nullable=True),
        sa.Column("software_version", sa.String(length=20), server_default="", nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminal_profile")),
    )


def downgrade() -> None:
    op.drop_table("terminal_profile")
    op.drop_table("terminal_operators")
    op.drop_table("secure_keys")
    op.drop_table("reversal_queue")
    op.drop_table("pending_uploads")
    op.drop_table("event_log")
    op.drop_table("counters")
    op.drop_table("batch_records")
