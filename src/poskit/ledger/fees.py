"""Merchant fee schedules: versioned contracts and the one function that prices a transaction.

Every fee is computed here and recorded with the schedule version, the rule, the
base amount and the formula ("0.60% of 1,234.50 = 7.41"), so the merchant can see
why each cent was charged and an audit can recompute it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.engine import Connection

from poskit.store.db import inserted_id
from poskit.money import Amount, currency
from poskit.store.schema import fee_rules, fee_schedules

__all__ = [
    "FeeQuote",
    "FeeRule",
    "FeeSchedule",
    "NoFeeScheduleError",
    "create_schedule",
    "quote_fee",
    "rule_for_card",
    "schedule_in_force",
]


class NoFeeScheduleError(LookupError):
    """The merchant has no fee schedule in force at that time."""

    def __init__(self, merchant_id: int, at: datetime) -> None:
        super().__init__(f"merchant {merchant_id} has no fee schedule in force at {at.isoformat()}")
        self.merchant_id = merchant_id
        self.at = at


@dataclasses.dataclass(frozen=True, slots=True)
class FeeRule:
    rule: str  # domestic_debit | domestic_credit | foreign | d0_settlement | terminal_rental | ...
    kind: str  # percent | fixed | periodic
    currency: str
    rate: Decimal | None = None  # percent, e.g. Decimal("0.60")
    fixed: int | None = None  # minor units
    cap: int | None = None  # minor units
    period: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class FeeSchedule:
    id: int
    merchant_id: int
    version: int
    effective_from: datetime
    effective_to: datetime | None
    rules: tuple[FeeRule, ...]

    def rule(self, name: str) -> FeeRule | None:
        for rule in self.rules:
            if rule.rule == name:
                return rule
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class FeeQuote:
    """A computed fee and the evidence of how it was computed."""

    schedule_id: int
    schedule_version: int
    rule: str
    base: Amount
    fee: Amount
    formula: str


def rule_for_card(funding: str | None, origin: str | None) -> str:
    """The pricing rule for a card: foreign cards, else domestic debit or credit."""
    if origin == "foreign":
        return "foreign"
    return "domestic_debit" if funding == "debit" else "domestic_credit"


def _fmt_rate(rate: Decimal) -> str:
    return f"{rate.quantize(Decimal('0.01')) if rate == rate.quantize(Decimal('0.01')) else rate}%"


def quote_fee(schedule: FeeSchedule, rule_name: str, base: Amount) -> FeeQuote:
    """Price ``base`` under ``rule_name`` of ``schedule``; a missing rule charges nothing."""
    rule = schedule.rule(rule_name)
    zero = Amount(0, base.currency)
    if rule is None:
        return FeeQuote(
            schedule.id,
            schedule.version,
            rule_name,
            base,
            zero,
            f"no {rule_name} fee in schedule v{schedule.version} = 0",
        )
    if rule.kind == "percent" and rule.rate is not None:
        raw = (Decimal(base.minor) * rule.rate / Decimal(100)).quantize(Decimal(1), ROUND_HALF_UP)
        fee = Amount(int(raw), base.currency)
        formula = f"{_fmt_rate(rule.rate)} of {base.grouped()} = {fee.grouped()}"
        if rule.fixed:
            fee = fee + Amount(rule.fixed, base.currency)
            formula += f" + {Amount(rule.fixed, base.currency).grouped()} = {fee.grouped()}"
        if rule.cap is not None and fee.minor > rule.cap:
            fee = Amount(rule.cap, base.currency)
            formula += f", capped at {fee.grouped()}"
        return FeeQuote(schedule.id, schedule.version, rule_name, base, fee, formula)
    if rule.kind in ("fixed", "periodic") and rule.fixed is not None:
        fee = Amount(rule.fixed, currency(rule.currency))
        return FeeQuote(
            schedule.id,
            schedule.version,
            rule_name,
            base,
            fee,
            f"fixed {fee.grouped()} per {'transaction' if rule.kind == 'fixed' else rule.period}",
        )
    return FeeQuote(schedule.id, schedule.version, rule_name, base, zero, f"{rule_name} rule has no rate = 0")


def schedule_in_force(conn: Connection, merchant_id: int, at: datetime) -> FeeSchedule:
    """The merchant's schedule whose effective period contains ``at`` (latest version wins)."""
    row = (
        conn.execute(
            select(fee_schedules)
            .where(
                and_(
                    fee_schedules.c.merchant_id == merchant_id,
                    fee_schedules.c.effective_from <= at,
                    or_(fee_schedules.c.effective_to.is_(None), fee_schedules.c.effective_to > at),
                )
            )
            .order_by(fee_schedules.c.version.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NoFeeScheduleError(merchant_id, at)
    rules = conn.execute(select(fee_rules).where(fee_rules.c.schedule_id == row["id"])).mappings()
    return FeeSchedule(
        id=row["id"],
        merchant_id=merchant_id,
        version=row["version"],
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
        rules=tuple(
            FeeRule(
                rule=r["rule"],
                kind=r["kind"],
                currency=r["currency"],
                rate=Decimal(r["rate"]) if r["rate"] is not None else None,
                fixed=r["fixed"],
                cap=r["cap"],
                period=r["period"],
            )
            for r in rules
        ),
    )


def create_schedule(
    conn: Connection,
    *,
    merchant_id: int,
    version: int,
    effective_from: datetime,
    rules: Sequence[FeeRule],
    now: datetime,
    description: str = "",
    notified_at: datetime | None = None,
) -> int:
    """Insert a schedule version with its rules; returns the schedule id."""
    schedule_id = int(
        inserted_id(
            conn.execute(
                insert(fee_schedules).values(
                    merchant_id=merchant_id,
                    version=version,
                    effective_from=effective_from,
                    notified_at=notified_at,
                    description=description,
                    created_at=now,
                )
            )
        )
    )
    conn.execute(
        insert(fee_rules),
        [
            {
                "schedule_id": schedule_id,
                "rule": r.rule,
                "kind": r.kind,
                "rate": str(r.rate) if r.rate is not None else None,
                "fixed": r.fixed,
                "cap": r.cap,
                "period": r.period,
                "currency": r.currency,
            }
            for r in rules
        ],
    )
    return schedule_id
