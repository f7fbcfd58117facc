"""Settlements, payouts and fees as the merchant sees them, read through the ledger's tables and API.

The ledger (:mod:`poskit.ledger`) owns every number here: settlement items written at
the daily cut-off, payouts, fee schedules and the fee audit. This module only selects
what one user may see (tenant scope) and shapes it for pages and the API.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from poskit.ledger.audit import Finding, audit_fees
from poskit.ledger.fees import FeeSchedule, lawful_timeline, load_schedules
from poskit.ledger.payouts import Payout, list_payouts
from poskit.portal.accounts import PortalUser
from poskit.portal.scope import NotFound, get_merchant, merchant_filter
from poskit.store.schema import merchants, terminals, transactions
from poskit.store.schema_ledger import batch_reconciliations, payouts, settlement_items

__all__ = [
    "BUSINESS_DATE",
    "fee_overview",
    "get_payout",
    "merchant_param",
    "payout_items",
    "reconciliations",
    "settlement_day_items",
    "settlement_days",
    "visible_payouts",
    "with_payouts",
]

BUSINESS_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def merchant_param(conn: Connection, user: PortalUser, merchant: int | None) -> int | None:
    """The merchant a page is about: a merchant user's own (a different id is 404), or the one
    acquirer staff picked (None: all of theirs)."""
    if not user.is_acquirer:
        if merchant is not None and merchant != user.merchant_id:
            raise NotFound("merchant")
        return user.merchant_id
    if merchant is None:
        return None
    return int(get_merchant(conn, user, merchant)["id"])


def settlement_days(
    conn: Connection, user: PortalUser, merchant_id: int | None = None, limit: int = 90
) -> list[dict[str, Any]]:
    """Per business date: items, gross, fees, interchange and net (newest first)."""
    s = settlement_items.c
    query = (
        select(
            s.business_date,
            s.currency,
            func.count().label("items"),
            func.sum(s.gross).label("gross"),
            func.sum(s.fee).label("fees"),
            func.sum(s.net).label("net"),
        )
        .where(merchant_filter(user, s.merchant_id))
        .group_by(s.business_date, s.currency)
        .order_by(s.business_date.desc())
        .limit(limit)
    )
    if merchant_id is not None:
        query = query.where(s.merchant_id == merchant_id)
    # SUM of BIGINT is NUMERIC on PostgreSQL: back to int minor units.
    return [
        {**dict(r), **{k: int(r[k] or 0) for k in ("items", "gross", "fees", "net")}}
        for r in conn.execute(query).mappings()
    ]


def _items_query(user: PortalUser) -> Any:
    s = settlement_items.c
    return (
        select(
            settlement_items,
            transactions.c.rrn,
            transactions.c.txn_type,
            transactions.c.terminal_id,
            transactions.c.pan_masked,
            transactions.c.received_at,
            merchants.c.merchant_no,
        )
        .select_from(
            settlement_items.outerjoin(transactions, s.transaction_id == transactions.c.id).join(
                merchants, s.merchant_id == merchants.c.id
            )
        )
        .where(merchant_filter(user, s.merchant_id))
        .order_by(s.id)
    )


def settlement_day_items(
    conn: Connection, user: PortalUser, business_date: str, merchant_id: int | None = None
) -> list[dict[str, Any]]:
    if not BUSINESS_DATE.match(business_date):
        raise NotFound("settlement day")
    try:
        date.fromisoformat(business_date)
    except ValueError:
        raise NotFound("settlement day") from None
    query = _items_query(user).where(settlement_items.c.business_date == business_date)
    if merchant_id is not None:
        query = query.where(settlement_items.c.merchant_id == merchant_id)
    return with_payouts(conn, [dict(r) for r in conn.execute(query).mappings()])


def reconciliations(
    conn: Connection, user: PortalUser, merchant_id: int | None = None, limit: int = 60
) -> list[dict[str, Any]]:
    """Terminal batch reconciliations (对账) of the user's terminals, newest first."""
    r = batch_reconciliations.c
    query = (
        select(batch_reconciliations, terminals.c.merchant_id)
        .select_from(batch_reconciliations.join(terminals, r.terminal_id == terminals.c.terminal_id))
        .where(merchant_filter(user, terminals.c.merchant_id))
        .order_by(r.business_date.desc(), r.terminal_id, r.batch_no)
        .limit(limit)
    )
    if merchant_id is not None:
        query = query.where(terminals.c.merchant_id == merchant_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def visible_payouts(conn: Connection, user: PortalUser, merchant_id: int | None = None) -> list[Payout]:
    if merchant_id is not None:
        return list_payouts(conn, merchant_id=merchant_id, limit=500)
    if user.is_acquirer and user.acquirer_id is not None:
        return list_payouts(conn, acquirer_id=user.acquirer_id, limit=500)
    return []


def get_payout(conn: Connection, user: PortalUser, payout_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(payouts, merchants.c.merchant_no, merchants.c.name.label("merchant_name"))
            .select_from(payouts.join(merchants, payouts.c.merchant_id == merchants.c.id))
            .where(payouts.c.id == payout_id, merchant_filter(user, payouts.c.merchant_id))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("payout")
    return dict(row)


def payout_items(conn: Connection, user: PortalUser, payout_id: int) -> list[dict[str, Any]]:
    """The settlement items a payout paid (the ledger's rule, :func:`poskit.ledger.payouts.payout_of_item`):
    a D0 payout its own items; a T+1 payout every T+1 item of its merchant and currency since the
    previous T+1 payout, up to its business date (a debit balance carries items forward)."""
    payout = get_payout(conn, user, payout_id)
    s = settlement_items.c
    if payout["kind"] != "t1":
        rows = conn.execute(_items_query(user).where(s.payout_id == payout_id)).mappings()
        return [{**dict(r), "paid_by": payout_id} for r in rows]
    previous = conn.execute(
        select(func.max(payouts.c.business_date)).where(
            payouts.c.merchant_id == payout["merchant_id"],
            payouts.c.currency == payout["currency"],
            payouts.c.kind == "t1",
            payouts.c.business_date < payout["business_date"],
        )
    ).scalar()
    query = _items_query(user).where(
        s.merchant_id == payout["merchant_id"],
        s.currency == payout["currency"],
        s.payout_id.is_(None),
        s.mode == "t1",
        s.business_date <= payout["business_date"],
    )
    if previous is not None:
        query = query.where(s.business_date > previous)
    return [{**dict(r), "paid_by": payout_id} for r in conn.execute(query).mappings()]


def with_payouts(conn: Connection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill in ``paid_by``: the payout of each item (its D0 payout, or the first T+1 on or after its day)."""
    t1: dict[tuple[int, str], list[tuple[str, int]]] = {}
    keys = {(int(i["merchant_id"]), str(i["currency"])) for i in items if i["payout_id"] is None}
    for merchant_id, currency in keys:
        rows = conn.execute(
            select(payouts.c.business_date, payouts.c.id)
            .where(
                payouts.c.merchant_id == merchant_id, payouts.c.currency == currency, payouts.c.kind == "t1"
            )
            .order_by(payouts.c.business_date)
        ).all()
        t1[(merchant_id, currency)] = [(str(r[0]), int(r[1])) for r in rows]
    for item in items:
        if item["payout_id"] is not None:
            item["paid_by"] = item["payout_id"]
            continue
        candidates = t1.get((int(item["merchant_id"]), str(item["currency"])), [])
        item["paid_by"] = next((pid for day, pid in candidates if day >= item["business_date"]), None)
    return items


def fee_overview(conn: Connection, merchant_id: int, *, now: datetime) -> dict[str, Any]:
    """The contract in force now, every version with its notice date, and the fee audit's findings."""
    versions: list[FeeSchedule] = load_schedules(conn, merchant_id).get(merchant_id, [])
    timeline = lawful_timeline(versions)
    in_force = None
    for segment in timeline:
        if segment.start <= now and (segment.end is None or now < segment.end):
            in_force = segment
    lawful_start = {seg.schedule.id: seg.start for seg in timeline}
    report = audit_fees(conn, merchant_id=merchant_id)
    findings: list[Finding] = report.findings
    return {
        "in_force": in_force.schedule if in_force else None,
        "in_force_since": in_force.start if in_force else None,
        "versions": list(reversed(versions)),
        "lawful_start": lawful_start,
        "timeline": timeline,
        "findings": findings,
        "lines_checked": report.lines_checked,
        "owed": report.owed,
    }
