"""E-receipt links: the cardholder's way to open a receipt without an account.

A link is ``<portal>/r/<token>``: the token is 128 random bits, printed on the slip
and never stored; the row keeps only its SHA-256 digest, so a copy of the database
opens no receipt. One transaction may have several links (a repeat of the request
gets a new one, because the first token cannot be recovered from its digest).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from poskit.store.schema import UtcDateTime, metadata

__all__ = ["receipt_links"]

receipt_links = Table(
    "receipt_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the token
    Column("transaction_id", ForeignKey("transactions.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)
Index("ix_receipt_links_transaction", receipt_links.c.transaction_id)
