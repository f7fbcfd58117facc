"""Fee audit: each kind of wrong fee, posted the way a buggy or dishonest system would, is found exactly."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from ledger_world import CAFE, CONTRACT, NOODLE, NOW, World
from sqlalchemy.engine import Connection

from poskit.ledger.audit import FINDING_KINDS, audit_fees
from poskit.ledger.events import FeeCharge, post_fee_charges, post_sale
from poskit.ledger.fees import FeeQuote, FeeRule, create_schedule, end_contract, quote_fee, schedule_in_force
from poskit.ledger.payouts import request_d0_payout
from poskit.ledger.settlement import settle_day
from poskit.money import Amount

SIM = FeeRule("sim_data", "periodic", "CNY", fixed=500, period="monthly")


def _cny(minor: int) -> Amount:
    return Amount.of(minor, "CNY")


def _bad_sale(world: World, conn: Connection, amount: int, funding: str, fee: int, formula: str) -> None:
    """A sale whose fee line was computed by a buggy pricing engine (right schedule id, wrong number)."""
    txn = world.record(conn, amount, funding=funding, post=False)
    schedule = schedule_in_force(conn, world.cafe, NOW)
    rule = "domestic_debit" if funding == "debit" else "domestic_credit"
    quote = FeeQuote(schedule.id, schedule.version, rule, _cny(amount), _cny(fee), formula)
    post_sale(
        conn,
        txn_id=txn.id,
        merchant_id=world.cafe,
        merchant_no=CAFE,
        amount=amount,
        currency="CNY",
        quote=quote,
        at=NOW,
        description="sale",
    )


def _rate_mismatch(world: World) -> int:
    with world.begin() as conn:
        _bad_sale(world, conn, 100000, "credit", 780, "0.78% of 1,000.00 = 7.80")
    return 780 - 600


def _cap_ignored(world: World) -> int:
    with world.begin() as conn:
        _bad_sale(world, conn, 500000, "debit", 2500, "0.50% of 5,000.00 = 25.00")
    return 2500 - 2000


def _charged_twice(world: World) -> int:
    txn = world.sale(100000)
    with world.begin() as conn:
        quote = quote_fee(schedule_in_force(conn, world.cafe, NOW), "domestic_credit", _cny(100000))
        post_fee_charges(
            conn,
            key="buggy:again",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=[FeeCharge(quote, txn.id)],
            at=NOW + timedelta(minutes=5),
            description="fee",
        )
    return 600


def _fee_on_reversed(world: World) -> int:
    txn = world.sale(100000)
    world.reverse(txn, at=NOW + timedelta(minutes=1))
    with world.begin() as conn:  # the reversal gave the fee back; the buggy system takes it again
        quote = quote_fee(schedule_in_force(conn, world.cafe, NOW), "domestic_credit", _cny(100000))
        post_fee_charges(
            conn,
            key="buggy:keep-fee",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=[FeeCharge(quote, txn.id)],
            at=NOW + timedelta(minutes=2),
            description="fee",
        )
    return 600


def _periodic_after_contract_end(world: World) -> int:
    with world.begin() as conn:
        create_schedule(
            conn,
            merchant_id=world.cafe,
            version=2,
            effective_from=datetime(2026, 10, 1, tzinfo=UTC),
            notified_at=datetime(2026, 8, 1, tzinfo=UTC),
            now=NOW,
            rules=[*CONTRACT, SIM],
        )
        schedule = schedule_in_force(conn, world.cafe, datetime(2026, 10, 15, tzinfo=UTC))
        post_fee_charges(
            conn,
            key="periodic:oct",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=[FeeCharge(quote_fee(schedule, "sim_data", _cny(0)))],
            at=datetime(2026, 10, 15, tzinfo=UTC),
            kind="periodic_fee",
            description="SIM October",
        )
        end_contract(conn, world.cafe, datetime(2026, 12, 1, tzinfo=UTC))
        post_fee_charges(
            conn,
            key="periodic:dec",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=[FeeCharge(quote_fee(schedule, "sim_data", _cny(0)))],
            at=datetime(2026, 12, 15, tzinfo=UTC),
            kind="periodic_fee",
            description="SIM December",
        )
    return 500


def _early_rate_change(world: World) -> int:
    with world.begin() as conn:  # v2 raises credit to 0.80% with two days' notice (the contract says 30)
        create_schedule(
            conn,
            merchant_id=world.cafe,
            version=2,
            effective_from=datetime(2026, 11, 22, tzinfo=UTC),
            notified_at=datetime(2026, 11, 20, tzinfo=UTC),
            now=NOW,
            notice_days=0,
            rules=[FeeRule("domestic_credit", "percent", "CNY", rate=Decimal("0.80"))],
        )
    world.sale(100000)  # priced honestly with whatever schedule the system says is in force
    return 800 - 600


def _d0_fee_without_d0(world: World) -> int:
    txn = world.sale(100000)
    with world.begin() as conn:
        quote = quote_fee(schedule_in_force(conn, world.cafe, NOW), "d0_settlement", _cny(100000))
        post_fee_charges(
            conn,
            key="buggy:d0",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=[FeeCharge(quote, txn.id)],
            at=NOW,
            kind="d0_fee",
            description="秒到费",
        )
    return 200


WRONG_FEES: dict[str, Callable[[World], int]] = {
    "rate_mismatch": _rate_mismatch,
    "cap_ignored": _cap_ignored,
    "charged_twice": _charged_twice,
    "fee_on_reversed": _fee_on_reversed,
    "periodic_after_contract_end": _periodic_after_contract_end,
    "early_rate_change": _early_rate_change,
    "d0_fee_without_d0": _d0_fee_without_d0,
}


def test_every_finding_kind_has_a_wrong_fee_test() -> None:
    """The tests below cover every kind the audit can report."""
    assert set(WRONG_FEES) == set(FINDING_KINDS)


@pytest.mark.parametrize("kind", sorted(WRONG_FEES))
def test_audit_finds_exactly_the_wrong_fee(sqlite_world: World, kind: str) -> None:
    """One wrong fee of each kind gives exactly one finding of that kind, with evidence and owed."""
    sqlite_world.sale(123450)  # an honest neighbour, never reported
    owed = WRONG_FEES[kind](sqlite_world)
    with sqlite_world.engine.connect() as conn:
        report = audit_fees(conn)
    assert [f.kind for f in report.findings] == [kind]
    [finding] = report.findings
    assert finding.owed == owed and finding.merchant_no == CAFE
    assert report.owed == {"CNY": owed}
    assert finding.evidence["fee_line"]["formula"]
    assert finding.key == f"{kind}:fee_line:{finding.fee_line_id}"


def test_audit_evidence_names_the_contract(sqlite_world: World) -> None:
    """A rate finding shows the charged formula and the contract's formula and version."""
    _rate_mismatch(sqlite_world)
    with sqlite_world.engine.connect() as conn:
        [finding] = audit_fees(conn).findings
    assert finding.evidence["contract"]["formula"] == "0.60% of 1,000.00 = 6.00"
    assert finding.evidence["contract"]["version"] == 1
    assert finding.evidence["fee_line"]["formula"] == "0.78% of 1,000.00 = 7.80"
    assert finding.to_json()["owed_display"] == "1.80"


def test_early_rate_change_is_not_owed_once_the_notice_has_run(sqlite_world: World) -> None:
    """The same v2 applied after notice + 30 days binds the merchant: no finding."""
    _early_rate_change(sqlite_world)
    sqlite_world.sale(100000, at=datetime(2026, 12, 21, tzinfo=UTC))
    with sqlite_world.engine.connect() as conn:
        report = audit_fees(conn)
    assert [f.kind for f in report.findings] == ["early_rate_change"]


def test_all_kinds_at_once_on_each_backend(world: World) -> None:
    """Every kind of wrong fee in one ledger: the audit reports each exactly once (SQLite and PostgreSQL)."""
    expected = {}
    for kind in ("rate_mismatch", "cap_ignored", "charged_twice", "fee_on_reversed", "d0_fee_without_d0"):
        expected[kind] = WRONG_FEES[kind](world)
    with world.engine.connect() as conn:
        report = audit_fees(conn)
    assert {f.kind: f.owed for f in report.findings} == expected
    assert len(report.findings) == len(expected)
    assert report.owed == {"CNY": sum(expected.values())}
    with world.engine.connect() as conn:
        assert audit_fees(conn, merchant_id=world.noodle).findings == []


def test_honest_fees_give_no_findings(world: World) -> None:
    """Many amounts (half-up boundaries included), a reversal, D0, periodic fees, a cut-off: clean."""
    rng = random.Random(6)
    amounts = [1, 50, 83, 84, 250, 1250, 123450, 399999, 400000, 400001, 999_999_99]
    amounts += [rng.randrange(1, 2_000_000) for _ in range(40)]
    with world.begin() as conn:
        create_schedule(
            conn,
            merchant_id=world.cafe,
            version=2,
            effective_from=datetime(2026, 11, 1, tzinfo=UTC),
            notified_at=datetime(2026, 9, 1, tzinfo=UTC),
            now=NOW,
            rules=[*CONTRACT, SIM],
        )
        for i, amount in enumerate(amounts):
            world.record(
                conn, amount, funding=("debit", "credit")[i % 2], origin=("domestic", "foreign")[i % 5 == 0]
            )
            world.record(conn, amount, merchant=NOODLE, funding="debit")
    world.reverse(world.sale(7777))
    with world.begin() as conn:
        request_d0_payout(conn, world.noodle, now=NOW + timedelta(hours=1))
        settle_day(conn, business_date=date(2026, 11, 24), now=NOW + timedelta(days=1))
    with world.engine.connect() as conn:
        report = audit_fees(conn)
    assert report.findings == []
    assert report.lines_checked == 2 * len(amounts) + 1 + len(amounts) + 1  # sales, reversed sale, D0, SIM


def test_host_style_voids_and_completions(world: World) -> None:
    """A voided sale (its fee returned by the void's mirror journal) and a completion are clean; a fee
    charged again on the voided sale is fee_on_reversed."""
    voided = world.sale(100000)
    world.void(voided)
    world.complete(world.preauth(50000), 40000)
    with world.engine.connect() as conn:
        assert audit_fees(conn).findings == []
    with world.begin() as conn:
        quote = quote_fee(schedule_in_force(conn, world.cafe, NOW), "domestic_credit", _cny(100000))
        post_fee_charges(
            conn,
            key="buggy:after-void",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=[FeeCharge(quote, voided.id)],
            at=NOW,
            description="fee",
        )
    with world.engine.connect() as conn:
        assert [(f.kind, f.owed, f.transaction_id) for f in audit_fees(conn).findings] == [
            ("fee_on_reversed", 600, voided.id)
        ]
