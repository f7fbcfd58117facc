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
        "acquirers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=11), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("support_phone", sa.String(length=40), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acquirers")),
        sa.UniqueConstraint("code", name=op.f("uq_acquirers_code")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=120), server_default="", nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)

    op.create_table(
        "issuer_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("funding", sa.String(length=10), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("holds", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("daily_limit", sa.BigInteger(), nullable=True),
        sa.Column("daily_spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("daily_date", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuer_accounts")),
    )
    op.create_table(
        "system_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("key_block", sa.Text(), nullable=False),
        sa.Column("kcv", sa.String(length=16), nullable=False),
        sa.Column("lmk_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_keys")),
        sa.UniqueConstraint("name", name=op.f("uq_system_keys_name")),
    )
    op.create_table(
        "issuer_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("pan_hash", sa.String(length=64), nullable=False),
        sa.Column("pan_token", sa.Text(), nullable=False),
        sa.Column("pan_masked", sa.String(length=19), nullable=False),
        sa.Column("name", sa.String(length=40), server_default="", nullable=False),
        sa.Column("psn", sa.String(length=3), server_default="01", nullable=False),
        sa.Column("expiry", sa.String(length=4), nullable=False),
        sa.Column("service_code", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="active", nullable=False),
        sa.Column("pin_method", sa.String(length=12), nullable=False),
        sa.Column("pvki", sa.String(length=1), server_default="1", nullable=False),
        sa.Column("pin_verification_value", sa.String(length=12), nullable=False),
        sa.Column("pin_tries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pin_try_limit", sa.Integer(), server_default="3", nullable=False),
        sa.Column("last_online_atc", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["issuer_accounts.id"], name=op.f("fk_issuer_cards_account_id_issuer_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuer_cards")),
        sa.UniqueConstraint("pan_hash", name=op.f("uq_issuer_cards_pan_hash")),
    )
    op.create_table(
        "merchants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acquirer_id", sa.Integer(), nullable=False),
        sa.Column("merchant_no", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_en", sa.String(length=80), server_default="", nullable=False),
        sa.Column("mcc", sa.String(length=4), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=60), server_default="", nullable=False),
        sa.Column("settlement_account", sa.String(length=40), nullable=False),
        sa.Column("settlement_bank", sa.String(length=80), server_default="", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acquirer_id"], ["acquirers.id"], name=op.f("fk_merchants_acquirer_id_acquirers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("merchant_no", name=op.f("uq_merchants_merchant_no")),
    )
    op.create_table(
        "fee_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_fee_schedules_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedules")),
        sa.UniqueConstraint("merchant_id", "version", name=op.f("uq_fee_schedules_merchant_id_version")),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_ledger_accounts_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_operators_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("merchant_id", "code", name=op.f("uq_operators_merchant_id_code")),
    )
    op.create_table(
        "portal_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("acquirer_id", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=10), server_default="en", nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acquirer_id"], ["acquirers.id"], name=op.f("fk_portal_users_acquirer_id_acquirers")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_portal_users_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_users")),
        sa.UniqueConstraint("username", name=op.f("uq_portal_users_username")),
    )
    op.create_table(
        "terminals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("dialect", sa.String(length=16), server_default="cups", nullable=False),
        sa.Column("mac_algorithm", sa.String(length=16), server_default="cups-ecb", nullable=False),
        sa.Column("key_scheme", sa.String(length=16), server_default="fixed", nullable=False),
        sa.Column("tmk", sa.Text(), nullable=True),
        sa.Column("pik", sa.Text(), nullable=True),
        sa.Column("mak", sa.Text(), nullable=True),
        sa.Column("tdk", sa.Text(), nullable=True),
        sa.Column("bdk_name", sa.String(length=40), nullable=True),
        sa.Column("signed_on_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sign_on_required", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("batch_no", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("serial_number", sa.String(length=40), server_default="", nullable=False),
        sa.Column("model", sa.String(length=40), server_default="", nullable=False),
        sa.Column("software_version", sa.String(length=20), server_default="", nullable=False),
        sa.Column("location", sa.String(length=120), server_default="", nullable=False),
        sa.Column("battery_percent", sa.Integer(), nullable=True),
        sa.Column("network", sa.String(length=20), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_terminals_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminals")),
        sa.UniqueConstraint("terminal_id", name=op.f("uq_terminals_terminal_id")),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("mti", sa.String(length=4), nullable=False),
        sa.Column("txn_type", sa.String(length=24), nullable=False),
        sa.Column("stan", sa.Integer(), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("local_datetime", sa.String(length=10), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pan_hash", sa.String(length=64), nullable=True),
        sa.Column("pan_token", sa.Text(), nullable=True),
        sa.Column("pan_masked", sa.String(length=19), nullable=True),
        sa.Column("card_scheme", sa.String(length=16), nullable=True),
        sa.Column("funding", sa.String(length=10), nullable=True),
        sa.Column("origin", sa.String(length=10), nullable=True),
        sa.Column("entry_mode", sa.String(length=20), nullable=True),
        sa.Column("pin_entered", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("mcc", sa.String(length=4), nullable=True),
        sa.Column("response_code", sa.String(length=2), nullable=False),
        sa.Column("auth_code", sa.String(length=6), nullable=True),
        sa.Column("rrn", sa.String(length=12), nullable=True),
        sa.Column("settlement_date", sa.String(length=4), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issuer_account_id", sa.Integer(), nullable=True),
        sa.Column("fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("message", sa.String(length=120), server_default="", nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_account_id"],
            ["issuer_accounts.id"],
            name=op.f("fk_transactions_issuer_account_id_issuer_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_transactions_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["original_id"], ["transactions.id"], name=op.f("fk_transactions_original_id_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
        sa.UniqueConstraint("rrn", name=op.f("uq_transactions_rrn")),
        sa.UniqueConstraint("terminal_id", "batch_no", "stan", "mti", name="uq_transactions_message"),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transactions_merchant_received", ["merchant_id", "received_at"], unique=False
        )
        batch_op.create_index("ix_transactions_original", ["original_id"], unique=False)
        batch_op.create_index("ix_transactions_pan_hash", ["pan_hash"], unique=False)

    op.create_table(
        "fee_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("rate", sa.String(length=12), nullable=True),
        sa.Column("fixed", sa.BigInteger(), nullable=True),
        sa.Column("cap", sa.BigInteger(), nullable=True),
        sa.Column("period", sa.String(length=12), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["fee_schedules.id"], name=op.f("fk_fee_rules_schedule_id_fee_schedules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_rules")),
        sa.UniqueConstraint("schedule_id", "rule", name=op.f("uq_fee_rules_schedule_id_rule")),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_journal_entries_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_journal_entries_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_journal_entries_idempotency_key")),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index("ix_journal_entries_transaction", ["transaction_id"], unique=False)

    op.create_table(
        "fee_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("schedule_version", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("formula", sa.String(length=120), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["journal_entries.id"], name=op.f("fk_fee_lines_journal_id_journal_entries")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_fee_lines_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["fee_schedules.id"], name=op.f("fk_fee_lines_schedule_id_fee_schedules")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_fee_lines_transaction_id_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_lines")),
    )
    with op.batch_alter_table("fee_lines", schema=None) as batch_op:
        batch_op.create_index("ix_fee_lines_transaction", ["transaction_id"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_entries_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["journal_entries.id"], name=op.f("fk_ledger_entries_journal_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_account", ["account_id"], unique=False)
        batch_op.create_index("ix_ledger_entries_journal", ["journal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_journal")
        batch_op.drop_index("ix_ledger_entries_account")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("fee_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_fee_lines_transaction")

    op.drop_table("fee_lines")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_entries_transaction")

    op.drop_table("journal_entries")
    op.drop_table("fee_rules")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_pan_hash")
        batch_op.drop_index("ix_transactions_original")
        batch_op.drop_index("ix_transactions_merchant_received")

    op.drop_table("transactions")
    op.drop_table("terminals")
    op.drop_table("portal_users")
    op.drop_table("operators")
    op.drop_table("ledger_accounts")
    op.drop_table("fee_schedules")
    op.drop_table("merchants")
    op.drop_table("issuer_cards")
    op.drop_table("system_keys")
    op.drop_table("issuer_accounts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")

    op.drop_table("audit_log")
    op.drop_table("acquirers")
