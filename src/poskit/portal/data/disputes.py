"""Disputes and chargebacks through the ledger's dispute API, within the user's tenant scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.ledger.audit import Finding, audit_fees
from poskit.ledger.disputes import Dispute, get_dispute, list_disputes
from poskit.portal.accounts import PortalUser
from poskit.portal.scope import NotFound, merchant_filter, visible_merchant_ids
from poskit.store.schema import fee_lines, transactions
from poskit.store.schema_ledger import disputes

__all__ = [
    "MERCHANT_OPEN",
    "OPEN_STATES",
    "finding_for",
    "get_fee_line",
    "get_visible_dispute",
    "visible_disputes",
]

#: States in which the acquirer still has to act.
OPEN_STATES = (
    "open",
    "under_review",
    "retrieval_request",
    "chargeback",
    "represented",
    "retrieval_fulfilled",
)
#: Chargeback states in which the merchant may still act (accept, or supply evidence by note).
MERCHANT_OPEN = ("open", "under_review", "retrieval_request", "chargeback")


def get_visible_dispute(conn: Connection, user: PortalUser, dispute_id: int) -> Dispute:
    found = conn.execute(
        select(disputes.c.id).where(
            disputes.c.id == dispute_id, merchant_filter(user, disputes.c.merchant_id)
        )
    ).first()
    if found is None:
        raise NotFound("dispute")
    return get_dispute(conn, dispute_id)


def visible_disputes(
    conn: Connection,
    user: PortalUser,
    *,
    status: str | None = None,
    open_only: bool = False,
    merchant_id: int | None = None,
) -> list[Dispute]:
    if merchant_id is not None:
        ids = [merchant_id] if merchant_id in visible_merchant_ids(conn, user) else []
    elif user.is_acquirer:
        ids = visible_merchant_ids(conn, user)
    else:
        ids = [user.merchant_id] if user.merchant_id is not None else []
    out: list[Dispute] = []
    for mid in ids:
        out.extend(list_disputes(conn, merchant_id=mid, status=status))
    if open_only:
        out = [d for d in out if d.status in OPEN_STATES]
    return sorted(out, key=lambda d: d.id, reverse=True)


def get_fee_line(conn: Connection, user: PortalUser, fee_line_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(fee_lines, transactions.c.rrn, transactions.c.amount.label("txn_amount"))
            .select_from(fee_lines.outerjoin(transactions, transactions.c.id == fee_lines.c.transaction_id))
            .where(fee_lines.c.id == fee_line_id, merchant_filter(user, fee_lines.c.merchant_id))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("fee line")
    return dict(row)


def finding_for(conn: Connection, merchant_id: int, key: str) -> Finding | None:
    """The fee audit's finding with ``key`` for this merchant (recomputed: keys from the browser are
    never trusted)."""
    for finding in audit_fees(conn, merchant_id=merchant_id).findings:
        if finding.key == key:
            return finding
    return None
