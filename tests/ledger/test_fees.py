"""Fee contracts: notice periods, the lawful timeline, exact integer pricing, periods, contract end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_world import CONTRACT, NOW, World

from poskit.ledger.fees import (
    FeeRule,
    FeeSchedule,
    NoFeeScheduleError,
    NoticePeriodError,
    create_schedule,
    end_contract,
    lawful_timeline,
    load_schedules,
    period_label,
    quote_fee,
    rate_fraction,
    schedule_in_force,
)
from poskit.money import Amount

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _schedule(
    sid: int, version: int, effective: datetime, notified: datetime | None, ended: datetime | None = None
) -> FeeSchedule:
    return FeeSchedule(sid, 1, version, effective, ended, (), notified)


def test_changed_schedule_needs_its_notice_period(sqlite_world: World) -> None:
    """Version 2 must be notified 30 days before it takes effect; version 1 (the contract) needs none."""
    with sqlite_world.begin() as conn:
        with pytest.raises(NoticePeriodError, match="needs a notice date"):
            create_schedule(
                conn, merchant_id=sqlite_world.cafe, version=2, effective_from=NOW, rules=CONTRACT, now=NOW
            )
        with pytest.raises(NoticePeriodError, match="less than 30 days"):
            create_schedule(
                conn,
                merchant_id=sqlite_world.cafe,
                version=2,
                effective_from=NOW,
                rules=CONTRACT,
                notified_at=NOW - timedelta(days=29),
                now=NOW,
            )
        create_schedule(
            conn,
            merchant_id=sqlite_world.cafe,
            version=2,
            effective_from=NOW,
            rules=CONTRACT,
            notified_at=NOW - timedelta(days=30),
            now=NOW,
            description="v2",
        )
        history = load_schedules(conn, sqlite_world.cafe)[sqlite_world.cafe]
    assert [(s.version, s.description) for s in history] == [(1, "standard contract"), (2, "v2")]


def test_lawful_timeline_honours_notice_and_contract_end() -> None:
    """v2 notified late binds from notice + 30 days; v3 never notified never binds; the end ends all."""
    v1 = _schedule(1, 1, T0, None)
    v2 = _schedule(2, 2, T0 + timedelta(days=10), T0 + timedelta(days=5))  # binds from day 35
    v3 = _schedule(3, 3, T0 + timedelta(days=50), None, ended=T0 + timedelta(days=90))
    v1e = _schedule(1, 1, T0, None, ended=T0 + timedelta(days=90))
    v2e = _schedule(2, 2, T0 + timedelta(days=10), T0 + timedelta(days=5), ended=T0 + timedelta(days=90))
    segments = lawful_timeline([v1e, v2e, v3])
    assert [(s.schedule.version, s.start, s.end) for s in segments] == [
        (1, T0, T0 + timedelta(days=35)),
        (2, T0 + timedelta(days=35), T0 + timedelta(days=90)),
    ]
    assert [s.schedule.version for s in lawful_timeline([v1, v2])] == [1, 2]
    assert lawful_timeline([v1, v2])[-1].end is None
    assert lawful_timeline([]) == []


@settings(max_examples=200, deadline=None)
@given(
    base=st.integers(min_value=0, max_value=10**12),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9.9999"), places=4),
)
def test_integer_fraction_pricing_equals_quote_fee(base: int, rate: Decimal) -> None:
    """The integer arithmetic the SQL audit uses gives the same fee as quote_fee for any base and rate."""
    num, den = rate_fraction(rate)
    schedule = FeeSchedule(1, 1, 1, T0, None, (FeeRule("x", "percent", "CNY", rate=rate),))
    expected = int((Decimal(base) * rate / 100).quantize(Decimal(1), ROUND_HALF_UP))
    assert (
        (base * num + den // 2) // den
        == expected
        == quote_fee(schedule, "x", Amount.of(base, "CNY")).fee.minor
    )


def test_rate_fraction_examples() -> None:
    """0.60% is 60/10000, 0.0325% is 325/1000000."""
    assert rate_fraction(Decimal("0.60")) == (60, 10000)
    assert rate_fraction(Decimal("0.0325")) == (325, 1000000)
    assert rate_fraction(Decimal("2")) == (2, 100)


def test_period_labels_follow_the_acquirer_zone() -> None:
    """A charge at 17:00 UTC on 30 November is already December in Shanghai."""
    at = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert period_label(at, "monthly", "Asia/Shanghai") == "2026-12"
    assert period_label(at, "monthly") == "2026-11"
    assert period_label(at, "yearly", "Asia/Shanghai") == "2026"


def test_ending_the_contract_stops_pricing(sqlite_world: World) -> None:
    """After the end no schedule is in force, so no fee can be priced."""
    with sqlite_world.begin() as conn:
        assert end_contract(conn, sqlite_world.cafe, NOW) == 1
        assert schedule_in_force(conn, sqlite_world.cafe, NOW - timedelta(days=1)).version == 1
        with pytest.raises(NoFeeScheduleError):
            schedule_in_force(conn, sqlite_world.cafe, NOW)


def test_periodic_and_fixed_formulas_read_naturally() -> None:
    """Fixed fees say per transaction; periodic ones per month or year."""
    schedule = FeeSchedule(
        1,
        1,
        1,
        T0,
        None,
        (
            FeeRule("sim_data", "periodic", "CNY", fixed=500, period="monthly"),
            FeeRule("terminal_rental", "periodic", "CNY", fixed=36000, period="yearly"),
        ),
    )
    assert quote_fee(schedule, "sim_data", Amount.of(0, "CNY")).formula == "fixed 5.00 per month"
    assert quote_fee(schedule, "terminal_rental", Amount.of(0, "CNY")).formula == "fixed 360.00 per year"
