"""A terminal's day against the memory-engine host over TCP: sales in memory, the rest on SQL."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select

from poskit.benchmarks._harness import terminal_engine
from poskit.config import Settings
from poskit.host.hotpath.writer import MemoryWriter
from poskit.ledger.check import check_ledger
from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.schema import issuer_accounts
from poskit.testing import LiveServices

PIN = "654321"


def test_sale_void_refund_and_settlement_on_the_memory_engine(demo_copy: Settings) -> None:
    """Sales are decided in memory; the void, the refund and the settlement run on the SQL path in the
    same writer; the issuer balance moves by exactly the sales not voided minus the refund, the
    terminal's totals balance with the host's, and the ledger checks clean."""
    settings = demo_copy.model_copy(update={"host_engine": "memory"})
    live = LiveServices(settings, portal=False).start()
    try:
        assert live.services is not None
        writer = live.services.writer
        assert isinstance(writer, MemoryWriter) and writer.state is not None
        store, engine = terminal_engine(settings, live.address, "M0000001", "magstripe-debit", pins=[PIN])
        try:
            account_id = next(
                c.account_id for c in writer.state.cards.values() if c.name == "magstripe-debit"
            )
            opening = writer.state.accounts[account_id].balance

            async def day() -> None:
                sales = [await engine.sale(Amount.of(minor, "CNY")) for minor in (1200, 3400, 560)]
                assert all(s.approved for s in sales), [s.message for s in sales]
                void = await engine.void(sales[1].stan or 0, "123456")
                assert void.approved, void.message
                refund = await engine.refund(
                    Amount.of(200, "CNY"), sales[0].rrn or "", datetime.now().strftime("%m%d"), "123456"
                )
                assert refund.approved, refund.message
                settled = await engine.settle()
                assert settled.approved and settled.extra["balanced"] is True, settled.extra

            asyncio.run(day())
        finally:
            store.close()
        assert writer.decided_in_memory >= 2
        assert writer.state.accounts[account_id].balance == opening - 1200 - 560 + 200
    finally:
        live.stop()
    db = make_engine(settings.resolved_database_url)
    try:
        with db.connect() as conn:
            stored = conn.execute(
                select(issuer_accounts.c.balance).where(issuer_accounts.c.id == account_id)
            ).scalar_one()
            report = check_ledger(conn)
    finally:
        db.dispose()
    assert stored == opening - 1200 - 560 + 200
    assert report.ok, report.breaks
