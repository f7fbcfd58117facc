"""Daily cut-off in the acquirer's zone, settlement items, network settlement, T+1 payouts, idempotency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from ledger_world import CAFE, NOODLE, NOW, World
from sqlalchemy import func, select

from poskit.ledger.balances import merchant_available
from poskit.ledger.check import check_ledger
from poskit.ledger.directory import business_window
from poskit.ledger.fees import FeeRule, create_schedule
from poskit.ledger.payouts import list_payouts, payout_file_rows, payout_of_item, write_payout_file
from poskit.ledger.settlement import CutoffError, settle_day
from poskit.store.schema import fee_lines, journal_entries, ledger_entries
from poskit.store.schema_ledger import (
    batch_reconciliations,
    ledger_cutoffs,
    ledger_rollups,
    payouts,
    settlement_items,
)

DAY = date(2026, 11, 24)
NEXT_MORNING = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def _settle(world: World, day: date = DAY, now: datetime = NEXT_MORNING) -> list:  # type: ignore[type-arg]
    with world.begin() as conn:
        return settle_day(conn, business_date=day, now=now)


def _counts(world: World) -> dict[str, int]:
    tables = [
        journal_entries,
        ledger_entries,
        fee_lines,
        settlement_items,
        payouts,
        ledger_rollups,
        ledger_cutoffs,
        batch_reconciliations,
    ]
    with world.engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables}


def test_business_window_is_midnight_to_midnight_in_the_acquirer_zone() -> None:
    """A Shanghai business date runs from 16:00 UTC the day before to 16:00 UTC."""
    start, end = business_window(DAY, "Asia/Shanghai")
    assert start == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    lagos = business_window(DAY, "Africa/Lagos")
    assert lagos[0] == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)


def test_settle_day_pays_t1_net_of_fees_and_twice_changes_nothing(world: World, tmp_path: Path) -> None:
    """Sales net of fees are paid T+1 per merchant; a second run adds no row and writes the same file."""
    world.sale(123450, funding="credit")  # fee 7.41
    world.sale(500000, funding="debit")  # 0.50% = 25.00, capped at 20.00
    world.sale(10000, origin="foreign")  # 2.50
    reversed_sale = world.sale(2000)
    world.reverse(reversed_sale)
    world.sale(8800, merchant=NOODLE)  # 0.53
    [report] = _settle(world)
    assert (report.items, report.payouts) == (6, 2)
    assert report.gross == 123450 + 500000 + 10000 + 8800
    assert report.fees == 741 + 2000 + 250 + 53
    with world.engine.connect() as conn:
        paid = {p.merchant_id: p for p in list_payouts(conn)}
        acquirer = conn.execute(select(ledger_cutoffs.c.acquirer_id)).scalar_one()
    assert paid[world.cafe].amount == (123450 - 741) + (500000 - 2000) + (10000 - 250)
    assert paid[world.noodle].amount == 8800 - 53
    assert paid[world.cafe].account_no == "31050161393600000001"
    assert paid[world.cafe].value_at == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    with world.engine.connect() as conn:
        from poskit.ledger.directory import acquirer_info

        info = acquirer_info(conn, acquirer)
        first = write_payout_file(
            conn, acquirer=info, business_date="2026-11-24", directory=tmp_path
        ).read_bytes()
        assert merchant_available(conn, CAFE, "CNY") == 0
        assert check_ledger(conn).ok
    before = _counts(world)
    [again] = _settle(world, now=NEXT_MORNING + timedelta(hours=5))
    assert again.already_done and again.payouts == 2
    assert _counts(world) == before
    with world.engine.connect() as conn:
        assert (
            write_payout_file(
                conn, acquirer=info, business_date="2026-11-24", directory=tmp_path
            ).read_bytes()
            == first
        )
        rows = payout_file_rows(conn, acquirer_id=acquirer, business_date="2026-11-24")
    assert {r["merchant_no"]: r["amount"] for r in rows} == {CAFE: "6304.59", NOODLE: "87.47"}


def test_cutoff_follows_the_acquirer_midnight(sqlite_world: World) -> None:
    """A sale at 23:30 Shanghai time is paid with its day; one at 00:30 waits for the next cut-off."""
    late = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 local
    after = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 00:30 local on the 25th
    sqlite_world.sale(10000, at=late)
    sqlite_world.sale(20000, at=after)
    [report] = _settle(sqlite_world)
    assert report.items == 1 and report.payout_total == 10000 - 60
    [next_day] = _settle(sqlite_world, date(2026, 11, 25), NEXT_MORNING + timedelta(days=1))
    assert next_day.items == 1 and next_day.payout_total == 20000 - 120
    assert next_day.window_start == report.window_end


def test_cutoff_refuses_a_day_not_over_and_running_out_of_order(sqlite_world: World) -> None:
    """The day must have ended; an earlier day cannot be cut off after a later one."""
    with pytest.raises(CutoffError, match="not over"):
        _settle(sqlite_world, DAY, now=datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    _settle(sqlite_world, date(2026, 11, 25), now=NEXT_MORNING + timedelta(days=1))
    with pytest.raises(CutoffError, match="later day"):
        _settle(sqlite_world, DAY)


def test_default_date_is_yesterday_in_the_acquirer_zone(sqlite_world: World) -> None:
    """Without a date the cut-off closes the previous local day."""
    [report] = _settle(sqlite_world, None, NEXT_MORNING)  # type: ignore[arg-type]
    assert report.business_date == "2026-11-24"


def test_negative_balance_is_carried_not_paid(sqlite_world: World) -> None:
    """A refund larger than the day's sales leaves a debit balance that the next day's sales absorb."""
    sqlite_world.sale(5000)
    sqlite_world.sale(8000, txn_type="refund")
    [first] = _settle(sqlite_world)
    assert first.payouts == 0
    sqlite_world.sale(10000, at=NOW + timedelta(days=1))
    [second] = _settle(sqlite_world, date(2026, 11, 25), NEXT_MORNING + timedelta(days=1))
    assert second.payout_total == (5000 - 30) - 8000 + (10000 - 60)
    with sqlite_world.engine.connect() as conn:
        items = conn.execute(select(settlement_items)).mappings().all()
        paid_by = {payout_of_item(conn, item).business_date for item in items}  # type: ignore[union-attr]
        assert len(items) == 3 and paid_by == {"2026-11-25"}  # day 1's items were carried to day 2
        assert check_ledger(conn).ok


def test_network_settlement_moves_issuer_settlement_to_the_bank_less_interchange(world: World) -> None:
    """Interchange = issuer fee (debit 0.35% cap 13.00, credit 0.45%) + network 0.0325% (cap 3.25)."""
    world.sale(500000, funding="debit")  # 13.00 (capped) + 1.63 (162.5 half-up)
    world.sale(123450, funding="credit")  # 5.56 + 0.40
    world.sale(10000, origin="foreign")  # not modelled: 0
    [report] = _settle(world)
    assert report.interchange == (1300 + 163) + (556 + 40)
    with world.engine.connect() as conn:
        from poskit.ledger.balances import account_balance, account_id

        issuer = account_id(conn, "issuer_settlement:CNY")
        network = account_id(conn, "network:CNY")
        bank = account_id(conn, "payouts:CNY")
        assert issuer is not None and network is not None and bank is not None
        assert account_balance(conn, issuer) == 0
        assert account_balance(conn, network) == report.interchange
        # the bank received gross less interchange and paid the merchant its net
        assert account_balance(conn, bank) == report.gross - report.interchange - report.payout_total


def test_periodic_fees_are_charged_once_per_period(sqlite_world: World) -> None:
    """A monthly SIM/data fee is charged by the first cut-off of each month, never twice."""
    with sqlite_world.begin() as conn:
        create_schedule(
            conn,
            merchant_id=sqlite_world.cafe,
            version=2,
            effective_from=datetime(2026, 11, 1, tzinfo=UTC),
            notified_at=datetime(2026, 10, 1, tzinfo=UTC),
            now=NOW,
            rules=[
                FeeRule("domestic_credit", "percent", "CNY", rate=__import__("decimal").Decimal("0.60")),
                FeeRule("sim_data", "periodic", "CNY", fixed=500, period="monthly"),
            ],
        )
    [a] = _settle(sqlite_world)
    [b] = _settle(sqlite_world, date(2026, 11, 25), NEXT_MORNING + timedelta(days=1))
    [c] = _settle(sqlite_world, date(2026, 12, 1), datetime(2026, 12, 2, tzinfo=UTC))
    assert (a.periodic_fees, b.periodic_fees, c.periodic_fees) == (1, 0, 1)
    with sqlite_world.engine.connect() as conn:
        lines = conn.execute(select(fee_lines.c.rule, fee_lines.c.amount, fee_lines.c.formula)).all()
    assert [(r.rule, r.amount, r.formula) for r in lines] == [("sim_data", 500, "fixed 5.00 per month")] * 2


def test_nigerian_acquirer_cuts_off_at_lagos_midnight_with_the_cbn_msc(sqlite_world: World) -> None:
    """An NGN acquirer (Africa/Lagos): MSC 0.50% capped at ₦1,000 (CBN 2019), cut-off at Lagos midnight,
    merchant disputes due within 72 hours (domain notes §4)."""
    from decimal import Decimal

    from sqlalchemy import insert

    from poskit.ledger.disputes import open_dispute
    from poskit.store.db import inserted_id
    from poskit.store.schema import acquirers, merchants

    w = sqlite_world
    with w.begin() as conn:
        acq = inserted_id(
            conn.execute(
                insert(acquirers).values(
                    code="00000566",
                    name="Lagos acquirer",
                    country="566",
                    currency="NGN",
                    timezone="Africa/Lagos",
                    created_at=NOW,
                )
            )
        )
        mid = inserted_id(
            conn.execute(
                insert(merchants).values(
                    acquirer_id=acq,
                    merchant_no="2058LA000000001",
                    name="Mama Put",
                    mcc="5812",
                    address="Ikeja",
                    settlement_account="0123456789",
                    currency="NGN",
                    created_at=NOW,
                )
            )
        )
        create_schedule(
            conn,
            merchant_id=mid,
            version=1,
            effective_from=datetime(2026, 1, 1, tzinfo=UTC),
            now=NOW,
            rules=[FeeRule("domestic_debit", "percent", "NGN", rate=Decimal("0.50"), cap=100000)],
        )
        w.merchants["2058LA000000001"] = mid
        # 23:30 in Lagos on the 24th (22:30 UTC) and 00:30 on the 25th (23:30 UTC)
        big = w.record(
            conn,
            50_000_000,
            currency="NGN",
            merchant="2058LA000000001",
            funding="debit",
            at=datetime(2026, 11, 24, 22, 30, tzinfo=UTC),
        )
        w.record(
            conn,
            1_000_000,
            currency="NGN",
            merchant="2058LA000000001",
            funding="debit",
            at=datetime(2026, 11, 24, 23, 30, tzinfo=UTC),
        )
        [report] = settle_day(
            conn, business_date=DAY, now=datetime(2026, 11, 25, 8, tzinfo=UTC), acquirer_id=acq
        )
        dispute = open_dispute(
            conn, merchant_id=mid, transaction_id=big.id, reason="short", opened_by="m", now=NOW
        )
    assert report.timezone == "Africa/Lagos" and report.window_end == datetime(2026, 11, 24, 23, tzinfo=UTC)
    assert report.items == 1 and report.fees == 100000  # ₦500,000 at 0.50% is ₦2,500: capped at ₦1,000
    assert report.payout_total == 50_000_000 - 100000
    assert dispute.due_at == NOW + timedelta(hours=72)
