"""Reconciliation of closed terminal batches against host records and the ledger: every break listed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ledger_world import NOODLE, NOW, World
from sqlalchemy import insert, update
from sqlalchemy.engine import Connection

from poskit.ledger.events import negate_transaction
from poskit.ledger.reconciliation import TOTAL_FIELDS, host_totals, reconciliation_report
from poskit.ledger.settlement import settle_day
from poskit.store.db import inserted_id
from poskit.store.schema import transactions
from poskit.store.schema_terminal_day import batch_upload_items, host_batches

SETTLED = NOW + timedelta(hours=8)


def _terminal_day(world: World) -> dict[str, int]:
    """Sales (one foreign), a voided sale with its void, and a refund on terminal 10000001 batch 1."""
    with world.begin() as conn:
        world.record(conn, 10000)
        world.record(conn, 5000, origin="foreign")
        voided = world.record(conn, 3000)
        world.record(conn, 3000, txn_type="void", post=False)
        negate_transaction(conn, txn_id=voided.id, at=NOW, reason="void")
        conn.execute(update(transactions).where(transactions.c.id == voided.id).values(status="voided"))
        world.record(conn, 2000, txn_type="refund")
    totals = dict.fromkeys(TOTAL_FIELDS, 0)
    totals.update(
        debit_amount=13000,
        debit_count=2,
        credit_amount=5000,
        credit_count=2,
        foreign_debit_amount=5000,
        foreign_debit_count=1,
    )
    return totals


def _close(conn: Connection, world: World, terminal: dict[str, int], *, batch: int = 1) -> int:
    return inserted_id(
        conn.execute(
            insert(host_batches).values(
                terminal_id="10000001",
                merchant_id=world.cafe,
                batch_no=batch,
                status="closed",
                terminal_totals=terminal,
                host_totals=terminal,
                reconciliation="balanced",
                business_date="2026-11-24",
                settled_at=SETTLED,
                closed_at=SETTLED,
            )
        )
    )


def _settle(world: World) -> None:
    with world.begin() as conn:
        settle_day(conn, business_date=date(2026, 11, 24), now=datetime(2026, 11, 25, 1, tzinfo=UTC))


def test_balanced_batch_and_open_batch(world: World) -> None:
    """Matching totals reconcile as balanced; a terminal that never settled shows an open batch."""
    totals = _terminal_day(world)
    world.sale(8000, merchant=NOODLE)
    with world.begin() as conn:
        assert host_totals(conn, "10000001", 1) == totals
        _close(conn, world, totals)
    _settle(world)
    with world.engine.connect() as conn:
        report = {r.terminal_id: r for r in reconciliation_report(conn, business_date="2026-11-24")}
        assert reconciliation_report(conn, breaks_only=True) == []
    assert report["10000001"].status == "balanced" and report["10000001"].breaks == []
    assert report["20000001"].status == "open" and report["20000001"].host_totals["debit_amount"] == 8000


def test_every_break_is_listed(sqlite_world: World) -> None:
    """Terminal totals that differ, a mismatched upload line, a late record and a sale missing from the
    ledger each appear in the report.

    SQLite only: batch_upload_items.result is String(12) but the host writes "amount_mismatch"
    (15 characters), which PostgreSQL refuses (reported to the lead).
    """
    world = sqlite_world
    totals = _terminal_day(world)
    terminal = {**totals, "debit_amount": 12000}
    with world.begin() as conn:
        batch_id = _close(conn, world, terminal)
        conn.execute(
            insert(batch_upload_items).values(
                host_batch_id=batch_id, stan=2, amount=4000, result="amount_mismatch"
            )
        )
        world.record(conn, 700, at=SETTLED + timedelta(minutes=5), post=False)  # after close, never posted
    _settle(world)
    with world.engine.connect() as conn:
        [result] = reconciliation_report(conn, business_date="2026-11-24", breaks_only=True)
    kinds = [b["kind"] for b in result.breaks]
    assert result.status == "break"
    assert kinds == [
        "terminal_totals_differ",
        "host_records_changed_after_close",
        "upload_amount_mismatch",
        "after_settlement",
        "ledger_differs",
    ]
    assert result.breaks[0]["fields"]["debit_amount"] == [12000, 13700]
    assert result.breaks[-1]["host_net"] - result.breaks[-1]["ledger_net"] == 700
