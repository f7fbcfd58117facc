"""Balances derived from entries: roll-ups per account per cut-off agree with summing every entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger_world import CAFE, NOW, World
from sqlalchemy import func, select

from poskit.ledger.balances import account_balance, account_balances, account_id, merchant_available, roll_up
from poskit.store.schema import journal_entries, ledger_accounts, ledger_entries
from poskit.store.schema_ledger import ledger_rollups

CUT1 = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
CUT2 = CUT1 + timedelta(days=1)


def _naive(conn, code: str, at: datetime | None = None) -> int:  # type: ignore[no-untyped-def]
    query = (
        select(func.coalesce(func.sum(ledger_entries.c.amount), 0))
        .select_from(ledger_entries.join(journal_entries).join(ledger_accounts))
        .where(ledger_accounts.c.code == code)
    )
    if at is not None:
        query = query.where(journal_entries.c.posted_at < at)
    return int(conn.execute(query).scalar_one())


def test_rollups_are_contiguous_and_balances_match_the_entries(world: World) -> None:
    """Two cut-offs write one row per account each; every balance equals the plain sum of entries."""
    world.sale(10000)
    world.sale(25000, funding="debit")
    with world.begin() as conn:
        assert roll_up(conn, until=CUT1, business_date="2026-11-24", now=CUT1) == 3
        assert roll_up(conn, until=CUT1, business_date="2026-11-24", now=CUT1) == 0  # idempotent
    world.sale(7000, at=CUT1 + timedelta(hours=2))
    world.sale(9000, at=CUT2 + timedelta(hours=2))  # after the second cut-off: not rolled up yet
    with world.begin() as conn:
        roll_up(conn, until=CUT2, business_date="2026-11-25", now=CUT2)
        rows = (
            conn.execute(
                select(ledger_rollups).order_by(ledger_rollups.c.account_id, ledger_rollups.c.period_end)
            )
            .mappings()
            .all()
        )
        assert len(rows) == 6
        for first, second in zip(rows[::2], rows[1::2], strict=True):
            assert first["period_start"] is None and second["period_start"] == first["period_end"]
        for code in ("issuer_settlement:CNY", f"merchant_payable:{CAFE}:CNY", "acquirer_fee_income:CNY"):
            aid = account_id(conn, code)
            assert aid is not None
            for at in (None, CUT1, CUT2, CUT1 + timedelta(hours=1), NOW):
                assert account_balance(conn, aid, at) == _naive(conn, code, at), (code, at)
        assert merchant_available(conn, CAFE, "CNY") == (10000 - 60) + (25000 - 125) + (7000 - 42) + (
            9000 - 54
        )
        assert merchant_available(conn, "000000000000000", "CNY") == 0


def test_account_balances_lists_each_account(sqlite_world: World) -> None:
    """The balance list covers every account, or one merchant's, with debit-positive balances."""
    sqlite_world.sale(10000)
    with sqlite_world.engine.connect() as conn:
        everything = {b.code: b.balance for b in account_balances(conn)}
        mine = account_balances(conn, merchant_id=sqlite_world.cafe)
    assert everything == {
        "acquirer_fee_income:CNY": -60,
        "issuer_settlement:CNY": 10000,
        f"merchant_payable:{CAFE}:CNY": -9940,
    }
    assert [b.code for b in mine] == [f"merchant_payable:{CAFE}:CNY"]
