"""The host database schema (SQLAlchemy Core).

Alembic migrations under ``poskit/store/migrations`` are the source of truth for
the physical schema; this module describes the same tables for queries, and a test
checks that a freshly migrated database matches it exactly.

Conventions: money is ``BIGINT`` minor units plus an ISO 4217 alphabetic code;
timestamps are UTC; PANs appear only as an AES-GCM token (``pan_token``), a keyed
hash (``pan_hash``) and the masked form; keys only as LMK-wrapped key blocks.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from poskit.store.types import NAMING, UtcDateTime

__all__ = [
    "NAMING",
    "UtcDateTime",
    "acquirers",
    "audit_log",
    "fee_lines",
    "fee_rules",
    "fee_schedules",
    "issuer_accounts",
    "issuer_cards",
    "journal_entries",
    "ledger_accounts",
    "ledger_entries",
    "merchants",
    "metadata",
    "operators",
    "portal_users",
    "system_keys",
    "terminals",
    "transactions",
]

metadata = MetaData(naming_convention=NAMING)

Money = BigInteger

acquirers = Table(
    "acquirers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(11), nullable=False, unique=True),  # acquiring institution id (field 32)
    Column("name", String(80), nullable=False),
    Column("country", String(3), nullable=False),  # ISO 3166 numeric
    Column("currency", String(3), nullable=False),
    Column("timezone", String(40), nullable=False),  # daily cut-off is in this zone
    Column("support_phone", String(40), nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
)

merchants = Table(
    "merchants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("acquirer_id", ForeignKey("acquirers.id"), nullable=False),
    Column("merchant_no", String(15), nullable=False, unique=True),  # field 42
    Column("name", String(80), nullable=False),
    Column("name_en", String(80), nullable=False, server_default=""),
    Column("mcc", String(4), nullable=False),
    Column("address", String(200), nullable=False),
    Column("city", String(60), nullable=False, server_default=""),
    Column("settlement_account", String(40), nullable=False),
    Column("settlement_bank", String(80), nullable=False, server_default=""),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UtcDateTime(), nullable=False),
    # NULL: the acquirer's country and time zone, and the market's terminal language
    Column("country", String(3), nullable=True),  # ISO 3166 numeric
    Column("timezone", String(40), nullable=True),
    Column("language", String(5), nullable=True),  # zh | en
)

terminals = Table(
    "terminals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("terminal_id", String(8), nullable=False, unique=True),  # field 41
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("dialect", String(16), nullable=False, server_default="cups"),
    Column("mac_algorithm", String(16), nullable=False, server_default="cups-ecb"),
    Column("key_scheme", String(16), nullable=False, server_default="fixed"),  # fixed | dukpt
    # Keys exist here only as TR-31 key blocks wrapped under the host LMK.
    Column("tmk", Text, nullable=True),
    Column("pik", Text, nullable=True),
    Column("mak", Text, nullable=True),
    Column("tdk", Text, nullable=True),
    # Keys issued by a sign-on wait here until the terminal's first request MAC'd under them
    # (a keyless 0800 from anyone must not retire the keys the genuine terminal holds).
    Column("pending_pik", Text, nullable=True),
    Column("pending_mak", Text, nullable=True),
    Column("pending_tdk", Text, nullable=True),
    Column("pending_batch_no", Integer, nullable=True),
    Column("bdk_name", String(40), nullable=True),
    Column("signed_on_at", UtcDateTime(), nullable=True),
    Column("sign_on_required", Boolean, nullable=False, server_default="1"),
    Column("batch_no", Integer, nullable=False, server_default="1"),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("serial_number", String(40), nullable=False, server_default=""),
    Column("model", String(40), nullable=False, server_default=""),
    Column("software_version", String(20), nullable=False, server_default=""),
    Column("location", String(120), nullable=False, server_default=""),
    Column("capabilities", String(80), nullable=False, server_default=""),  # e.g. "chip,contactless,pin"
    Column("battery_percent", Integer, nullable=True),  # NULL on mains power, never 0
    Column("power_source", String(8), nullable=True),  # mains | battery, from the last status upload
    Column("charging", Boolean, nullable=True),
    Column("network", String(20), nullable=True),
    # From the heartbeat (0820 status TLV); NULL until a terminal reports it.
    Column("paper", String(4), nullable=True),  # ok | low | out
    Column("parameter_version", String(20), nullable=True),
    Column("uptime_seconds", Integer, nullable=True),
    Column("storage_free_mb", Integer, nullable=True),
    Column("last_seen_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

operators = Table(
    "operators",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("code", String(3), nullable=False),  # "01".."99"; "00" is the supervisor
    Column("name", String(60), nullable=False),
    Column("role", String(16), nullable=False),  # operator | supervisor
    Column("password_hash", String(200), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("merchant_id", "code"),
)

portal_users = Table(
    "portal_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(60), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    # merchant_owner | merchant_staff | acquirer_staff | acquirer_admin
    Column("role", String(20), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=True),
    Column("acquirer_id", ForeignKey("acquirers.id"), nullable=True),
    Column("locale", String(10), nullable=False, server_default="en"),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime(), nullable=True),
    Column("last_login_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

# --- issuer simulator --------------------------------------------------------
issuer_accounts = Table(
    "issuer_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("funding", String(10), nullable=False),  # debit | credit
    Column("balance", Money, nullable=False),  # available funds (debit) or open-to-buy (credit)
    Column("holds", Money, nullable=False, server_default="0"),  # pre-authorisation holds
    Column("daily_limit", Money, nullable=True),
    Column("daily_spent", Money, nullable=False, server_default="0"),
    Column("daily_date", String(10), nullable=True),  # the issuer day daily_spent belongs to
    Column("created_at", UtcDateTime(), nullable=False),
)

issuer_cards = Table(
    "issuer_cards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("issuer_accounts.id"), nullable=False),
    Column("pan_hash", String(64), nullable=False, unique=True),
    Column("pan_token", Text, nullable=False),
    Column("pan_masked", String(19), nullable=False),
    Column("name", String(40), nullable=False, server_default=""),  # card-book name (test cards)
    Column("psn", String(3), nullable=False, server_default="01"),
    Column("expiry", String(4), nullable=False),  # YYMM
    Column("service_code", String(3), nullable=False),
    Column("status", String(12), nullable=False, server_default="active"),
    Column("pin_method", String(12), nullable=False),  # visa-pvv | ibm3624
    Column("pvki", String(1), nullable=False, server_default="1"),
    Column("pin_verification_value", String(12), nullable=False),  # PVV or IBM 3624 offset
    Column("pin_tries", Integer, nullable=False, server_default="0"),
    Column("pin_try_limit", Integer, nullable=False, server_default="3"),
    Column("last_online_atc", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

# --- transactions ------------------------------------------------------------
transactions = Table(
    "transactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("terminal_id", String(8), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=True),
    Column("mti", String(4), nullable=False),
    Column("txn_type", String(24), nullable=False),
    Column("stan", Integer, nullable=False),
    Column("batch_no", Integer, nullable=False),
    Column("local_datetime", String(10), nullable=True),  # MMDDhhmmss as the terminal sent it
    Column("received_at", UtcDateTime(), nullable=False),
    Column("amount", Money, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("pan_hash", String(64), nullable=True),
    Column("pan_token", Text, nullable=True),
    Column("pan_masked", String(19), nullable=True),
    Column("card_scheme", String(16), nullable=True),
    Column("funding", String(10), nullable=True),
    Column("origin", String(10), nullable=True),  # domestic | foreign
    Column("entry_mode", String(20), nullable=True),
    Column("pin_entered", Boolean, nullable=False, server_default="0"),
    # poskit.signature_rule's answer for this request (补签 lists read it, never recompute it)
    Column("signature_required", Boolean, nullable=False, server_default="0"),
    Column("mcc", String(4), nullable=True),
    Column("response_code", String(2), nullable=False),
    Column("auth_code", String(6), nullable=True),
    Column("rrn", String(12), nullable=True, unique=True),
    Column("settlement_date", String(4), nullable=True),  # MMDD (field 15)
    Column("status", String(16), nullable=False),  # approved | declined | reversed | ...
    Column("original_id", ForeignKey("transactions.id"), nullable=True),
    Column("reversed_at", UtcDateTime(), nullable=True),
    Column("issuer_account_id", ForeignKey("issuer_accounts.id"), nullable=True),
    Column("fee", Money, nullable=False, server_default="0"),
    Column("message", String(120), nullable=False, server_default=""),
    # Non-sensitive response fields needed to answer a duplicate request identically.
    Column("response", JSON, nullable=False),
    UniqueConstraint("terminal_id", "batch_no", "stan", "mti", name="uq_transactions_message"),
)
Index("ix_transactions_merchant_received", transactions.c.merchant_id, transactions.c.received_at)
Index("ix_transactions_pan_hash", transactions.c.pan_hash)
Index("ix_transactions_original", transactions.c.original_id)

# --- ledger ------------------------------------------------------------------
ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(60), nullable=False, unique=True),
    Column("kind", String(12), nullable=False),  # asset | liability | income | expense
    Column("name", String(80), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    # One business event posts one journal; the key makes posting idempotent.
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("kind", String(24), nullable=False),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=True),
    Column("description", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("posted_at", UtcDateTime(), nullable=False),
)
Index("ix_journal_entries_transaction", journal_entries.c.transaction_id)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("journal_id", ForeignKey("journal_entries.id"), nullable=False),
    Column("account_id", ForeignKey("ledger_accounts.id"), nullable=False),
    # Signed minor units: debit positive, credit negative. A journal sums to zero.
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
)
Index("ix_ledger_entries_account", ledger_entries.c.account_id)
Index("ix_ledger_entries_journal", ledger_entries.c.journal_id)

# --- fees --------------------------------------------------------------------
fee_schedules = Table(
    "fee_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", UtcDateTime(), nullable=False),
    Column("effective_to", UtcDateTime(), nullable=True),
    Column("notified_at", UtcDateTime(), nullable=True),
    Column("description", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("merchant_id", "version"),
)

fee_rules = Table(
    "fee_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("schedule_id", ForeignKey("fee_schedules.id"), nullable=False),
    # domestic_debit | domestic_credit | foreign | d0_settlement | terminal_rental | sim_data ...
    Column("rule", String(32), nullable=False),
    Column("kind", String(12), nullable=False),  # percent | fixed | periodic
    Column("rate", String(12), nullable=True),  # percent as a decimal string, e.g. "0.60"
    Column("fixed", Money, nullable=True),
    Column("cap", Money, nullable=True),
    Column("period", String(12), nullable=True),  # monthly | yearly for periodic fees
    Column("currency", String(3), nullable=False),
    UniqueConstraint("schedule_id", "rule"),
)

fee_lines = Table(
    "fee_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("schedule_id", ForeignKey("fee_schedules.id"), nullable=False),
    Column("schedule_version", Integer, nullable=False),
    Column("rule", String(32), nullable=False),
    Column("base", Money, nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("formula", String(120), nullable=False),  # "0.60% of 1,234.50 = 7.41"
    Column("journal_id", ForeignKey("journal_entries.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_fee_lines_transaction", fee_lines.c.transaction_id)

# --- security and audit ------------------------------------------------------
system_keys = Table(
    "system_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("key_block", Text, nullable=False),  # wrapped under the LMK
    Column("kcv", String(16), nullable=False),
    Column("lmk_id", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(60), nullable=False),
    Column("action", String(60), nullable=False),
    Column("subject", String(120), nullable=False, server_default=""),
    Column("details", JSON, nullable=False),
)
Index("ix_audit_log_at", audit_log.c.at)


def _load_area_tables() -> None:
    """Import ``poskit.store.schema_<area>`` modules: each adds its tables to :data:`metadata`."""
    import importlib
    import pkgutil

    import poskit.store as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("schema_"):
            importlib.import_module(f"poskit.store.{info.name}")


_load_area_tables()
