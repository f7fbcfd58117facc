"""Journals: balanced, idempotent by key, append-only."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from poskit.ledger.accounts import acquirer_fee_income, issuer_settlement, merchant_payable
from poskit.ledger.fees import FeeRule, NoFeeScheduleError, create_schedule, quote_fee, schedule_in_force
from poskit.ledger.posting import Line, UnbalancedJournalError, post_journal
from poskit.money import Amount
from poskit.store.db import WRITE
from poskit.store.schema import acquirers, ledger_entries, merchants

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _merchant(engine: Engine) -> int:
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        acq = conn.execute(
            acquirers.insert().values(
                code="48020000",
                name="A",
                country="156",
                currency="CNY",
                timezone="Asia/Shanghai",
                created_at=NOW,
            )
        ).inserted_primary_key[0]
        return int(
            conn.execute(
                merchants.insert().values(
                    acquirer_id=acq,
                    merchant_no="898310058120001",
                    name="Cafe",
                    mcc="5812",
                    address="x",
                    settlement_account="31050161393600000001",
                    currency="CNY",
                    created_at=NOW,
                )
            ).inserted_primary_key[0]
        )


def _sale_lines(mid: int, amount: int, fee: int) -> list[Line]:
    return [
        Line(issuer_settlement("CNY"), amount),
        Line(merchant_payable(mid, "898310058120001", "CNY"), -(amount - fee)),
        Line(acquirer_fee_income("CNY"), -fee),
    ]


def test_balanced_journal_posts_once(engine: Engine) -> None:
    """Posting the same key twice returns the first journal and adds no entries."""
    mid = _merchant(engine)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        j1 = post_journal(
            conn,
            key="txn:1:sale",
            kind="sale",
            currency="CNY",
            lines=_sale_lines(mid, 10000, 60),
            description="sale",
            merchant_id=mid,
            now=NOW,
        )
        j2 = post_journal(
            conn,
            key="txn:1:sale",
            kind="sale",
            currency="CNY",
            lines=_sale_lines(mid, 10000, 60),
            description="sale",
            merchant_id=mid,
            now=NOW,
        )
        assert j1 == j2
        total = conn.execute(select(func.sum(ledger_entries.c.amount))).scalar_one()
        count = conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()
    assert total == 0 and count == 3


def test_unbalanced_journal_is_refused(engine: Engine) -> None:
    """Lines that do not sum to zero raise and post nothing."""
    mid = _merchant(engine)
    lines = _sale_lines(mid, 10000, 60)[:2]
    with (
        engine.connect().execution_options(**WRITE) as conn,
        conn.begin(),
        pytest.raises(UnbalancedJournalError, match="sum to 60"),
    ):
        post_journal(conn, key="bad", kind="sale", currency="CNY", lines=lines, description="x", now=NOW)


def test_fee_quote_records_its_formula(engine: Engine) -> None:
    """Fees follow the schedule in force: percent, cap, foreign rate; each with a readable formula."""
    mid = _merchant(engine)
    rules = [
        FeeRule("domestic_debit", "percent", "CNY", rate=Decimal("0.50"), cap=2000),
        FeeRule("domestic_credit", "percent", "CNY", rate=Decimal("0.60")),
        FeeRule("foreign", "percent", "CNY", rate=Decimal("2.50")),
        FeeRule("d0_settlement", "fixed", "CNY", fixed=200),
    ]
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        create_schedule(
            conn,
            merchant_id=mid,
            version=1,
            effective_from=datetime(2026, 1, 1, tzinfo=UTC),
            rules=rules,
            now=NOW,
        )
        schedule = schedule_in_force(conn, mid, NOW)
        with pytest.raises(NoFeeScheduleError):
            schedule_in_force(conn, mid, datetime(2025, 1, 1, tzinfo=UTC))
    credit = quote_fee(schedule, "domestic_credit", Amount.parse("1234.50", "CNY"))
    assert credit.fee.minor == 741 and credit.formula == "0.60% of 1,234.50 = 7.41"
    capped = quote_fee(schedule, "domestic_debit", Amount.parse("5000", "CNY"))
    assert capped.fee.minor == 2000 and "capped at 20.00" in capped.formula
    assert quote_fee(schedule, "foreign", Amount.parse("100", "CNY")).fee.minor == 250
    assert quote_fee(schedule, "d0_settlement", Amount.parse("100", "CNY")).fee.minor == 200
