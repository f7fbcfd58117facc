"""ledger: roll-ups, cut-offs, settlement items, payouts, reconciliations, disputes, changes, flags

Revision ID: 0002_ledger
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terminal_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("latitude_e6", sa.Integer(), nullable=False),
        sa.Column("longitude_e6", sa.Integer(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), server_default="", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminal_sites")),
        sa.UniqueConstraint("terminal_id", name=op.f("uq_terminal_sites_terminal_id")),
    )
    op.create_table(
        "batch_reconciliations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acquirer_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("host_totals", sa.JSON(), nullable=False),
        sa.Column("terminal_totals", sa.JSON(), nullable=True),
        sa.Column("breaks", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acquirer_id"], ["acquirers.id"], name=op.f("fk_batch_reconciliations_acquirer_id_acquirers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_reconciliations")),
        sa.UniqueConstraint(
            "business_date",
            "terminal_id",
            "batch_no",
            name=op.f("uq_batch_reconciliations_business_date_terminal_id_batch_no"),
        ),
    )
    op.create_table(
        "ledger_cutoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acquirer_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acquirer_id"], ["acquirers.id"], name=op.f("fk_ledger_cutoffs_acquirer_id_acquirers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cutoffs")),
        sa.UniqueConstraint(
            "acquirer_id", "business_date", name=op.f("uq_ledger_cutoffs_acquirer_id_business_date")
        ),
    )
    op.create_table(
        "merchant_change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=24), nullable=False),
        sa.Column("old_value", sa.String(length=200), nullable=False),
        sa.Column("new_value", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("requested_by", sa.String(length=60), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=60), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.String(length=200), server_default="", nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_change_requests_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_change_requests")),
    )
    op.create_index(
        "ix_merchant_change_requests_merchant", "merchant_change_requests", ["merchant_id"], unique=False
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("terminal_id", sa.String(length=8), nullable=True),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.String(length=60), nullable=True),
        sa.Column("note", sa.String(length=200), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_flags_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_flags_transaction_id_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
        sa.UniqueConstraint("key", name=op.f("uq_flags_key")),
    )
    op.create_index("ix_flags_merchant", "flags", ["merchant_id"], unique=False)
    op.create_index("ix_flags_status_kind", "flags", ["status", "kind"], unique=False)
    op.create_table(
        "ledger_rollups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("debits", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("closing_balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_rollups_account_id_ledger_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_rollups")),
        sa.UniqueConstraint("account_id", "period_end", name=op.f("uq_ledger_rollups_account_id_period_end")),
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("acquirer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("value_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("account_no", sa.String(length=40), nullable=False),
        sa.Column("bank", sa.String(length=80), server_default="", nullable=False),
        sa.Column("account_name", sa.String(length=80), server_default="", nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=True),
        sa.Column("fee_journal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acquirer_id"], ["acquirers.id"], name=op.f("fk_payouts_acquirer_id_acquirers")
        ),
        sa.ForeignKeyConstraint(
            ["fee_journal_id"], ["journal_entries.id"], name=op.f("fk_payouts_fee_journal_id_journal_entries")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["journal_entries.id"], name=op.f("fk_payouts_journal_id_journal_entries")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_payouts_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payouts_idempotency_key")),
    )
    op.create_index("ix_payouts_merchant_date", "payouts", ["merchant_id", "business_date"], unique=False)
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("fee_line_id", sa.Integer(), nullable=True),
        sa.Column("finding_key", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("reason_code", sa.String(length=8), server_default="", nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("resolved_amount", sa.BigInteger(), nullable=True),
        sa.Column("hold_journal_id", sa.Integer(), nullable=True),
        sa.Column("resolution_journal_id", sa.Integer(), nullable=True),
        sa.Column("opened_by", sa.String(length=60), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["fee_line_id"], ["fee_lines.id"], name=op.f("fk_disputes_fee_line_id_fee_lines")
        ),
        sa.ForeignKeyConstraint(
            ["hold_journal_id"],
            ["journal_entries.id"],
            name=op.f("fk_disputes_hold_journal_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_disputes_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["resolution_journal_id"],
            ["journal_entries.id"],
            name=op.f("fk_disputes_resolution_journal_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_disputes_transaction_id_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("finding_key", name=op.f("uq_disputes_finding_key")),
    )
    op.create_index("ix_disputes_merchant", "disputes", ["merchant_id"], unique=False)
    op.create_index("ix_disputes_transaction", "disputes", ["transaction_id"], unique=False)
    op.create_table(
        "settlement_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("acquirer_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("interchange", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payout_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acquirer_id"], ["acquirers.id"], name=op.f("fk_settlement_items_acquirer_id_acquirers")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["journal_entries.id"],
            name=op.f("fk_settlement_items_journal_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_settlement_items_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["payouts.id"], name=op.f("fk_settlement_items_payout_id_payouts")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_settlement_items_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_items")),
        sa.UniqueConstraint("journal_id", name=op.f("uq_settlement_items_journal_id")),
    )
    op.create_index(
        "ix_settlement_items_date",
        "settlement_items",
        ["business_date", "acquirer_id"],
        unique=False,
    )
    op.create_index("ix_settlement_items_transaction", "settlement_items", ["transaction_id"], unique=False)
    op.create_table(
        "dispute_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_events_dispute_id_disputes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_events")),
    )
    op.create_index("ix_dispute_events_dispute", "dispute_events", ["dispute_id"], unique=False)
    op.create_index("ix_fee_lines_merchant_created", "fee_lines", ["merchant_id", "created_at"], unique=False)
    op.create_index("ix_journal_entries_posted_at", "journal_entries", ["posted_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_fee_lines_merchant_created", table_name="fee_lines")
    op.drop_index("ix_journal_entries_posted_at", table_name="journal_entries")
    op.drop_table("dispute_events")
    op.drop_table("settlement_items")
    op.drop_table("disputes")
    op.drop_table("payouts")
    op.drop_table("ledger_rollups")
    op.drop_table("flags")
    op.drop_table("merchant_change_requests")
    op.drop_table("ledger_cutoffs")
    op.drop_table("batch_reconciliations")
    op.drop_table("terminal_sites")
