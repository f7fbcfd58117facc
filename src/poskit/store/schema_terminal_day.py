"""Host tables for the merchant's whole day: settlement batches, signatures, effects, issuer actions."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from poskit.store.schema import UtcDateTime, metadata

__all__ = ["batch_upload_items", "host_batches", "issuer_actions", "signatures", "transaction_effects"]

#: One terminal batch as the host sees it: open while transactions come in, closed at settlement.
host_batches = Table(
    "host_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("terminal_id", String(8), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("batch_no", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # settling | uploading | closed
    Column("terminal_totals", JSON, nullable=False),
    Column("host_totals", JSON, nullable=False),
    Column("reconciliation", String(12), nullable=False),  # balanced | unbalanced
    Column("uploaded", Integer, nullable=False, server_default="0"),
    Column("upload_mismatches", Integer, nullable=False, server_default="0"),
    Column("business_date", String(10), nullable=False),  # YYYY-MM-DD, acquirer zone
    Column("settled_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    UniqueConstraint("terminal_id", "batch_no"),
)

#: Details the terminal uploaded (0320) when its totals did not balance, and how each compared.
batch_upload_items = Table(
    "batch_upload_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host_batch_id", ForeignKey("host_batches.id"), nullable=False),
    Column("stan", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("pan_masked", String(19), nullable=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("result", String(16), nullable=False),  # matched | amount_mismatch | unknown_at_host
    UniqueConstraint("host_batch_id", "stan"),
)

#: Electronic signatures (签名) uploaded in 0820 chunks or signed later (补签) in the portal.
signatures = Table(
    "signatures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("terminal_id", String(8), nullable=False),
    Column("rrn", String(12), nullable=False),
    Column("settlement_date", String(4), nullable=True),
    Column("feature_code", String(16), nullable=True),
    Column("image", LargeBinary, nullable=False),  # the bilevel image as uploaded
    Column("image_format", String(12), nullable=False),  # jbig85 | png
    Column("receipt_tlv", LargeBinary, nullable=True),  # e-receipt TLV (field 55 of 0820)
    Column("chunks", Integer, nullable=False, server_default="1"),
    Column("complete", Boolean, nullable=False, server_default="0"),
    Column("source", String(12), nullable=False, server_default="terminal"),  # terminal | portal
    Column("uploaded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("terminal_id", "rrn"),
)
Index("ix_signatures_transaction", signatures.c.transaction_id)

#: What a transaction changed at the issuer and on its original, so a reversal can undo exactly that.
transaction_effects = Table(
    "transaction_effects",
    metadata,
    Column("transaction_id", ForeignKey("transactions.id"), primary_key=True),
    Column("issuer_account_id", ForeignKey("issuer_accounts.id"), nullable=True),
    Column("balance_delta", BigInteger, nullable=False, server_default="0"),
    Column("holds_delta", BigInteger, nullable=False, server_default="0"),
    Column("related_id", ForeignKey("transactions.id"), nullable=True),
    Column("related_status_before", String(16), nullable=True),
    Column("related_status_after", String(16), nullable=True),
)

#: Issuer-side actions waiting for the card's next online transaction (issuer scripts).
issuer_actions = Table(
    "issuer_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("issuer_card_id", ForeignKey("issuer_cards.id"), nullable=False),
    Column("action", String(20), nullable=False),  # pin_unblock | application_block
    Column("status", String(12), nullable=False, server_default="pending"),  # pending | sent | done | failed
    Column("sent_transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("result", String(60), nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
