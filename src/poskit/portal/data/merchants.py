"""Merchants and their acquirer, as the portal shows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.store.schema import acquirers, merchants

__all__ = ["acquirer_of", "merchant_choices"]


def acquirer_of(conn: Connection, merchant_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(acquirers)
            .select_from(acquirers.join(merchants, merchants.c.acquirer_id == acquirers.c.id))
            .where(merchants.c.id == merchant_id)
        )
        .mappings()
        .one()
    )
    return dict(row)


def merchant_choices(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(id, "merchant_no name") for a merchant picker."""
    return [(int(r["id"]), f"{r['merchant_no']} {r['name']}") for r in rows]
