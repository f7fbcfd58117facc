"""Merchant fee schedules: versioned contracts and the one function that prices a transaction.

Every fee is computed here and recorded with the schedule version, the rule, the
base amount and the formula ("0.60% of 1,234.50 = 7.41"), so the merchant can see
why each cent was charged and an audit can recompute it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from poskit.money import Amount, currency
from poskit.store.db import inserted_id
from poskit.store.schema import fee_rules, fee_schedules

__all__ = [
    "CARD_RULES",
    "DEFAULT_NOTICE_DAYS",
    "FeeQuote",
    "FeeRule",
    "FeeSchedule",
    "LawfulSegment",
    "NoFeeScheduleError",
    "NoticePeriodError",
    "create_schedule",
    "end_contract",
    "lawful_from",
    "lawful_timeline",
    "load_schedules",
    "period_label",
    "quote_fee",
    "rate_fraction",
    "rule_for_card",
    "schedule_in_force",
]

#: The rules that price a card transaction (one of them applies to each sale).
CARD_RULES = ("domestic_debit", "domestic_credit", "foreign")

#: Days between telling a merchant about a new schedule and applying it (the contract's notice term).
DEFAULT_NOTICE_DAYS = 30


class NoticePeriodError(ValueError):
    """A new schedule version would take effect before its notice period has run."""

    def __init__(self, merchant_id: int, version: int, reason: str) -> None:
        super().__init__(f"fee schedule v{version} of merchant {merchant_id}: {reason}")
        self.merchant_id = merchant_id
        self.version = version
        self.reason = reason


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
    notified_at: datetime | None = None
    description: str = ""

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


_PERIOD_NOUN = {"monthly": "month", "yearly": "year"}


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
        unit = "transaction" if rule.kind == "fixed" else _PERIOD_NOUN.get(rule.period or "", rule.period)
        return FeeQuote(
            schedule.id,
            schedule.version,
            rule_name,
            base,
            fee,
            f"fixed {fee.grouped()} per {unit}",
        )
    return FeeQuote(schedule.id, schedule.version, rule_name, base, zero, f"{rule_name} rule has no rate = 0")


def _rule_from_row(r: Any) -> FeeRule:
    return FeeRule(
        rule=r["rule"],
        kind=r["kind"],
        currency=r["currency"],
        rate=Decimal(r["rate"]) if r["rate"] is not None else None,
        fixed=r["fixed"],
        cap=r["cap"],
        period=r["period"],
    )


def _schedule_from_rows(row: Any, rules: Sequence[FeeRule]) -> FeeSchedule:
    return FeeSchedule(
        id=row["id"],
        merchant_id=row["merchant_id"],
        version=row["version"],
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
        rules=tuple(rules),
        notified_at=row["notified_at"],
        description=row["description"],
    )


def _schedule_from_row(conn: Connection, row: Any) -> FeeSchedule:
    rules = conn.execute(
        select(fee_rules).where(fee_rules.c.schedule_id == row["id"]).order_by(fee_rules.c.id)
    ).mappings()
    return _schedule_from_rows(row, [_rule_from_row(r) for r in rules])


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
    return _schedule_from_row(conn, row)


def load_schedules(conn: Connection, merchant_id: int | None = None) -> dict[int, list[FeeSchedule]]:
    """Every schedule version (merchant id -> versions in order), for history pages and audits."""
    query = select(fee_schedules).order_by(fee_schedules.c.merchant_id, fee_schedules.c.version)
    if merchant_id is not None:
        query = query.where(fee_schedules.c.merchant_id == merchant_id)
    rows = conn.execute(query).mappings().all()
    rules_by_schedule: dict[int, list[FeeRule]] = {}
    rule_query = select(fee_rules).order_by(fee_rules.c.id)
    if merchant_id is not None:
        rule_query = rule_query.where(fee_rules.c.schedule_id.in_([r["id"] for r in rows]))
    for r in conn.execute(rule_query).mappings():
        rules_by_schedule.setdefault(r["schedule_id"], []).append(_rule_from_row(r))
    out: dict[int, list[FeeSchedule]] = {}
    for row in rows:
        out.setdefault(row["merchant_id"], []).append(
            _schedule_from_rows(row, rules_by_schedule.get(row["id"], []))
        )
    return out


def lawful_from(
    schedule: FeeSchedule, *, first: bool, notice_days: int = DEFAULT_NOTICE_DAYS
) -> datetime | None:
    """When a version may bind the merchant: its effective date, but no earlier than notice + term.

    The first version is the signed contract and needs no notice. A later version never
    notified binds never (None): the merchant keeps the terms it was told about.
    """
    if first:
        return schedule.effective_from
    if schedule.notified_at is None:
        return None
    return max(schedule.effective_from, schedule.notified_at + timedelta(days=notice_days))


@dataclasses.dataclass(frozen=True, slots=True)
class LawfulSegment:
    """``schedule`` is the contract in force during ``[start, end)`` (end None: open)."""

    start: datetime
    end: datetime | None
    schedule: FeeSchedule


def lawful_timeline(
    versions: Sequence[FeeSchedule], *, notice_days: int = DEFAULT_NOTICE_DAYS
) -> list[LawfulSegment]:
    """The contract in force over time, honouring notice periods and contract ends.

    At any instant the version in force is the highest version that is lawfully started
    and not ended (``effective_to``); intervals where none is in force are left out.
    """
    if not versions:
        return []
    ordered = sorted(versions, key=lambda v: v.version)
    starts = {v.id: lawful_from(v, first=i == 0, notice_days=notice_days) for i, v in enumerate(ordered)}
    points = sorted({p for v in ordered for p in (starts[v.id], v.effective_to) if p is not None})
    segments: list[LawfulSegment] = []
    for i, point in enumerate(points):
        end = points[i + 1] if i + 1 < len(points) else None
        in_force = [
            v
            for v in ordered
            if (start := starts[v.id]) is not None
            and start <= point
            and (v.effective_to is None or v.effective_to > point)
        ]
        if not in_force:
            continue
        chosen = in_force[-1]
        if segments and segments[-1].schedule.id == chosen.id and segments[-1].end == point:
            segments[-1] = LawfulSegment(segments[-1].start, end, chosen)
        else:
            segments.append(LawfulSegment(point, end, chosen))
    return segments


def rate_fraction(rate: Decimal) -> tuple[int, int]:
    """A percent rate as an integer fraction: ``0.60`` -> (60, 10000), so SQL can price exactly."""
    exponent = rate.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    scale = 10**places
    return int(rate * scale), 100 * scale


def period_label(at: datetime, period: str | None, timezone: str = "UTC") -> str:
    """The billing period a periodic fee charged at ``at`` belongs to: ``2026-11`` or ``2026``."""
    local = at.astimezone(ZoneInfo(timezone))
    return f"{local.year:04d}" if period == "yearly" else f"{local.year:04d}-{local.month:02d}"


def end_contract(conn: Connection, merchant_id: int, at: datetime) -> int:
    """End the merchant's contract at ``at`` (no version is in force afterwards); returns versions ended."""
    result = conn.execute(
        update(fee_schedules)
        .where(
            fee_schedules.c.merchant_id == merchant_id,
            or_(fee_schedules.c.effective_to.is_(None), fee_schedules.c.effective_to > at),
        )
        .values(effective_to=at)
    )
    return int(result.rowcount or 0)


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
    notice_days: int = DEFAULT_NOTICE_DAYS,
) -> int:
    """Insert a schedule version with its rules; returns the schedule id.

    A version after the first changes the contract: it must be notified at least
    ``notice_days`` before it takes effect (raises :class:`NoticePeriodError`).
    """
    if version > 1:
        if notified_at is None:
            raise NoticePeriodError(merchant_id, version, "a changed schedule needs a notice date")
        if effective_from < notified_at + timedelta(days=notice_days):
            raise NoticePeriodError(
                merchant_id,
                version,
                f"effective {effective_from:%Y-%m-%d} is less than {notice_days} days after the notice "
                f"of {notified_at:%Y-%m-%d}",
            )
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
