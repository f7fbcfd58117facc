"""Fee charges outside a sale (D0, periodic): one journal, one fee line per charge, idempotent by key."""

from __future__ import annotations

from ledger_world import CAFE, NOW, World
from sqlalchemy import func, select

from poskit.ledger.balances import merchant_available
from poskit.ledger.events import FeeCharge, post_fee_charges
from poskit.ledger.fees import quote_fee, schedule_in_force
from poskit.money import Amount
from poskit.store.schema import fee_lines


def test_fee_charges_post_once_with_their_lines(world: World) -> None:
    """Two D0 lines in one journal; posting the same key again charges nothing more."""
    a, b = world.sale(10000), world.sale(20000)
    with world.begin() as conn:
        schedule = schedule_in_force(conn, world.cafe, NOW)
        charges = [
            FeeCharge(quote_fee(schedule, "d0_settlement", Amount.of(t.amount, "CNY")), t.id) for t in (a, b)
        ]
        first = post_fee_charges(
            conn,
            key="d0:test",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=charges,
            at=NOW,
            kind="d0_fee",
            description="D0",
        )
        again = post_fee_charges(
            conn,
            key="d0:test",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=charges,
            at=NOW,
            kind="d0_fee",
            description="D0",
        )
        assert first == again
        count = conn.execute(
            select(func.count()).select_from(fee_lines).where(fee_lines.c.rule == "d0_settlement")
        ).scalar_one()
        assert count == 2
        assert merchant_available(conn, CAFE, "CNY") == (10000 - 60) + (20000 - 120) - 400
