"""One transaction as the acquirer sees it: amount, fee and formula, net, status and settlement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from ledger_world import NOW, World

from poskit.ledger.payouts import request_d0_payout
from poskit.ledger.settlement import settle_day
from poskit.ledger.views import TransactionNotFoundError, describe_transaction


def test_sale_shows_fee_formula_net_and_settlement(world: World) -> None:
    """Pending before the cut-off, paid T+1 after it; fee and formula from the fee line."""
    txn = world.sale(123450)
    with world.engine.connect() as conn:
        before = describe_transaction(conn, rrn=txn.rrn)
    assert (before["amount"], before["fee"], before["net"], before["status"]) == (
        "1234.50",
        "7.41",
        "1227.09",
        "approved",
    )
    assert before["fee_formula"] == "0.60% of 1,234.50 = 7.41"
    assert before["settlement"]["status"] == "pending"
    with world.begin() as conn:
        settle_day(conn, business_date=date(2026, 11, 24), now=NOW + timedelta(days=1))
        after = describe_transaction(conn, rrn=txn.rrn)
    assert after["settlement"]["status"] == "paid" and after["settlement"]["mode"] == "t1"
    assert (
        after["settlement"]["business_date"] == "2026-11-24" and after["settlement"]["account"] == "****0001"
    )
    assert after["card"]["pan"] == "622202******1234"


def test_reversed_sale_nets_to_zero_with_its_fee_returned(sqlite_world: World) -> None:
    """A reversed sale shows status reversed, no fee kept and a zero net; the fee line is marked returned."""
    txn = sqlite_world.sale(10000)
    sqlite_world.reverse(txn)
    with sqlite_world.engine.connect() as conn:
        data = describe_transaction(conn, rrn=txn.rrn)
    assert (data["status"], data["fee"], data["net"]) == ("reversed", "0.00", "0.00")
    assert [line["status"] for line in data["fee_lines"]] == ["returned"]
    assert [j["kind"] for j in data["journals"]] == ["sale", "reversal"]


def test_d0_fee_counts_in_fee_and_net(sqlite_world: World) -> None:
    """A D0-paid sale shows both fee lines; the net is after both."""
    txn = sqlite_world.sale(10000)
    with sqlite_world.begin() as conn:
        request_d0_payout(conn, sqlite_world.cafe, now=NOW + timedelta(minutes=5))
        data = describe_transaction(conn, rrn=txn.rrn)
    assert (data["fee"], data["net"], data["fee_formula"]) == ("2.60", "97.40", "0.60% of 100.00 = 0.60")
    assert data["settlement"]["mode"] == "d0"


def test_unknown_rrn_is_a_lookup_error(sqlite_world: World) -> None:
    """An RRN nobody issued raises TransactionNotFoundError."""
    with sqlite_world.engine.connect() as conn, pytest.raises(TransactionNotFoundError, match="999"):
        describe_transaction(conn, rrn="999")


def test_voided_sale_shows_the_void_and_nets_to_zero(sqlite_world: World) -> None:
    """The void's mirror journal is listed with the sale; its fee line is returned and the net is zero."""
    txn = sqlite_world.sale(10000)
    sqlite_world.void(txn)
    with sqlite_world.engine.connect() as conn:
        data = describe_transaction(conn, rrn=txn.rrn)
    assert (data["status"], data["fee"], data["net"]) == ("voided", "0.00", "0.00")
    assert [j["kind"] for j in data["journals"]] == ["sale", "void"]
    assert [line["status"] for line in data["fee_lines"]] == ["returned"]
