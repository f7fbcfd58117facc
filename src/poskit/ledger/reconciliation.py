"""Reconciliation of terminal batches against host records and the ledger (对账).

For every batch of an acquirer's day — closed at settlement (``host_batches``) or
still open — the host's totals are recomputed from its transaction records with the
CUPS rules (debit = sales and completions, credit = voids, refunds and completion
voids, split 内卡/外卡) and compared with:

* the totals the terminal sent in its 0500 (``terminal_totals``),
* the totals the host answered with when it closed the batch (``host_totals``: a
  difference means records changed after the close),
* the detail lines the terminal uploaded (0320) that did not match,
* the ledger: the issuer-settlement movement of the batch's money journals must equal
  debit minus credit.

Each difference is a *break* in the report; a closed batch without breaks is balanced.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    insert,
    not_,
    or_,
    select,
    union,
)
from sqlalchemy.engine import Connection

from poskit.store.schema import merchants, transactions
from poskit.store.schema_ledger import batch_reconciliations, settlement_items
from poskit.store.schema_terminal_day import batch_upload_items, host_batches

__all__ = [
    "CREDIT_TYPES",
    "DEBIT_STATUSES",
    "DEBIT_TYPES",
    "TOTAL_FIELDS",
    "BatchReconciliation",
    "host_totals",
    "reconcile_batches",
    "reconciliation_report",
]

# The host's own rules for a batch's totals (poskit.host.settlement.host_totals), mirrored here so
# the ledger does not import the host: debit = sales and completions still counted (approved, or
# voided/completed later); credit = approved voids, refunds and completion voids.
DEBIT_TYPES = ("sale", "completion", "completion_advice")
DEBIT_STATUSES = ("approved", "voided", "completed")
CREDIT_TYPES = ("void", "refund", "completion_void")
TOTAL_FIELDS = (
    "debit_amount",
    "debit_count",
    "credit_amount",
    "credit_count",
    "foreign_debit_amount",
    "foreign_debit_count",
    "foreign_credit_amount",
    "foreign_credit_count",
)


@dataclasses.dataclass(frozen=True, slots=True)
class BatchReconciliation:
    business_date: str
    terminal_id: str
    batch_no: int
    status: str  # balanced | break | open
    host_totals: dict[str, int]
    terminal_totals: dict[str, int] | None
    breaks: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _totals_columns() -> list[Any]:
    t = transactions
    foreign = t.c.origin == "foreign"
    columns = []
    for prefix, flag in (("", or_(not_(foreign), t.c.origin.is_(None))), ("foreign_", foreign)):
        for side, counted in (
            ("debit", and_(t.c.txn_type.in_(DEBIT_TYPES), t.c.status.in_(DEBIT_STATUSES))),
            ("credit", and_(t.c.txn_type.in_(CREDIT_TYPES), t.c.status == "approved")),
        ):
            hit = and_(flag, counted)
            columns.append(
                func.coalesce(func.sum(case((hit, t.c.amount), else_=0)), 0).label(f"{prefix}{side}_amount")
            )
            columns.append(func.coalesce(func.sum(case((hit, 1), else_=0)), 0).label(f"{prefix}{side}_count"))
    return columns


def _batches_table() -> Table:
    """A temporary list of the batches being reconciled, joined to instead of a long IN list."""
    return Table(
        "poskit_recon_batches",
        MetaData(),
        Column("terminal_id", String(8), primary_key=True),
        Column("batch_no", Integer, primary_key=True),
        prefixes=["TEMPORARY"],
    )


def _totals_by_batch(conn: Connection, query: Any) -> dict[tuple[str, int], dict[str, int]]:
    return {
        (r["terminal_id"], int(r["batch_no"])): {name: int(r[name]) for name in TOTAL_FIELDS}
        for r in conn.execute(query).mappings()
    }


def _batch_totals(conn: Connection, batches: Table, end: datetime) -> dict[tuple[str, int], dict[str, int]]:
    """Host totals of every listed batch in one query, counting records received before ``end``."""
    t = transactions
    query = (
        select(t.c.terminal_id, t.c.batch_no, *_totals_columns())
        .select_from(
            batches.join(
                t, and_(t.c.terminal_id == batches.c.terminal_id, t.c.batch_no == batches.c.batch_no)
            )
        )
        .where(t.c.mti != "0400", t.c.received_at < end)
        .group_by(t.c.terminal_id, t.c.batch_no)
    )
    return _totals_by_batch(conn, query)


def host_totals(conn: Connection, terminal_id: str, batch_no: int) -> dict[str, int]:
    """The batch's totals recomputed from the host's transaction records."""
    t = transactions
    query = (
        select(t.c.terminal_id, t.c.batch_no, *_totals_columns())
        .where(t.c.terminal_id == terminal_id, t.c.batch_no == batch_no, t.c.mti != "0400")
        .group_by(t.c.terminal_id, t.c.batch_no)
    )
    return _totals_by_batch(conn, query).get((terminal_id, batch_no), dict.fromkeys(TOTAL_FIELDS, 0))


def _batch_ledger_net(conn: Connection, batches: Table) -> dict[tuple[str, int], int]:
    """Issuer-settlement movement of each batch's money journals, read from their settlement items.

    ``ledger check`` proves every item equals its journal, so one pass over the items (instead of
    every ledger entry) gives the ledger's side of each batch.
    """
    t = transactions
    query = (
        select(t.c.terminal_id, t.c.batch_no, func.sum(settlement_items.c.gross).label("net"))
        .select_from(
            batches.join(
                t, and_(t.c.terminal_id == batches.c.terminal_id, t.c.batch_no == batches.c.batch_no)
            ).join(settlement_items, settlement_items.c.transaction_id == t.c.id)
        )
        .group_by(t.c.terminal_id, t.c.batch_no)
    )
    return {(r.terminal_id, int(r.batch_no)): int(r.net) for r in conn.execute(query)}


def _normalise(totals: Any) -> dict[str, int] | None:
    if not isinstance(totals, dict):
        return None
    return {name: int(totals.get(name, 0) or 0) for name in TOTAL_FIELDS}


def _diff(a: dict[str, int], b: dict[str, int]) -> dict[str, list[int]]:
    return {k: [a[k], b[k]] for k in TOTAL_FIELDS if a[k] != b[k]}


def reconcile_batches(
    conn: Connection,
    *,
    acquirer_id: int,
    business_date: str,
    start: datetime | None,
    end: datetime,
    now: datetime,
) -> list[BatchReconciliation]:
    """Reconcile the batches closed on ``business_date`` and those still open with activity in the
    window; store each result once (a re-run returns the stored results)."""
    stored = (
        conn.execute(
            select(batch_reconciliations).where(
                batch_reconciliations.c.acquirer_id == acquirer_id,
                batch_reconciliations.c.business_date == business_date,
            )
        )
        .mappings()
        .all()
    )
    if stored:
        return [_from_row(r) for r in stored]
    closed_today = (
        select(host_batches.c.terminal_id, host_batches.c.batch_no)
        .select_from(host_batches.join(merchants, merchants.c.id == host_batches.c.merchant_id))
        .where(merchants.c.acquirer_id == acquirer_id, host_batches.c.business_date == business_date)
    )
    window = [transactions.c.received_at < end, merchants.c.acquirer_id == acquirer_id]
    if start is not None:
        window.append(transactions.c.received_at >= start)
    active = (
        select(transactions.c.terminal_id, transactions.c.batch_no)
        .select_from(transactions.join(merchants, merchants.c.id == transactions.c.merchant_id))
        .where(*window)
    )
    batches = _batches_table()
    batches.create(conn)
    try:
        conn.execute(insert(batches).from_select(["terminal_id", "batch_no"], union(closed_today, active)))
        totals = _batch_totals(conn, batches, end)
        ledger = _batch_ledger_net(conn, batches)
        closed = (
            conn.execute(
                select(host_batches)
                .select_from(
                    batches.join(
                        host_batches,
                        and_(
                            host_batches.c.terminal_id == batches.c.terminal_id,
                            host_batches.c.batch_no == batches.c.batch_no,
                        ),
                    )
                )
                .order_by(host_batches.c.terminal_id, host_batches.c.batch_no)
            )
            .mappings()
            .all()
        )
    finally:
        batches.drop(conn)
    results: list[BatchReconciliation] = []
    closed_ids = set()
    for batch in closed:
        ident = (batch["terminal_id"], int(batch["batch_no"]))
        closed_ids.add(ident)
        if batch["business_date"] != business_date:
            continue  # closed on another day: reconciled with that day
        results.append(_reconcile_closed(conn, business_date, batch, totals.get(ident), ledger.get(ident, 0)))
    for ident in sorted(set(totals) | set(ledger)):
        if ident in closed_ids:
            continue
        recomputed = totals.get(ident, dict.fromkeys(TOTAL_FIELDS, 0))
        breaks = _ledger_breaks(recomputed, ledger.get(ident, 0))
        results.append(
            BatchReconciliation(business_date, ident[0], ident[1], "open", recomputed, None, breaks)
        )
    if results:
        conn.execute(
            insert(batch_reconciliations),
            [
                {
                    "acquirer_id": acquirer_id,
                    "business_date": r.business_date,
                    "terminal_id": r.terminal_id,
                    "batch_no": r.batch_no,
                    "status": r.status,
                    "host_totals": r.host_totals,
                    "terminal_totals": r.terminal_totals,
                    "breaks": r.breaks,
                    "created_at": now,
                }
                for r in results
            ],
        )
    return results


def _ledger_breaks(totals: dict[str, int], ledger_net: int) -> list[dict[str, Any]]:
    host_net = (
        totals["debit_amount"]
        + totals["foreign_debit_amount"]
        - totals["credit_amount"]
        - totals["foreign_credit_amount"]
    )
    if ledger_net == host_net:
        return []
    return [
        {
            "kind": "ledger_differs",
            "detail": f"host records net {host_net}, ledger issuer settlement moved {ledger_net}",
            "host_net": host_net,
            "ledger_net": ledger_net,
        }
    ]


def _reconcile_closed(
    conn: Connection,
    business_date: str,
    batch: Any,
    totals: dict[str, int] | None,
    ledger_net: int,
) -> BatchReconciliation:
    terminal_id, batch_no = batch["terminal_id"], batch["batch_no"]
    recomputed = totals or dict.fromkeys(TOTAL_FIELDS, 0)
    terminal = _normalise(batch["terminal_totals"])
    answered = _normalise(batch["host_totals"])
    breaks: list[dict[str, Any]] = []
    if batch["status"] != "closed":
        breaks.append({"kind": "batch_not_closed", "detail": f"batch is {batch['status']} at cut-off"})
    if terminal is not None and (diff := _diff(terminal, recomputed)):
        breaks.append(
            {
                "kind": "terminal_totals_differ",
                "detail": "; ".join(f"{k}: terminal {v[0]} host {v[1]}" for k, v in diff.items()),
                "fields": diff,
            }
        )
    if answered is not None and (diff := _diff(answered, recomputed)):
        breaks.append(
            {
                "kind": "host_records_changed_after_close",
                "detail": "; ".join(f"{k}: at close {v[0]} now {v[1]}" for k, v in diff.items()),
                "fields": diff,
            }
        )
    for item in conn.execute(
        select(batch_upload_items).where(
            batch_upload_items.c.host_batch_id == batch["id"], batch_upload_items.c.result != "matched"
        )
    ).mappings():
        breaks.append(
            {
                "kind": f"upload_{item['result']}",
                "detail": f"uploaded voucher {item['stan']:06d} amount {item['amount']}: {item['result']}",
                "stan": item["stan"],
                "amount": item["amount"],
                "transaction_id": item["transaction_id"],
            }
        )
    late = conn.execute(
        select(func.count())
        .select_from(transactions)
        .where(
            transactions.c.terminal_id == terminal_id,
            transactions.c.batch_no == batch_no,
            transactions.c.received_at > batch["settled_at"],
            transactions.c.txn_type.in_(DEBIT_TYPES + CREDIT_TYPES),
        )
    ).scalar_one()
    if late:
        breaks.append(
            {"kind": "after_settlement", "detail": f"{late} records arrived after the batch settled"}
        )
    breaks += _ledger_breaks(recomputed, ledger_net)
    return BatchReconciliation(
        business_date, terminal_id, batch_no, "break" if breaks else "balanced", recomputed, terminal, breaks
    )


def _from_row(row: Any) -> BatchReconciliation:
    return BatchReconciliation(
        row["business_date"],
        row["terminal_id"],
        row["batch_no"],
        row["status"],
        dict(row["host_totals"]),
        dict(row["terminal_totals"]) if row["terminal_totals"] is not None else None,
        list(row["breaks"]),
    )


def reconciliation_report(
    conn: Connection,
    *,
    business_date: str | None = None,
    acquirer_id: int | None = None,
    breaks_only: bool = False,
) -> list[BatchReconciliation]:
    """Stored reconciliation results (each break listed), newest business date first."""
    query = select(batch_reconciliations).order_by(
        batch_reconciliations.c.business_date.desc(),
        batch_reconciliations.c.terminal_id,
        batch_reconciliations.c.batch_no,
    )
    if business_date is not None:
        query = query.where(batch_reconciliations.c.business_date == business_date)
    if acquirer_id is not None:
        query = query.where(batch_reconciliations.c.acquirer_id == acquirer_id)
    results = [_from_row(r) for r in conn.execute(query).mappings()]
    return [r for r in results if r.breaks] if breaks_only else results
