"""Fee audit (乱扣费 check): recompute every fee from the contract in force and report overcharges.

The *contract in force* at an instant is the merchant's latest schedule version that
had lawfully started — its effective date, and for a changed schedule no earlier than
its notice date plus the notice term — and had not ended. Each fee line still charged
(its journal not reversed) is compared with what that contract allows:

* ``rate_mismatch`` — more than the contract's rate or fixed amount (or a fee the contract
  does not have at all);
* ``cap_ignored`` — a capped rule charged above its cap;
* ``charged_twice`` — a second line for the same transaction and rule (or periodic fee and
  period);
* ``fee_on_reversed`` — a transaction fee still charged on a reversed or voided transaction;
* ``periodic_after_contract_end`` — a periodic fee (terminal rental, SIM/data) charged after
  the contract ended;
* ``early_rate_change`` — a new schedule applied before its notice period ran;
* ``d0_fee_without_d0`` — an instant-settlement fee on a transaction that was not paid D0.

Transaction fee lines are screened set-based in SQL (contract segments in a temporary
table, integer arithmetic identical to :func:`poskit.ledger.fees.quote_fee`); only the
suspicious lines come back to Python, where each finding gets its evidence and the
amount owed. Upheld disputes on a finding reduce what is still owed.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from poskit.ledger.balances import tune_for_bulk
from poskit.ledger.fees import (
    DEFAULT_NOTICE_DAYS,
    FeeSchedule,
    LawfulSegment,
    lawful_from,
    lawful_timeline,
    load_schedules,
    period_label,
    quote_fee,
    rate_fraction,
)
from poskit.ledger.negation import undone
from poskit.money import Amount
from poskit.store.schema import (
    UtcDateTime,
    acquirers,
    fee_lines,
    journal_entries,
    merchants,
    transactions,
)
from poskit.store.schema_ledger import disputes, settlement_items

__all__ = [
    "FINDING_KINDS",
    "REVERSED_STATUSES",
    "AuditReport",
    "Finding",
    "audit_fees",
]

FINDING_KINDS = (
    "rate_mismatch",
    "cap_ignored",
    "charged_twice",
    "fee_on_reversed",
    "periodic_after_contract_end",
    "early_rate_change",
    "d0_fee_without_d0",
)
#: Transaction statuses whose fees must have been returned.
REVERSED_STATUSES = ("reversed", "voided")

_FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One overcharge: what was charged, what the contract allows, and what is owed."""

    key: str  # stable identity, e.g. "cap_ignored:fee_line:42" (a dispute opened from it keeps it)
    kind: str
    merchant_id: int
    merchant_no: str
    fee_line_id: int
    transaction_id: int | None
    rrn: str | None
    rule: str
    currency: str
    charged: int
    contract: int
    overcharge: int
    refunded: int
    owed: int  # overcharge - refunded
    charged_at: datetime
    message: str
    evidence: dict[str, Any]
    dispute_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["charged_at"] = self.charged_at.isoformat()
        for name in ("charged", "contract", "overcharge", "refunded", "owed"):
            data[f"{name}_display"] = Amount.of(getattr(self, name), self.currency).plain()
        return data


@dataclasses.dataclass
class AuditReport:
    findings: list[Finding]
    lines_checked: int
    owed: dict[str, int]  # currency -> total still owed

    def to_json(self) -> dict[str, Any]:
        return {
            "lines_checked": self.lines_checked,
            "findings": [f.to_json() for f in self.findings],
            "owed": {cur: Amount.of(v, cur).plain() for cur, v in self.owed.items()},
            "owed_minor": dict(self.owed),
            "by_kind": {k: sum(1 for f in self.findings if f.kind == k) for k in FINDING_KINDS},
        }


def _segments_table() -> Table:
    return Table(
        "poskit_audit_segments",
        MetaData(),
        Column("merchant_id", Integer, nullable=False),
        Column("seg_start", UtcDateTime(), nullable=False),
        Column("seg_end", UtcDateTime(), nullable=False),
        Column("schedule_id", Integer, nullable=False),
        Column("rule", String(32), nullable=False),
        Column("kind", String(12), nullable=False),
        Column("num", BigInteger, nullable=True),
        Column("den", BigInteger, nullable=True),
        Column("fixed", BigInteger, nullable=True),
        Column("cap", BigInteger, nullable=True),
        Index("ix_poskit_audit_segments", "merchant_id", "rule", "seg_start"),
        prefixes=["TEMPORARY"],
    )


def _segment_rows(timelines: dict[int, list[LawfulSegment]]) -> list[dict[str, Any]]:
    rows = []
    for merchant_id, segments in timelines.items():
        for seg in segments:
            for rule in seg.schedule.rules:
                num = den = None
                if rule.kind == "percent" and rule.rate is not None:
                    num, den = rate_fraction(rule.rate)
                rows.append(
                    {
                        "merchant_id": merchant_id,
                        "seg_start": seg.start,
                        "seg_end": seg.end or _FAR_FUTURE,
                        "schedule_id": seg.schedule.id,
                        "rule": rule.rule,
                        "kind": rule.kind,
                        "num": num,
                        "den": den,
                        "fixed": rule.fixed,
                        "cap": rule.cap,
                    }
                )
    return rows


def _segment_at(segments: list[LawfulSegment], at: datetime) -> LawfulSegment | None:
    for seg in segments:
        if seg.start <= at and (seg.end is None or at < seg.end):
            return seg
    return None


class _Context:
    """Schedules, timelines and merchants the classification needs."""

    def __init__(self, conn: Connection, merchant_id: int | None, notice_days: int) -> None:
        self.notice_days = notice_days
        self.versions = load_schedules(conn, merchant_id)
        self.timelines = {m: lawful_timeline(v, notice_days=notice_days) for m, v in self.versions.items()}
        self.schedules: dict[int, FeeSchedule] = {s.id: s for v in self.versions.values() for s in v}
        self.first_version = {m: v[0].id for m, v in self.versions.items() if v}
        query = select(merchants.c.id, merchants.c.merchant_no, acquirers.c.timezone).select_from(
            merchants.join(acquirers)
        )
        if merchant_id is not None:
            query = query.where(merchants.c.id == merchant_id)
        rows = conn.execute(query).all()
        self.merchant_no = {r.id: r.merchant_no for r in rows}
        self.timezone = {r.id: r.timezone for r in rows}

    def lawful_start(self, schedule: FeeSchedule | None) -> datetime | None:
        if schedule is None:
            return None
        first = self.first_version.get(schedule.merchant_id) == schedule.id
        return lawful_from(schedule, first=first, notice_days=self.notice_days)

    def contract_evidence(self, schedule: FeeSchedule | None) -> dict[str, Any] | None:
        if schedule is None:
            return None
        start = self.lawful_start(schedule)
        return {
            "schedule_id": schedule.id,
            "version": schedule.version,
            "effective_from": schedule.effective_from.isoformat(),
            "effective_to": schedule.effective_to.isoformat() if schedule.effective_to else None,
            "notified_at": schedule.notified_at.isoformat() if schedule.notified_at else None,
            "binding_from": start.isoformat() if start else None,
            "description": schedule.description,
        }


def _expected(seg: Any, base: Any) -> Any:
    """The contract fee in SQL: percent (half-up) + fixed, capped; or the fixed amount."""
    percent = (base * seg.c.num + seg.c.den // 2) // seg.c.den + func.coalesce(seg.c.fixed, 0)
    capped = case((and_(seg.c.cap.is_not(None), percent > seg.c.cap), seg.c.cap), else_=percent)
    return case(
        (seg.c.kind == "percent", capped),
        (seg.c.kind.in_(("fixed", "periodic")), seg.c.fixed),
        else_=0,
    )


def audit_fees(
    conn: Connection,
    *,
    merchant_id: int | None = None,
    notice_days: int = DEFAULT_NOTICE_DAYS,
) -> AuditReport:
    """Recompute every fee line (of one merchant, or all) and report each overcharge."""
    tune_for_bulk(conn)
    ctx = _Context(conn, merchant_id, notice_days)
    findings = _transaction_findings(conn, ctx, merchant_id)
    findings += _periodic_findings(conn, ctx, merchant_id)
    findings = _with_disputes(conn, findings)
    count_query = select(func.count()).select_from(fee_lines)
    if merchant_id is not None:
        count_query = count_query.where(fee_lines.c.merchant_id == merchant_id)
    owed: dict[str, int] = defaultdict(int)
    for f in findings:
        owed[f.currency] += f.owed
    findings.sort(key=lambda f: (f.merchant_no, f.charged_at, f.fee_line_id, f.kind))
    return AuditReport(findings, int(conn.execute(count_query).scalar_one()), dict(owed))


def _transaction_findings(conn: Connection, ctx: _Context, merchant_id: int | None) -> list[Finding]:
    seg_table = _segments_table()
    seg_table.create(conn)
    try:
        rows = _segment_rows(ctx.timelines)
        if rows:
            conn.execute(seg_table.insert(), rows)
        return [f for row in _screen(conn, seg_table, merchant_id) if (f := _classify(ctx, row))]
    finally:
        seg_table.drop(conn)


def _screen(conn: Connection, seg: Table, merchant_id: int | None) -> list[Any]:
    fl, t = fee_lines, transactions
    j = journal_entries.alias("line_journal")
    is_d0 = fl.c.rule == "d0_settlement"
    category = case((is_d0, literal("d0")), else_=literal("mdr"))
    card_rule = case(
        (t.c.origin == "foreign", literal("foreign")),
        (t.c.funding == "debit", literal("domestic_debit")),
        else_=literal("domestic_credit"),
    )
    where: list[Any] = [fl.c.transaction_id.is_not(None), or_(j.c.id.is_(None), ~undone(j))]
    if merchant_id is not None:
        where.append(fl.c.merchant_id == merchant_id)
    active = (
        select(
            fl.c.id,
            fl.c.merchant_id,
            fl.c.transaction_id,
            fl.c.schedule_id,
            fl.c.schedule_version,
            fl.c.rule,
            fl.c.base,
            fl.c.amount,
            fl.c.currency,
            fl.c.formula,
            fl.c.created_at,
            t.c.amount.label("txn_amount"),
            t.c.status.label("txn_status"),
            t.c.received_at,
            t.c.rrn,
            t.c.funding,
            t.c.origin,
            category.label("category"),
            case((is_d0, literal("d0_settlement")), else_=card_rule).label("expected_rule"),
            case((is_d0, fl.c.created_at), else_=t.c.received_at).label("charged_for"),
        )
        .select_from(fl.join(t, t.c.id == fl.c.transaction_id).outerjoin(j, j.c.id == fl.c.journal_id))
        .where(*where)
        .subquery("active")
    )
    # Transactions with more than one fee line of a category (reversed ones included): few, and the
    # only places a double charge can hide; which of their lines is the extra one is decided in Python.
    several = (
        select(fl.c.transaction_id, category.label("category"))
        .where(fl.c.transaction_id.is_not(None))
        .group_by(fl.c.transaction_id, category)
        .having(func.count() > 1)
        .subquery("several")
    )
    expected = _expected(seg, active.c.txn_amount)
    paid_d0 = (
        select(settlement_items.c.id)
        .where(settlement_items.c.transaction_id == active.c.transaction_id, settlement_items.c.mode == "d0")
        .exists()
    )
    query = (
        select(
            active,
            seg.c.schedule_id.label("lawful_schedule_id"),
            expected.label("expected"),
            paid_d0.label("paid_d0"),
            several.c.transaction_id.is_not(None).label("several"),
        )
        .select_from(
            active.outerjoin(
                seg,
                and_(
                    seg.c.merchant_id == active.c.merchant_id,
                    seg.c.rule == active.c.expected_rule,
                    seg.c.seg_start <= active.c.charged_for,
                    seg.c.seg_end > active.c.charged_for,
                ),
            ).outerjoin(
                several,
                and_(
                    several.c.transaction_id == active.c.transaction_id,
                    several.c.category == active.c.category,
                ),
            )
        )
        .where(
            or_(
                several.c.transaction_id.is_not(None),
                seg.c.schedule_id.is_(None),
                active.c.schedule_id != seg.c.schedule_id,
                active.c.amount > expected,
                and_(active.c.category == "mdr", active.c.txn_status.in_(REVERSED_STATUSES)),
                and_(active.c.category == "d0", ~paid_d0),
            )
        )
        .order_by(active.c.id)
    )
    rows = [dict(r) for r in conn.execute(query).mappings()]
    # Among the still-charged lines of one transaction and category, the first is the charge and
    # every later one a repeat.
    first: dict[tuple[int, str], int] = {}
    for row in rows:
        if row["several"]:
            first.setdefault((row["transaction_id"], row["category"]), row["id"])
    for row in rows:
        row["first_id"] = first.get((row["transaction_id"], row["category"]), row["id"])
        row["rank"] = 1 if row["first_id"] == row["id"] else 2
    return rows


def _line_evidence(row: Any) -> dict[str, Any]:
    return {
        "fee_line": {
            "id": row["id"],
            "rule": row["rule"],
            "base": row["base"],
            "amount": row["amount"],
            "formula": row["formula"],
            "schedule_version": row["schedule_version"],
            "charged_at": row["created_at"].isoformat(),
        }
    }


def _finding(
    ctx: _Context,
    row: Any,
    kind: str,
    *,
    contract: int,
    message: str,
    evidence: dict[str, Any],
) -> Finding | None:
    overcharge = int(row["amount"]) - contract
    if overcharge <= 0:
        return None
    return Finding(
        key=f"{kind}:fee_line:{row['id']}",
        kind=kind,
        merchant_id=row["merchant_id"],
        merchant_no=ctx.merchant_no.get(row["merchant_id"], str(row["merchant_id"])),
        fee_line_id=row["id"],
        transaction_id=row.get("transaction_id"),
        rrn=row.get("rrn"),
        rule=row["rule"],
        currency=row["currency"],
        charged=int(row["amount"]),
        contract=contract,
        overcharge=overcharge,
        refunded=0,
        owed=overcharge,
        charged_at=row["created_at"],
        message=message,
        evidence=evidence,
    )


def _classify(ctx: _Context, row: Any) -> Finding | None:
    """Name what is wrong with a screened transaction fee line (None: nothing owed)."""
    currency = row["currency"]
    amount = Amount.of(int(row["amount"]), currency)
    evidence = _line_evidence(row)
    evidence["transaction"] = {
        "id": row["transaction_id"],
        "rrn": row["rrn"],
        "amount": row["txn_amount"],
        "status": row["txn_status"],
        "funding": row["funding"],
        "origin": row["origin"],
        "received_at": row["received_at"].isoformat(),
    }
    lawful = ctx.schedules.get(row["lawful_schedule_id"]) if row["lawful_schedule_id"] else None
    charged_under = ctx.schedules.get(row["schedule_id"])
    evidence["contract"] = ctx.contract_evidence(lawful)
    if row["rank"] > 1:
        evidence["duplicate_of"] = row["first_id"]
        return _finding(
            ctx,
            row,
            "charged_twice",
            contract=0,
            evidence=evidence,
            message=f"{row['rule']} fee {amount.grouped()} charged again (first on line {row['first_id']})",
        )
    if row["category"] == "mdr" and row["txn_status"] in REVERSED_STATUSES:
        return _finding(
            ctx,
            row,
            "fee_on_reversed",
            contract=0,
            evidence=evidence,
            message=f"fee {amount.grouped()} kept on a {row['txn_status']} transaction",
        )
    if row["category"] == "d0" and not row["paid_d0"]:
        return _finding(
            ctx,
            row,
            "d0_fee_without_d0",
            contract=0,
            evidence=evidence,
            message=f"D0 fee {amount.grouped()} on a transaction that was not paid D0",
        )
    if lawful is None:
        return _finding(
            ctx,
            row,
            "rate_mismatch",
            contract=0,
            evidence=evidence,
            message=f"{row['rule']} fee {amount.grouped()} with no such fee in the contract in force",
        )
    quote = quote_fee(lawful, row["expected_rule"], Amount.of(int(row["txn_amount"]), currency))
    evidence["contract"]["rule"] = row["expected_rule"]
    evidence["contract"]["formula"] = quote.formula
    contract = quote.fee.minor
    if charged_under is not None and charged_under.id != lawful.id:
        start = ctx.lawful_start(charged_under)
        if start is None or start > row["charged_for"]:
            evidence["applied_schedule"] = ctx.contract_evidence(charged_under)
            return _finding(
                ctx,
                row,
                "early_rate_change",
                contract=contract,
                evidence=evidence,
                message=(
                    f"schedule v{charged_under.version} applied before it could bind "
                    f"({start.date().isoformat() if start else 'never notified'}); "
                    f"contract v{lawful.version}: {quote.formula}"
                ),
            )
    rule = lawful.rule(row["expected_rule"])
    if rule is not None and rule.cap is not None and row["amount"] > rule.cap and contract == rule.cap:
        return _finding(
            ctx,
            row,
            "cap_ignored",
            contract=contract,
            evidence=evidence,
            message=f"charged {amount.grouped()} above the {Amount.of(rule.cap, currency).grouped()} cap: "
            f"{quote.formula}",
        )
    return _finding(
        ctx,
        row,
        "rate_mismatch",
        contract=contract,
        evidence=evidence,
        message=f"charged {amount.grouped()} ({row['formula']}); contract v{lawful.version}: {quote.formula}",
    )


def _periodic_findings(conn: Connection, ctx: _Context, merchant_id: int | None) -> list[Finding]:
    """Fee lines without a transaction (periodic fees): few rows, checked one by one."""
    j = journal_entries.alias("line_journal")
    query = (
        select(fee_lines)
        .select_from(fee_lines.outerjoin(j, j.c.id == fee_lines.c.journal_id))
        .where(fee_lines.c.transaction_id.is_(None), or_(j.c.id.is_(None), ~undone(j)))
        .order_by(fee_lines.c.id)
    )
    if merchant_id is not None:
        query = query.where(fee_lines.c.merchant_id == merchant_id)
    seen: dict[tuple[int, str, str], int] = {}
    found: list[Finding] = []
    for row in conn.execute(query).mappings():
        mid, at = row["merchant_id"], row["created_at"]
        charged_under = ctx.schedules.get(row["schedule_id"])
        own_rule = charged_under.rule(row["rule"]) if charged_under else None
        period = own_rule.period if own_rule else "monthly"
        label = period_label(at, period, ctx.timezone.get(mid, "UTC"))
        evidence = _line_evidence(row)
        evidence["period"] = label
        ident = (mid, row["rule"], label)
        amount = Amount.of(int(row["amount"]), row["currency"])
        if ident in seen:
            evidence["duplicate_of"] = seen[ident]
            finding = _finding(
                ctx,
                row,
                "charged_twice",
                contract=0,
                evidence=evidence,
                message=f"{row['rule']} for {label} charged again (first on line {seen[ident]})",
            )
            if finding:
                found.append(finding)
            continue
        seen[ident] = row["id"]
        segment = _segment_at(ctx.timelines.get(mid, []), at)
        lawful = segment.schedule if segment else None
        evidence["contract"] = ctx.contract_evidence(lawful)
        if lawful is None:
            ended = [
                s.effective_to for s in ctx.versions.get(mid, []) if s.effective_to and s.effective_to <= at
            ]
            if ended:
                evidence["contract_ended_at"] = max(ended).isoformat()
                finding = _finding(
                    ctx,
                    row,
                    "periodic_after_contract_end",
                    contract=0,
                    evidence=evidence,
                    message=f"{row['rule']} {amount.grouped()} for {label} after the contract ended "
                    f"{max(ended).date().isoformat()}",
                )
            else:
                finding = _finding(
                    ctx,
                    row,
                    "rate_mismatch",
                    contract=0,
                    evidence=evidence,
                    message=f"{row['rule']} {amount.grouped()} charged with no contract in force",
                )
            if finding:
                found.append(finding)
            continue
        rule = lawful.rule(row["rule"])
        contract = rule.fixed or 0 if rule is not None else 0
        if charged_under is not None and charged_under.id != lawful.id:
            start = ctx.lawful_start(charged_under)
            if start is None or start > at:
                evidence["applied_schedule"] = ctx.contract_evidence(charged_under)
                finding = _finding(
                    ctx,
                    row,
                    "early_rate_change",
                    contract=contract,
                    evidence=evidence,
                    message=f"{row['rule']} of v{charged_under.version} charged before it could bind",
                )
                if finding:
                    found.append(finding)
                continue
        finding = _finding(
            ctx,
            row,
            "rate_mismatch",
            contract=contract,
            evidence=evidence,
            message=(
                f"{row['rule']} {amount.grouped()} for {label}; contract v{lawful.version} "
                + (f"allows {Amount.of(contract, row['currency']).grouped()}" if rule else "has no such fee")
            ),
        )
        if finding:
            found.append(finding)
    return found


def _with_disputes(conn: Connection, findings: list[Finding]) -> list[Finding]:
    """Attach the dispute opened for each finding and subtract what an upheld one refunded."""
    if not findings:
        return findings
    rows = conn.execute(
        select(
            disputes.c.id,
            disputes.c.finding_key,
            disputes.c.fee_line_id,
            disputes.c.status,
            disputes.c.resolved_amount,
        )
        .where(
            or_(
                disputes.c.finding_key.in_([f.key for f in findings]),
                disputes.c.fee_line_id.in_([f.fee_line_id for f in findings]),
            )
        )
        .order_by(disputes.c.id)
    ).all()
    out = []
    for f in findings:
        mine = [
            r
            for r in rows
            if r.finding_key == f.key or (r.finding_key is None and r.fee_line_id == f.fee_line_id)
        ]
        refunded = sum(int(r.resolved_amount or 0) for r in mine if r.status == "upheld")
        refunded = min(refunded, f.overcharge)
        out.append(
            dataclasses.replace(
                f,
                dispute_id=mine[0].id if mine else None,
                refunded=refunded,
                owed=f.overcharge - refunded,
            )
        )
    return out
