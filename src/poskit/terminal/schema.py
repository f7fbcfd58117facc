"""The terminal's own store (one SQLite file per terminal), SQLAlchemy Core.

A POS terminal must survive power loss at any step: the batch, the counters and
every pending reversal, advice and signature upload live here, written before the
network sees the message they protect. Card numbers are kept only as tokens
encrypted by the PIN pad's secure element plus the masked form; keys only as key
blocks wrapped under the secure element's own master key.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from poskit.store.types import NAMING, UtcDateTime

__all__ = [
    "batch_records",
    "counters",
    "event_log",
    "metadata",
    "pending_uploads",
    "reversal_queue",
    "secure_keys",
    "terminal_operators",
    "terminal_profile",
]

metadata = MetaData(naming_convention=NAMING)

#: One row: who this terminal is and how it talks to its host.
terminal_profile = Table(
    "terminal_profile",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("terminal_id", String(8), nullable=False),
    Column("merchant_no", String(15), nullable=False),
    Column("merchant_name", String(80), nullable=False),
    Column("merchant_name_en", String(80), nullable=False, server_default=""),
    Column("acquirer_name", String(80), nullable=False, server_default=""),
    Column("currency", String(3), nullable=False),
    Column("country", String(3), nullable=False, server_default="156"),
    Column("dialect", String(16), nullable=False, server_default="cups"),
    Column("mac_algorithm", String(16), nullable=False, server_default="cups-ecb"),
    Column("key_scheme", String(16), nullable=False, server_default="fixed"),
    Column("track_encryption", Boolean, nullable=False, server_default="1"),
    Column("host_address", String(120), nullable=False, server_default="127.0.0.1:8583"),
    Column("portal_url", String(200), nullable=False, server_default="http://127.0.0.1:8000"),
    Column("support_phone", String(40), nullable=False, server_default=""),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("chip_reader_ok", Boolean, nullable=False, server_default="1"),
    Column("sign_on_required", Boolean, nullable=False, server_default="1"),
    Column("signed_on_at", UtcDateTime(), nullable=True),
    Column("operator", String(3), nullable=True),  # operator signed in, None when logged out
    Column("software_version", String(20), nullable=False, server_default=""),
    Column("params", JSON, nullable=False),  # host-downloaded parameters (limits, timeouts)
    Column("created_at", UtcDateTime(), nullable=False),
)

#: Key blocks wrapped under the PIN pad's own master key (never clear keys).
secure_keys = Table(
    "secure_keys",
    metadata,
    Column("name", String(20), primary_key=True),  # tmk | pik | mak | tdk | dukpt | pan_data | pan_hash
    Column("key_block", Text, nullable=False),
    Column("kcv", String(16), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(20), primary_key=True),  # stan | batch
    Column("value", Integer, nullable=False),
)

#: Reversal records, persisted before the reversible request is sent (CUPS §1.10).
reversal_queue = Table(
    "reversal_queue",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("stan", Integer, nullable=False),
    Column("batch_no", Integer, nullable=False),
    Column("txn_type", String(24), nullable=False),
    Column("reason", String(2), nullable=False),  # 98 timeout | 06 unusable response | A0 bad MAC
    Column("pan_token", Text, nullable=True),
    Column("pan_masked", String(19), nullable=True),
    Column("amount", Integer, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("request", JSON, nullable=False),  # the request's non-sensitive fields
    Column("icc_data", LargeBinary, nullable=True),  # reversal subset of field 55 (no PAN, no track)
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("status", String(12), nullable=False, server_default="pending"),  # pending | done
    Column("last_error", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("batch_no", "stan"),
)

#: The current and past batches: every completed financial transaction.
batch_records = Table(
    "batch_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("batch_no", Integer, nullable=False),
    Column("stan", Integer, nullable=False),  # the voucher number
    Column("txn_type", String(24), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("pan_token", Text, nullable=True),
    Column("pan_masked", String(19), nullable=True),
    Column("card_organisation", String(3), nullable=False, server_default=""),
    Column("foreign_card", Boolean, nullable=False, server_default="0"),
    Column("entry_mode", String(20), nullable=False),
    Column("response_code", String(2), nullable=False),
    Column("auth_code", String(6), nullable=True),
    Column("rrn", String(12), nullable=True),
    Column("settlement_date", String(4), nullable=True),
    Column("local_datetime", UtcDateTime(), nullable=False),
    Column("operator", String(3), nullable=False, server_default="01"),
    Column("status", String(12), nullable=False),  # approved | voided | reversed | adjusted
    Column("original_stan", Integer, nullable=True),
    Column("signature_required", Boolean, nullable=False, server_default="0"),
    Column("signature", LargeBinary, nullable=True),  # bilevel signature image
    Column("signature_uploaded", Boolean, nullable=False, server_default="0"),
    Column("settled", Boolean, nullable=False, server_default="0"),
    Column("receipt", JSON, nullable=False),  # the receipt model (masked data only)
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("batch_no", "stan"),
)

#: Advices and uploads that must reach the host eventually (script advice, signatures ...).
pending_uploads = Table(
    "pending_uploads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(24), nullable=False),  # signature | script_advice | offline_advice
    Column("batch_no", Integer, nullable=False),
    Column("stan", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("status", String(12), nullable=False, server_default="pending"),
    Column("last_error", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

terminal_operators = Table(
    "terminal_operators",
    metadata,
    Column("code", String(3), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("role", String(16), nullable=False),  # operator | supervisor
    Column("password_hash", String(200), nullable=False),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime(), nullable=True),
)

#: What happened on the device (no card data): self-tests, sign-ons, errors.
event_log = Table(
    "event_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("event", String(60), nullable=False),
    Column("details", JSON, nullable=False),
)
