"""Settlement: the daily cut-off in the acquirer's time zone, settlement items and network settlement.

At the cut-off for business date D (midnight in the acquirer's zone) the window since
the previous cut-off is closed:

1. approved merchant changes due by the cut-off are applied (payouts follow them);
2. periodic fees due in D's period (terminal rental, SIM/data) are charged, once per period;
3. the day's transactions are re-checked for MCC jumping and terminal/merchant mismatches;
4. every money journal of a card transaction in the window becomes exactly one
   *settlement item* (journals already settled D0 are skipped), priced with interchange;
5. the network settles the day: issuer settlement -> bank, interchange -> network fees;
6. every account is rolled up to the cut-off (the daily balance snapshot);
7. T+1 payouts are made per merchant (:mod:`poskit.ledger.payouts`);
8. the day's terminal batches are reconciled (:mod:`poskit.ledger.reconciliation`).

All of it runs in one database transaction and is recorded in ``ledger_cutoffs``; a
second run for the same date finds that record and changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, func, insert, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from poskit.ledger.accounts import issuer_settlement, network_fees, payouts_clearing
from poskit.ledger.balances import roll_up, tune_for_bulk
from poskit.ledger.directory import (
    AcquirerInfo,
    all_acquirers,
    business_date_of,
    business_window,
)
from poskit.ledger.events import FeeCharge, post_fee_charges
from poskit.ledger.fees import NoFeeScheduleError, period_label, quote_fee, rate_fraction, schedule_in_force
from poskit.ledger.merchant_changes import apply_due_changes
from poskit.ledger.monitoring import scan_transactions
from poskit.ledger.posting import Line, journal_exists, post_journal
from poskit.money import Amount
from poskit.store.schema import (
    fee_rules,
    fee_schedules,
    journal_entries,
    ledger_accounts,
    ledger_entries,
    merchants,
    transactions,
)
from poskit.store.schema_ledger import ledger_cutoffs, settlement_items

__all__ = [
    "INTERCHANGE",
    "CutoffError",
    "CutoffReport",
    "InterchangeTable",
    "charge_periodic_fees",
    "create_settlement_items",
    "last_cutoff",
    "list_cutoffs",
    "settle_day",
    "unsettled_money_journals",
]


class CutoffError(ValueError):
    """A cut-off that cannot run as asked (day not over, or out of order)."""

    def __init__(self, acquirer: str, business_date: str, reason: str) -> None:
        super().__init__(f"cut-off {business_date} of acquirer {acquirer}: {reason}")
        self.acquirer = acquirer
        self.business_date = business_date
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class InterchangeTable:
    """What the acquirer pays on from each sale: the issuer's service fee and its network fee.

    China after the 2016 reform (发改价格〔2016〕557号, see the domain notes §3.1): issuer fee
    debit <= 0.35% capped at 13 CNY, credit <= 0.45% uncapped; network fee, acquirer side,
    0.0325% capped at 3.25 CNY. Foreign-scheme fees are not modelled (0).
    """

    debit_rate: Decimal
    debit_cap: int | None
    credit_rate: Decimal
    credit_cap: int | None
    network_rate: Decimal
    network_cap: int | None


INTERCHANGE: dict[str, InterchangeTable] = {
    "CNY": InterchangeTable(Decimal("0.35"), 1300, Decimal("0.45"), None, Decimal("0.0325"), 325),
}


@dataclasses.dataclass
class CutoffReport:
    acquirer: str
    business_date: str
    timezone: str
    window_start: datetime | None
    window_end: datetime
    already_done: bool = False
    changes_applied: int = 0
    periodic_fees: int = 0
    flags_raised: int = 0
    items: int = 0
    gross: int = 0
    fees: int = 0
    net: int = 0
    interchange: int = 0
    rollups: int = 0
    payouts: int = 0
    payout_total: int = 0
    batches: int = 0
    batch_breaks: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dataclasses.asdict(self).items()
        }


def _percent_of(base: ColumnElement[Any], rate: Decimal, cap: int | None) -> ColumnElement[Any]:
    """Half-up ``rate``% of a non-negative integer column, capped, in integer SQL arithmetic."""
    num, den = rate_fraction(rate)
    fee: ColumnElement[Any] = (base * num + den // 2) // den
    return fee if cap is None else case((fee > cap, cap), else_=fee)


def _interchange(gross: ColumnElement[Any], currency: ColumnElement[Any], funding: Any, origin: Any) -> Any:
    absolute = cast(func.abs(gross), BigInteger)  # PostgreSQL's SUM is NUMERIC: keep integer division
    sign = case((gross < 0, -1), else_=1)
    branches = []
    for code, table in INTERCHANGE.items():
        network = _percent_of(absolute, table.network_rate, table.network_cap)
        debit = _percent_of(absolute, table.debit_rate, table.debit_cap) + network
        credit = _percent_of(absolute, table.credit_rate, table.credit_cap) + network
        domestic = case((funding == "debit", debit), else_=credit)
        branches.append((and_(currency == code, func.coalesce(origin, "domestic") != "foreign"), domestic))
    if not branches:
        return literal(0)
    return sign * case(*branches, else_=0)


def _per_journal(
    *,
    acquirer_id: int | None,
    start: datetime | None,
    end: datetime,
    merchant_id: int | None = None,
    journal_ids: Sequence[int] | None = None,
) -> Any:
    """Money journals of card transactions in ``[start, end)`` not settled yet, with their
    issuer-settlement (gross), fee-income and merchant-payable (net) movements."""
    j, e, a = journal_entries, ledger_entries, ledger_accounts
    code = a.c.code
    payable = code.like("merchant_payable:%")
    conditions: list[Any] = [
        j.c.idempotency_key.like("txn:%"),
        j.c.posted_at < end,
        ~select(settlement_items.c.id).where(settlement_items.c.journal_id == j.c.id).exists(),
    ]
    if acquirer_id is not None:
        conditions.append(merchants.c.acquirer_id == acquirer_id)
    if start is not None:
        conditions.append(j.c.posted_at >= start)
    if merchant_id is not None:
        conditions.append(j.c.merchant_id == merchant_id)
    if journal_ids is not None:
        conditions.append(j.c.id.in_(list(journal_ids)))
    return (
        select(
            j.c.id.label("journal_id"),
            j.c.idempotency_key,
            j.c.transaction_id,
            j.c.merchant_id,
            j.c.kind,
            j.c.currency,
            func.sum(case((code.like("issuer_settlement:%"), e.c.amount), else_=0)).label("gross"),
            (-func.sum(case((code.like("acquirer_fee_income:%"), e.c.amount), else_=0))).label("fee"),
            (-func.sum(case((payable, e.c.amount), else_=0))).label("net"),
        )
        .select_from(
            j.join(e, e.c.journal_id == j.c.id)
            .join(a, a.c.id == e.c.account_id)
            .join(merchants, merchants.c.id == j.c.merchant_id)
        )
        .where(*conditions)
        # The other journal columns depend on its primary key (PostgreSQL accepts that; so does SQLite).
        .group_by(j.c.id)
        .having(func.sum(case((payable, 1), else_=0)) > 0)
    )


def unsettled_money_journals(
    conn: Connection, *, merchant_id: int, start: datetime | None, end: datetime
) -> list[dict[str, Any]]:
    """The merchant's money journals in ``[start, end)`` that no payout has settled yet."""
    query = _per_journal(acquirer_id=None, start=start, end=end, merchant_id=merchant_id)
    return [dict(r) for r in conn.execute(query.order_by(journal_entries.c.id)).mappings()]


def create_settlement_items(
    conn: Connection,
    *,
    acquirer_id: int,
    business_date: str,
    start: datetime | None,
    end: datetime,
    now: datetime,
    mode: str = "t1",
    merchant_id: int | None = None,
    journal_ids: Sequence[int] | None = None,
) -> int:
    """Settle every not-yet-settled money journal of the acquirer's card transactions posted in
    ``[start, end)``: one item per journal (set-based INSERT ... SELECT). Returns items created.

    A money journal is one posted by :mod:`poskit.ledger.events` for a transaction (key ``txn:...``)
    that moves a merchant's payable: sales, completions, refunds and their reversals/voids.
    """
    per_journal = _per_journal(
        acquirer_id=acquirer_id, start=start, end=end, merchant_id=merchant_id, journal_ids=journal_ids
    ).subquery()
    t = transactions
    query = select(
        per_journal.c.journal_id,
        per_journal.c.transaction_id,
        per_journal.c.merchant_id,
        literal(acquirer_id),
        literal(business_date),
        per_journal.c.kind,
        literal(mode),
        per_journal.c.gross,
        per_journal.c.fee,
        per_journal.c.net,
        _interchange(per_journal.c.gross, per_journal.c.currency, t.c.funding, t.c.origin),
        per_journal.c.currency,
        literal(now, type_=settlement_items.c.created_at.type),
    ).select_from(per_journal.outerjoin(t, t.c.id == per_journal.c.transaction_id))
    counted = (
        select(func.count())
        .select_from(settlement_items)
        .where(
            settlement_items.c.acquirer_id == acquirer_id,
            settlement_items.c.business_date == business_date,
            settlement_items.c.mode == mode,
        )
    )
    before = int(conn.execute(counted).scalar_one())
    conn.execute(
        insert(settlement_items).from_select(
            [
                "journal_id",
                "transaction_id",
                "merchant_id",
                "acquirer_id",
                "business_date",
                "kind",
                "mode",
                "gross",
                "fee",
                "net",
                "interchange",
                "currency",
                "created_at",
            ],
            query,
        )
    )
    # (rowcount of INSERT ... SELECT is not reported by every driver)
    return int(conn.execute(counted).scalar_one()) - before


def _network_settlement(
    conn: Connection, acquirer: AcquirerInfo, business_date: str, value_at: datetime
) -> tuple[int, int]:
    """Post the network's settlement of the day's items: issuer settlement -> bank, less interchange."""
    gross_total = interchange_total = 0
    rows = conn.execute(
        select(
            settlement_items.c.currency,
            func.sum(settlement_items.c.gross).label("gross"),
            func.sum(settlement_items.c.interchange).label("interchange"),
        )
        .where(
            settlement_items.c.acquirer_id == acquirer.id,
            settlement_items.c.business_date == business_date,
        )
        .group_by(settlement_items.c.currency)
    ).all()
    for row in rows:
        gross, interchange = int(row.gross), int(row.interchange)
        if gross == 0 and interchange == 0:
            continue
        post_journal(
            conn,
            key=f"network:{acquirer.code}:{business_date}:{row.currency}",
            kind="network_settlement",
            currency=row.currency,
            now=value_at,
            description=f"network settlement {business_date}: interchange {interchange}",
            lines=[
                Line(payouts_clearing(row.currency), gross - interchange),
                Line(network_fees(row.currency), interchange),
                Line(issuer_settlement(row.currency), -gross),
            ],
        )
        gross_total += gross
        interchange_total += interchange
    return gross_total, interchange_total


def charge_periodic_fees(
    conn: Connection, *, acquirer: AcquirerInfo, at: datetime, merchant_id: int | None = None
) -> int:
    """Charge each merchant's periodic fees (terminal rental, SIM/data) for the period containing
    ``at``, under the schedule in force then; once per merchant, rule and period."""
    with_periodic = (
        select(fee_schedules.c.merchant_id)
        .select_from(fee_schedules.join(fee_rules, fee_rules.c.schedule_id == fee_schedules.c.id))
        .where(fee_rules.c.kind == "periodic")
    )
    query = select(merchants.c.id, merchants.c.merchant_no, merchants.c.currency).where(
        merchants.c.acquirer_id == acquirer.id, merchants.c.id.in_(with_periodic)
    )
    if merchant_id is not None:
        query = query.where(merchants.c.id == merchant_id)
    charged = 0
    for m in conn.execute(query.order_by(merchants.c.id)).all():
        try:
            schedule = schedule_in_force(conn, m.id, at)
        except NoFeeScheduleError:
            continue
        for rule in schedule.rules:
            if rule.kind != "periodic" or not rule.fixed:
                continue
            label = period_label(at, rule.period, acquirer.timezone)
            quote = quote_fee(schedule, rule.rule, Amount.of(0, rule.currency))
            key = f"periodic:{m.merchant_no}:{rule.rule}:{label}"
            before = journal_exists(conn, key)
            post_fee_charges(
                conn,
                key=key,
                merchant_id=m.id,
                merchant_no=m.merchant_no,
                currency=rule.currency,
                charges=[FeeCharge(quote)],
                at=at,
                kind="periodic_fee",
                description=f"{rule.rule.replace('_', ' ')} {label}: {quote.formula}",
            )
            charged += 0 if before is not None else 1
    return charged


def last_cutoff(conn: Connection, acquirer_id: int) -> Any:
    return (
        conn.execute(
            select(ledger_cutoffs)
            .where(ledger_cutoffs.c.acquirer_id == acquirer_id)
            .order_by(ledger_cutoffs.c.business_date.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


def list_cutoffs(
    conn: Connection, *, acquirer_id: int | None = None, limit: int = 60
) -> list[dict[str, Any]]:
    query = select(ledger_cutoffs).order_by(ledger_cutoffs.c.business_date.desc()).limit(limit)
    if acquirer_id is not None:
        query = query.where(ledger_cutoffs.c.acquirer_id == acquirer_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def settle_day(
    conn: Connection,
    *,
    business_date: date | None = None,
    now: datetime | None = None,
    acquirer_id: int | None = None,
) -> list[CutoffReport]:
    """Run the cut-off and T+1 payouts of ``business_date`` (default: yesterday in each acquirer's
    zone) for every acquirer, or one. Idempotent: a date already cut off is reported, not redone."""
    from poskit.ledger.payouts import run_t1_payouts
    from poskit.ledger.reconciliation import reconcile_batches

    at = now or datetime.now(UTC)
    tune_for_bulk(conn)
    reports: list[CutoffReport] = []
    for acquirer in all_acquirers(conn):
        if acquirer_id is not None and acquirer.id != acquirer_id:
            continue
        day = business_date or business_date_of(at, acquirer.timezone) - timedelta(days=1)
        label = day.isoformat()
        day_start, window_end = business_window(day, acquirer.timezone)
        done = (
            conn.execute(
                select(ledger_cutoffs).where(
                    ledger_cutoffs.c.acquirer_id == acquirer.id, ledger_cutoffs.c.business_date == label
                )
            )
            .mappings()
            .first()
        )
        if done is not None:
            report = CutoffReport(**{**done["summary"], "already_done": True})
            report.window_start = done["window_start"]
            report.window_end = done["window_end"]
            reports.append(report)
            continue
        if window_end > at:
            raise CutoffError(
                acquirer.code, label, f"the day ends at {window_end.isoformat()}; it is not over"
            )
        previous = last_cutoff(conn, acquirer.id)
        if previous is not None and previous["business_date"] > label:
            raise CutoffError(
                acquirer.code, label, f"a later day ({previous['business_date']}) is already cut off"
            )
        window_start = previous["window_end"] if previous is not None else None
        report = CutoffReport(acquirer.code, label, acquirer.timezone, window_start, window_end)
        report.changes_applied = len(apply_due_changes(conn, now=window_end))
        report.periodic_fees = charge_periodic_fees(conn, acquirer=acquirer, at=day_start)
        report.flags_raised = scan_transactions(conn, start=window_start, end=window_end, now=at)
        report.items = create_settlement_items(
            conn, acquirer_id=acquirer.id, business_date=label, start=window_start, end=window_end, now=at
        )
        totals = conn.execute(
            select(
                func.coalesce(func.sum(settlement_items.c.fee), 0),
                func.coalesce(func.sum(settlement_items.c.net), 0),
            ).where(settlement_items.c.acquirer_id == acquirer.id, settlement_items.c.business_date == label)
        ).one()
        report.fees, report.net = int(totals[0]), int(totals[1])
        report.gross, report.interchange = _network_settlement(conn, acquirer, label, window_end)
        report.rollups = roll_up(conn, until=window_end, business_date=label, now=at)
        paid = run_t1_payouts(conn, acquirer=acquirer, business_date=label, value_at=window_end, now=at)
        report.payouts, report.payout_total = len(paid), sum(p.amount for p in paid)
        recon = reconcile_batches(
            conn, acquirer_id=acquirer.id, business_date=label, start=window_start, end=window_end, now=at
        )
        report.batches, report.batch_breaks = len(recon), sum(1 for r in recon if r.breaks)
        summary = report.to_json()
        conn.execute(
            insert(ledger_cutoffs).values(
                acquirer_id=acquirer.id,
                business_date=label,
                timezone=acquirer.timezone,
                window_start=window_start,
                window_end=window_end,
                status="done",
                summary=summary,
                completed_at=at,
            )
        )
        reports.append(report)
    return reports
