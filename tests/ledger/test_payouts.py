"""D0 instant settlement with its fee, T+1 after D0, and payouts following the settlement account in force."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from ledger_world import NOODLE, NOW, World
from sqlalchemy import select

from poskit.ledger.check import check_ledger
from poskit.ledger.fees import FeeRule, create_schedule
from poskit.ledger.merchant_changes import request_change, review_change
from poskit.ledger.payouts import (
    D0NotAvailableError,
    NothingToPayError,
    d0_quote,
    list_payouts,
    payout_of_item,
    render_payout_csv,
    request_d0_payout,
)
from poskit.ledger.settlement import settle_day
from poskit.store.schema import fee_lines
from poskit.store.schema_ledger import settlement_items

LATER = NOW + timedelta(hours=2)


def test_d0_pays_today_less_the_per_transaction_fee_and_t1_pays_the_rest(world: World) -> None:
    """D0 pays now with a 2.00 fee per sale (a fee line each); the next cut-off pays only what came after."""
    world.sale(100000)  # net 994.00
    world.sale(50000, funding="debit")  # net 497.50
    world.reverse(world.sale(3000))  # nets to zero, no D0 fee
    with world.begin() as conn:
        quote = d0_quote(conn, world.cafe, now=LATER)
        assert (quote.net, quote.fee, quote.amount) == (99400 + 49750, 400, 99400 + 49750 - 400)
        payout = request_d0_payout(conn, world.cafe, now=LATER, request_key="tap-1")
        again = request_d0_payout(conn, world.cafe, now=LATER + timedelta(seconds=3), request_key="tap-1")
        assert again.id == payout.id  # a double tap pays once
        formulas = conn.execute(
            select(fee_lines.c.formula).where(fee_lines.c.rule == "d0_settlement")
        ).scalars()
        assert list(formulas) == ["fixed 2.00 per transaction"] * 2
    assert (payout.kind, payout.amount, payout.fee) == ("d0", 148750, 400)
    world.sale(20000, at=LATER + timedelta(hours=1))
    with world.begin() as conn:
        [report] = settle_day(conn, business_date=date(2026, 11, 24), now=NOW + timedelta(days=1))
        assert report.payout_total == 20000 - 120
        items = conn.execute(select(settlement_items)).mappings().all()
        assert sorted(i["mode"] for i in items) == ["d0"] * 4 + ["t1"]
        assert {payout_of_item(conn, i).kind for i in items} == {"d0", "t1"}  # type: ignore[union-attr]
        assert check_ledger(conn).ok


def test_d0_refuses_without_contract_rule_or_funds(sqlite_world: World) -> None:
    """No D0 rule in the contract, or nothing unsettled today: typed errors, nothing posted."""
    with sqlite_world.begin() as conn:
        with pytest.raises(NothingToPayError, match="nothing to pay") as refused:
            request_d0_payout(conn, sqlite_world.cafe, now=LATER)
        # money, not "minor units": the merchant reads the amounts as on a statement
        assert "available CNY 0.00, D0 fee CNY 0.00" in str(refused.value), refused.value
        create_schedule(
            conn,
            merchant_id=sqlite_world.noodle,
            version=2,
            effective_from=NOW - timedelta(days=1),
            notified_at=NOW - timedelta(days=40),
            now=NOW,
            rules=[FeeRule("domestic_credit", "percent", "CNY", rate=__import__("decimal").Decimal("0.60"))],
        )
    sqlite_world.sale(10000, merchant=NOODLE)
    with sqlite_world.begin() as conn, pytest.raises(D0NotAvailableError, match="no D0"):
        request_d0_payout(conn, sqlite_world.noodle, now=LATER)


def test_yesterdays_sales_are_not_taken_by_a_d0_request_today(sqlite_world: World) -> None:
    """D0 only covers today's journals, so a late cut-off of yesterday still pays yesterday exactly once."""
    sqlite_world.sale(10000)
    sqlite_world.sale(30000, at=NOW + timedelta(days=1))
    with sqlite_world.begin() as conn:
        d0 = request_d0_payout(conn, sqlite_world.cafe, now=NOW + timedelta(days=1, hours=1))
        [t1] = settle_day(conn, business_date=date(2026, 11, 24), now=NOW + timedelta(days=1, hours=2))
    assert d0.amount == 30000 - 180 - 200
    assert t1.payout_total == 10000 - 60


def test_payouts_follow_the_settlement_account_in_force(world: World) -> None:
    """A new account effective from the 26th: the 24th's payout goes to the old one, the 25th's to the new."""
    effective = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 00:00 on the 26th in Shanghai
    with world.begin() as conn:
        change = request_change(
            conn,
            merchant_id=world.cafe,
            field="settlement_account",
            new_value="6222020200112233445",
            effective_from=effective,
            requested_by="cafe",
            now=NOW,
        )
        review_change(conn, change.id, reviewer="reviewer", approve=True, now=NOW)
    world.sale(10000)
    world.sale(20000, at=NOW + timedelta(days=1))
    with world.begin() as conn:
        settle_day(conn, business_date=date(2026, 11, 24), now=NOW + timedelta(days=1))
        settle_day(conn, business_date=date(2026, 11, 25), now=NOW + timedelta(days=2))
        paid = {p.business_date: p.account_no for p in list_payouts(conn, merchant_id=world.cafe)}
    assert paid == {"2026-11-24": "31050161393600000001", "2026-11-25": "6222020200112233445"}


def test_payout_csv_has_a_stable_header() -> None:
    """The bank file starts with its header and ends each row with a newline."""
    text = render_payout_csv([])
    assert text == (
        "value_date,payout_id,reference,kind,merchant_no,merchant_name,account_name,bank,account_no,"
        "currency,amount,d0_fee\n"
    )


def test_d0_charges_no_fee_on_a_voided_sale(sqlite_world: World) -> None:
    """A sale voided by the host before the D0 request nets to zero and costs no D0 fee."""
    sqlite_world.sale(10000)
    sqlite_world.void(sqlite_world.sale(50000))
    with sqlite_world.begin() as conn:
        payout = request_d0_payout(conn, sqlite_world.cafe, now=LATER)
    assert (payout.amount, payout.fee) == (10000 - 60 - 200, 200)
