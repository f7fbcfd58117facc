"""Signatures at the host: 0820 chunks assembled per transaction (by reference number)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from poskit.store.schema import transactions
from poskit.store.schema_terminal_day import signatures

__all__ = ["store_signature_chunk"]

_MAX_IMAGE = 64 * 1024  # a bilevel signature is a few kilobytes; refuse anything absurd


def store_signature_chunk(
    conn: Connection,
    *,
    terminal_id: str,
    rrn: str,
    settlement_date: str | None,
    chunk: bytes,
    continuation: bool,
    receipt_tlv: bytes | None,
    now: datetime,
) -> str:
    """First chunk (800) starts or restarts the image; 801 appends. 94 answers a repeat of a done upload."""
    txn_id = conn.execute(
        select(transactions.c.id).where(transactions.c.rrn == rrn, transactions.c.terminal_id == terminal_id)
    ).scalar()
    row = (
        conn.execute(
            select(signatures).where(signatures.c.terminal_id == terminal_id, signatures.c.rrn == rrn)
        )
        .mappings()
        .first()
    )
    if not continuation:
        if row is not None and row["complete"] and row["image"] == chunk:
            return "94"
        if row is None:
            conn.execute(
                insert(signatures).values(
                    transaction_id=txn_id,
                    terminal_id=terminal_id,
                    rrn=rrn,
                    settlement_date=settlement_date,
                    image=chunk,
                    image_format="jbig85",
                    receipt_tlv=receipt_tlv,
                    chunks=1,
                    complete=True,
                    source="terminal",
                    uploaded_at=now,
                )
            )
        else:
            conn.execute(
                update(signatures)
                .where(signatures.c.id == row["id"])
                .values(
                    image=chunk,
                    receipt_tlv=receipt_tlv or row["receipt_tlv"],
                    chunks=1,
                    complete=True,
                    transaction_id=txn_id,
                    uploaded_at=now,
                )
            )
        return "00"
    if row is None:
        return "25"  # a continuation without its first chunk
    image = bytes(row["image"]) + chunk
    if len(image) > _MAX_IMAGE:
        return "30"
    conn.execute(
        update(signatures)
        .where(signatures.c.id == row["id"])
        .values(image=image, chunks=row["chunks"] + 1, uploaded_at=now)
    )
    return "00"
