"""transactions: signature_required, the one rule's answer stored with the transaction (补签)

Existing rows are backfilled with :mod:`poskit.signature_rule` from what the host kept
of each request: type, entry mode, the PIN flag and the chip data (9F34, 9F6C).

Revision ID: 0009_signature_required
Revises: 0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from poskit.signature_rule import ALWAYS_SIGNED_TYPES, CVM_SIGNED_TYPES, cvm_from_hex, signature_required

revision = "0009_signature_required"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("signature_required", sa.Boolean(), server_default="0", nullable=False))
    conn = op.get_bind()
    txns = sa.table(
        "transactions",
        sa.column("id", sa.Integer),
        sa.column("txn_type", sa.String),
        sa.column("status", sa.String),
        sa.column("entry_mode", sa.String),
        sa.column("pin_entered", sa.Boolean),
        sa.column("response", sa.JSON),
        sa.column("signature_required", sa.Boolean),
    )
    rows = conn.execute(
        sa.select(txns.c.id, txns.c.txn_type, txns.c.entry_mode, txns.c.pin_entered, txns.c.response).where(
            txns.c.txn_type.in_(sorted(CVM_SIGNED_TYPES | ALWAYS_SIGNED_TYPES)), txns.c.status != "declined"
        )
    ).all()
    signed = [row.id for row in rows if _required(row)]
    for start in range(0, len(signed), 500):
        conn.execute(
            txns.update().where(txns.c.id.in_(signed[start : start + 500])).values(signature_required=True)
        )


def _required(row: Any) -> bool:
    response = row.response
    if isinstance(response, str):  # a JSON column read without its type on some backends
        response = json.loads(response)
    emv = response.get("emv") if isinstance(response, dict) else None
    return signature_required(row.txn_type, cvm_from_hex(row.entry_mode, bool(row.pin_entered), emv))


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("signature_required")
