"""The merchant statement lists the period's slips still waiting for a signature (补签)."""

from __future__ import annotations

from datetime import date, timedelta

from ledger_world import CAFE, NOW, World
from sqlalchemy import insert, update

from poskit.ledger.statements import build_statement, statement_csv
from poskit.store.schema import transactions
from poskit.store.schema_terminal_day import signatures


def _needs_signature(world: World, *txn_ids: int) -> None:
    with world.begin() as conn:
        conn.execute(
            update(transactions).where(transactions.c.id.in_(txn_ids)).values(signature_required=True)
        )


def test_statement_lists_unsigned_slips_from_the_stored_flag(sqlite_world: World) -> None:
    """Flagged and unsigned: listed (sale and refund); signed, PIN-verified, voided or another day: not."""
    world = sqlite_world
    unsigned_sale = world.sale(8800)
    refund = world.sale(1000, txn_type="refund")
    signed = world.sale(5000)
    pin_sale = world.sale(12345, pin=True)  # the host stored "no signature" for it
    voided = world.sale(2000)
    world.void(voided)
    next_day = world.sale(3000, at=NOW + timedelta(days=1))
    _needs_signature(world, unsigned_sale.id, refund.id, signed.id, voided.id, next_day.id)
    with world.begin() as conn:
        conn.execute(
            insert(signatures).values(
                transaction_id=signed.id,
                terminal_id="10000001",
                rrn=signed.rrn,
                image=b"\x89PNG",
                image_format="png",
                complete=True,
                source="portal",
                uploaded_at=NOW,
            )
        )
    with world.engine.connect() as conn:
        st = build_statement(conn, CAFE, NOW.date(), NOW.date())
        later = build_statement(conn, CAFE, date(2026, 11, 25), date(2026, 11, 25))
    assert [(s.rrn, s.txn_type, s.amount) for s in st.unsigned] == [
        (unsigned_sale.rrn, "sale", 8800),
        (refund.rrn, "refund", 1000),
    ]
    assert pin_sale.rrn not in {s.rrn for s in st.unsigned}
    assert [s.rrn for s in later.unsigned] == [next_day.rrn]
    text = statement_csv(st)
    assert f",{unsigned_sale.rrn},sale,622202******1234,88.00" in text
    assert text.count("\nunsigned,") == 2
