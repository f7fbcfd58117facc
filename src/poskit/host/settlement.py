"""Terminal settlement at the host: reconcile a batch, take its details, close it.

The host's own records are the reference: for a terminal batch it computes debit
(sales, completions) and credit (voids, refunds, completion voids) totals for
domestic and foreign cards, exactly as the terminal does, and compares. A balanced
batch is closed at once; an unbalanced one waits for the terminal's batch upload,
each detail compared with the host's record, then closes. Closing advances the
terminal's open batch number and hands the batch to the ledger for payout.
Settling the same batch twice returns the first answer (idempotent).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.engine import Connection

from poskit.cards.pan import mask_pan
from poskit.host.registry import TerminalRecord
from poskit.iso8583.model import BatchItem, Reconciliation, Totals
from poskit.store.schema import terminals, transactions
from poskit.store.schema_terminal_day import batch_upload_items, host_batches

__all__ = ["SettleResult", "end_upload", "host_totals", "record_upload", "settle_batch"]

_DEBIT = ("sale", "completion", "completion_advice")
_CREDIT = ("void", "refund", "completion_void")


@dataclasses.dataclass(frozen=True, slots=True)
class SettleResult:
    host: Totals
    domestic: Reconciliation
    foreign: Reconciliation
    replayed: bool = False

    @property
    def balanced(self) -> bool:
        return self.domestic == Reconciliation.BALANCED and self.foreign == Reconciliation.BALANCED


def _totals_dict(t: Totals) -> dict[str, int]:
    return dataclasses.asdict(t)


def host_totals(conn: Connection, terminal_id: str, batch: int) -> Totals:
    """The host's settlement totals for one terminal batch (reversed and declined excluded)."""
    t = transactions.c
    debit = and_(t.txn_type.in_(_DEBIT), t.status.in_(("approved", "voided", "completed")))
    credit = and_(t.txn_type.in_(_CREDIT), t.status == "approved")
    foreign = t.origin == "foreign"

    def total(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, t.amount), else_=0)), 0)

    def count(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    row = conn.execute(
        select(
            total(and_(debit, ~foreign)),
            count(and_(debit, ~foreign)),
            total(and_(credit, ~foreign)),
            count(and_(credit, ~foreign)),
            total(and_(debit, foreign)),
            count(and_(debit, foreign)),
            total(and_(credit, foreign)),
            count(and_(credit, foreign)),
        ).where(t.terminal_id == terminal_id, t.batch_no == batch, t.mti != "0400")
    ).one()
    return Totals(*(int(v) for v in row))


def _compare(terminal: Totals, host: Totals) -> tuple[Reconciliation, Reconciliation]:
    dom = (terminal.debit_amount, terminal.debit_count, terminal.credit_amount, terminal.credit_count) == (
        host.debit_amount,
        host.debit_count,
        host.credit_amount,
        host.credit_count,
    )
    fgn = (
        terminal.foreign_debit_amount,
        terminal.foreign_debit_count,
        terminal.foreign_credit_amount,
        terminal.foreign_credit_count,
    ) == (
        host.foreign_debit_amount,
        host.foreign_debit_count,
        host.foreign_credit_amount,
        host.foreign_credit_count,
    )
    ok, bad = Reconciliation.BALANCED, Reconciliation.UNBALANCED
    return (ok if dom else bad), (ok if fgn else bad)


def settle_batch(
    conn: Connection,
    terminal: TerminalRecord,
    batch: int,
    terminal_totals: Totals,
    *,
    now: datetime,
    business_date: str,
) -> SettleResult:
    """Reconcile and (when balanced) close a batch; the terminal's next batch opens."""
    existing = (
        conn.execute(
            select(host_batches).where(
                host_batches.c.terminal_id == terminal.terminal_id, host_batches.c.batch_no == batch
            )
        )
        .mappings()
        .first()
    )
    if existing is not None:
        host = Totals(**existing["host_totals"])
        dom, fgn = _compare(Totals(**existing["terminal_totals"]), host)
        return SettleResult(host, dom, fgn, replayed=True)
    host = host_totals(conn, terminal.terminal_id, batch)
    dom, fgn = _compare(terminal_totals, host)
    balanced = dom == fgn == Reconciliation.BALANCED
    conn.execute(
        insert(host_batches).values(
            terminal_id=terminal.terminal_id,
            merchant_id=terminal.merchant_id,
            batch_no=batch,
            status="closed" if balanced else "uploading",
            terminal_totals=_totals_dict(terminal_totals),
            host_totals=_totals_dict(host),
            reconciliation="balanced" if balanced else "unbalanced",
            business_date=business_date,
            settled_at=now,
            closed_at=now if balanced else None,
        )
    )
    next_batch = batch + 1 if batch < 999_999 else 1
    conn.execute(
        update(terminals)
        .where(terminals.c.terminal_id == terminal.terminal_id)
        .values(batch_no=next_batch, last_seen_at=now)
    )
    return SettleResult(host, dom, fgn)


def _batch_row(conn: Connection, terminal_id: str, batch: int) -> Any:
    return (
        conn.execute(
            select(host_batches).where(
                host_batches.c.terminal_id == terminal_id, host_batches.c.batch_no == batch
            )
        )
        .mappings()
        .first()
    )


def record_upload(conn: Connection, terminal_id: str, batch: int, items: tuple[BatchItem, ...]) -> str:
    """Compare uploaded details with the host's records; returns the response code."""
    row = _batch_row(conn, terminal_id, batch)
    if row is None:
        return "25"  # no settlement for that batch: nothing to upload to
    for item in items:
        if conn.execute(
            select(batch_upload_items.c.id).where(
                batch_upload_items.c.host_batch_id == row["id"], batch_upload_items.c.stan == item.stan
            )
        ).first():
            continue  # a repeated upload message
        txn = conn.execute(
            select(transactions.c.id, transactions.c.amount).where(
                transactions.c.terminal_id == terminal_id,
                transactions.c.batch_no == batch,
                transactions.c.stan == item.stan,
                transactions.c.mti != "0400",
            )
        ).first()
        result = (
            "unknown_at_host"
            if txn is None
            else "matched"
            if txn.amount == item.amount
            else "amount_mismatch"
        )
        conn.execute(
            insert(batch_upload_items).values(
                host_batch_id=row["id"],
                stan=item.stan,
                amount=item.amount,
                pan_masked=mask_pan(item.pan),
                transaction_id=txn.id if txn is not None else None,
                result=result,
            )
        )
    return "00"


def end_upload(conn: Connection, terminal_id: str, batch: int, count: int | None, *, now: datetime) -> str:
    """The terminal has sent every detail: close the batch with the comparison's result."""
    row = _batch_row(conn, terminal_id, batch)
    if row is None:
        return "25"
    received = conn.execute(
        select(func.count())
        .select_from(batch_upload_items)
        .where(batch_upload_items.c.host_batch_id == row["id"])
    ).scalar_one()
    mismatches = conn.execute(
        select(func.count())
        .select_from(batch_upload_items)
        .where(batch_upload_items.c.host_batch_id == row["id"], batch_upload_items.c.result != "matched")
    ).scalar_one()
    conn.execute(
        update(host_batches)
        .where(host_batches.c.id == row["id"])
        .values(
            status="closed",
            uploaded=int(received),
            upload_mismatches=int(mismatches) + max(0, (count or 0) - received),
            closed_at=row["closed_at"] or now,
        )
    )
    return "00"
