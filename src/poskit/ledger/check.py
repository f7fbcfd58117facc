"""``poskit ledger check``: prove the books are whole, or name every break.

Checks, each one set-based SQL over the whole ledger:

* every journal balances (its entries sum to zero) in its own currency;
* every approved money transaction has its journal, no approved one is reversed in the
  ledger, every reversed or voided one is negated, and nothing is negated twice;
* every money journal before the last cut-off is settled (exactly one settlement item,
  guaranteed unique) and each item matches its journal; each payout matches its journal;
* balances equal the sum of entries: roll-ups are contiguous per account, each roll-up's
  movement equals the entries of its period, and each closing balance chains from the last;
* every merchant's monthly statement adds up: its summary rows sum to its net, and opening +
  net - paid out equals closing.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from poskit.ledger.balances import tune_for_bulk
from poskit.ledger.directory import merchant_info
from poskit.ledger.negation import undo_counts
from poskit.ledger.statements import build_statement, summary_gaps
from poskit.store.schema import journal_entries, ledger_accounts, ledger_entries, merchants, transactions
from poskit.store.schema_ledger import ledger_cutoffs, ledger_rollups, payouts, settlement_items

__all__ = ["MONEY_TYPES", "Break", "CheckReport", "check_ledger"]

#: Transaction types that move money (or hold it) and so must have a journal when approved.
MONEY_TYPES = ("sale", "completion", "completion_advice", "offline_sale_advice", "refund", "preauth")
#: Statuses of records that are not (or no longer) approved money.
_NOT_APPROVED = ("declined", "reversed", "voided", "cancelled", "orphan", "noop")
_REVERSED = ("reversed", "voided")


@dataclasses.dataclass(frozen=True, slots=True)
class Break:
    kind: str
    subject: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class CheckReport:
    breaks: list[Break]
    counts: dict[str, int]  # break kind -> how many (the list is capped per kind)
    stats: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.counts

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "breaks": [b.to_json() for b in self.breaks],
            "counts": self.counts,
            "stats": self.stats,
        }


class _Collector:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.breaks: list[Break] = []
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, kind: str, subject: str, detail: str) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= self.limit:
            self.breaks.append(Break(kind, subject, detail))


def check_ledger(conn: Connection, *, limit_per_kind: int = 200) -> CheckReport:
    """Run every check; the report lists each break (up to ``limit_per_kind`` of each kind)."""
    tune_for_bulk(conn)
    out = _Collector(limit_per_kind)
    _journals_balance(conn, out)
    _transactions_posted_once(conn, out)
    _settled_once(conn, out)
    _payouts_match(conn, out)
    rollups = _rollups_consistent(conn, out)
    statements = _statements_add_up(conn, out)
    stats = {
        "journals": int(conn.execute(select(func.count()).select_from(journal_entries)).scalar_one()),
        "entries": int(conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()),
        "accounts": int(conn.execute(select(func.count()).select_from(ledger_accounts)).scalar_one()),
        "transactions": int(conn.execute(select(func.count()).select_from(transactions)).scalar_one()),
        "settlement_items": int(
            conn.execute(select(func.count()).select_from(settlement_items)).scalar_one()
        ),
        "rollups": rollups,
        "statements": statements,
    }
    return CheckReport(out.breaks, dict(out.counts), stats)


def _journals_balance(conn: Connection, out: _Collector) -> None:
    """One pass over the entries: each journal sums to zero and every entry is in its journal's currency."""
    e, j = ledger_entries, journal_entries
    foreign = func.sum(case((e.c.currency != j.c.currency, 1), else_=0))
    rows = conn.execute(
        select(
            j.c.id.label("journal_id"),
            j.c.idempotency_key,
            j.c.currency,
            func.sum(e.c.amount).label("total"),
            foreign.label("foreign"),
            func.max(e.c.currency).label("other"),
        )
        .select_from(e.join(j))
        .group_by(j.c.id)  # the journal's other columns depend on its key
        .having(or_(func.sum(e.c.amount) != 0, foreign > 0))
        .order_by(j.c.id)
    ).all()
    for r in rows:
        subject = f"journal {r.journal_id} {r.idempotency_key}"
        if r.total != 0:
            out.add("journal_unbalanced", subject, f"entries sum to {r.total}, expected 0")
        if r.foreign:
            out.add(
                "journal_currency_mixed", subject, f"journal in {r.currency} has entries in another currency"
            )


def _journal_keys(conn: Connection, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(
        select(journal_entries.c.id, journal_entries.c.idempotency_key).where(journal_entries.c.id.in_(ids))
    )
    return {r.id: r.idempotency_key for r in rows}


def _txn_subject(row: Any) -> str:
    return f"transaction {row.id}" + (f" rrn {row.rrn}" if row.rrn else "")


def _transactions_posted_once(conn: Connection, out: _Collector) -> None:
    """Each transaction's journals agree with its status (see :mod:`poskit.ledger.negation`)."""
    j = journal_entries
    key = j.c.idempotency_key
    principal = and_(
        j.c.transaction_id.is_not(None),
        key.like("txn:%"),
        ~key.like("%:negated-by:%"),
    )
    counts = undo_counts()
    per_journal = (
        select(j.c.id, j.c.transaction_id, func.coalesce(counts.c.undos, 0).label("undos"))
        .select_from(j.outerjoin(counts, counts.c.journal_id == j.c.id))
        .where(principal)
        .subquery()
    )
    per_txn = (
        select(
            per_journal.c.transaction_id,
            func.count().label("principals"),
            func.sum(case((per_journal.c.undos > 0, 1), else_=0)).label("undone"),
            func.max(per_journal.c.undos).label("max_undos"),
        )
        .group_by(per_journal.c.transaction_id)
        .subquery()
    )
    # hold releases, by the cancel or completion that made them (or, older form, the pre-auth itself)
    actor = transactions.alias("actor")
    releases = (
        select(
            func.coalesce(actor.c.original_id, actor.c.id).label("root"),
            func.count().label("releases"),
        )
        .select_from(j.join(actor, actor.c.id == j.c.transaction_id))
        .where(key.like("txn:%:release:%"), ~key.like("%:negated-by:%"), actor.c.status != "reversed")
        .group_by(func.coalesce(actor.c.original_id, actor.c.id))
        .subquery()
    )
    t = transactions
    principals = func.coalesce(per_txn.c.principals, 0)
    undone_count = func.coalesce(per_txn.c.undone, 0)
    released = func.coalesce(releases.c.releases, 0)
    approved = and_(t.c.response_code == "00", t.c.status.not_in(_NOT_APPROVED))
    rows = conn.execute(
        select(
            t.c.id,
            t.c.rrn,
            t.c.txn_type,
            t.c.status,
            t.c.response_code,
            principals.label("principals"),
            undone_count.label("undone"),
            func.coalesce(per_txn.c.max_undos, 0).label("max_undos"),
            released.label("releases"),
        )
        .select_from(
            t.outerjoin(per_txn, per_txn.c.transaction_id == t.c.id).outerjoin(
                releases, releases.c.root == t.c.id
            )
        )
        .where(
            or_(
                and_(approved, t.c.txn_type.in_(MONEY_TYPES), principals == 0),
                and_(approved, undone_count > 0),
                and_(t.c.status.in_(_REVERSED), principals > undone_count),
                and_(t.c.status.in_(("completed", "cancelled")), released == 0),
                per_txn.c.max_undos > 1,
                and_(t.c.response_code != "00", principals > 0),
            )
        )
        .order_by(t.c.id)
    ).all()
    for r in rows:
        subject = _txn_subject(r)
        if r.max_undos > 1:
            out.add(
                "reversed_twice", subject, f"a journal of this {r.txn_type} is undone {r.max_undos} times"
            )
        if r.response_code != "00" and r.principals > 0:
            out.add(
                "journal_on_declined",
                subject,
                f"declined ({r.response_code}) but {r.principals} journal(s) posted",
            )
        elif r.status in _REVERSED and r.principals > r.undone:
            out.add(
                "reversal_not_posted",
                subject,
                f"{r.txn_type} is {r.status} but {r.principals - r.undone} journal(s) are not undone",
            )
        elif r.status in ("completed", "cancelled") and r.releases == 0:
            out.add(
                "hold_not_released", subject, f"pre-authorisation is {r.status} but its hold was not released"
            )
        elif r.status not in _NOT_APPROVED and r.principals == 0:
            out.add("approved_without_journal", subject, f"approved {r.txn_type} has no ledger journal")
        elif r.status not in _NOT_APPROVED and r.undone > 0:
            out.add("approved_but_undone", subject, f"{r.txn_type} is {r.status} but the ledger undid it")


def _settled_once(conn: Connection, out: _Collector) -> None:
    j, e, a = journal_entries, ledger_entries, ledger_accounts
    payable = a.c.code.like("merchant_payable:%")
    for cut in conn.execute(
        select(ledger_cutoffs.c.acquirer_id, func.max(ledger_cutoffs.c.window_end).label("end")).group_by(
            ledger_cutoffs.c.acquirer_id
        )
    ).all():
        rows = conn.execute(
            select(j.c.id, j.c.idempotency_key, j.c.posted_at)
            .select_from(j.join(merchants, merchants.c.id == j.c.merchant_id))
            .where(
                merchants.c.acquirer_id == cut.acquirer_id,
                j.c.idempotency_key.like("txn:%"),
                j.c.posted_at < cut.end,
                ~select(settlement_items.c.id).where(settlement_items.c.journal_id == j.c.id).exists(),
                select(e.c.id).select_from(e.join(a)).where(e.c.journal_id == j.c.id, payable).exists(),
            )
            .order_by(j.c.id)
        ).all()
        for r in rows:
            out.add(
                "unsettled",
                f"journal {r.id} {r.idempotency_key}",
                f"posted {r.posted_at.isoformat()} before the last cut-off but in no settlement",
            )
    mismatched = conn.execute(
        select(
            settlement_items.c.id,
            settlement_items.c.journal_id,
            settlement_items.c.net,
            func.sum(e.c.amount).label("payable"),
        )
        .select_from(settlement_items.join(e, e.c.journal_id == settlement_items.c.journal_id).join(a))
        .where(payable)
        .group_by(settlement_items.c.id, settlement_items.c.journal_id, settlement_items.c.net)
        .having(settlement_items.c.net != -func.sum(e.c.amount))
    ).all()
    for item in mismatched:
        out.add(
            "settlement_item_mismatch",
            f"settlement item {item.id} journal {item.journal_id}",
            f"item nets {item.net} but the journal moved the payable by {-int(item.payable)}",
        )


def _payouts_match(conn: Connection, out: _Collector) -> None:
    e, a = ledger_entries, ledger_accounts
    paid = func.coalesce(
        func.sum(case((a.c.code.like("merchant_payable:%"), e.c.amount), else_=0)), None
    ).label("paid")
    rows = conn.execute(
        select(payouts.c.id, payouts.c.idempotency_key, payouts.c.amount, paid)
        .select_from(
            payouts.outerjoin(e, e.c.journal_id == payouts.c.journal_id).outerjoin(
                a, a.c.id == e.c.account_id
            )
        )
        .group_by(payouts.c.id)
        .having(or_(paid.is_(None), paid != payouts.c.amount))
    ).all()
    for r in rows:
        out.add(
            "payout_mismatch",
            f"payout {r.id} {r.idempotency_key}",
            f"payout of {r.amount} but its journal debited the payable by {r.paid}",
        )


def _rollups_consistent(conn: Connection, out: _Collector) -> int:
    rows = (
        conn.execute(
            select(ledger_rollups, ledger_accounts.c.code)
            .select_from(ledger_rollups.join(ledger_accounts))
            .order_by(ledger_rollups.c.account_id, ledger_rollups.c.period_end)
        )
        .mappings()
        .all()
    )
    by_account: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_account[r["account_id"]].append(r)
    for chain in by_account.values():
        previous_end: datetime | None = None
        closing = 0
        for r in chain:
            subject = f"account {r['code']} roll-up {r['business_date']}"
            if r["period_start"] != previous_end:
                out.add(
                    "rollup_gap", subject, f"starts {r['period_start']} but the previous ended {previous_end}"
                )
            if r["closing_balance"] != closing + r["debits"] + r["credits"]:
                out.add(
                    "rollup_chain",
                    subject,
                    f"closing {r['closing_balance']} != previous {closing}"
                    f" + movement {r['debits'] + r['credits']}",
                )
            previous_end, closing = r["period_end"], r["closing_balance"]
    windows = sorted({(r["period_start"], r["period_end"]) for r in rows}, key=lambda w: (w[1], w[0] or w[1]))
    e, j = ledger_entries, journal_entries
    for start, end in windows:
        query = (
            select(
                e.c.account_id,
                func.sum(case((e.c.amount > 0, e.c.amount), else_=0)).label("debits"),
                func.sum(case((e.c.amount < 0, e.c.amount), else_=0)).label("credits"),
                func.count().label("n"),
            )
            .select_from(e.join(j))
            .where(j.c.posted_at < end)
            .group_by(e.c.account_id)
        )
        if start is not None:
            query = query.where(j.c.posted_at >= start)
        actual = {m.account_id: (int(m.debits), int(m.credits), int(m.n)) for m in conn.execute(query)}
        for r in rows:
            if (r["period_start"], r["period_end"]) != (start, end):
                continue
            got = actual.get(r["account_id"], (0, 0, 0))
            if got != (r["debits"], r["credits"], r["entry_count"]):
                out.add(
                    "rollup_differs_from_entries",
                    f"account {r['code']} roll-up {r['business_date']}",
                    f"roll-up debits/credits/count {r['debits']}/{r['credits']}/{r['entry_count']} "
                    f"but entries give {got[0]}/{got[1]}/{got[2]}",
                )
    return len(rows)


def _months(first: date, last: date) -> list[tuple[date, date]]:
    """(first day, last day) of each calendar month from ``first``'s to ``last``'s."""
    months = []
    month = first.replace(day=1)
    while month <= last:
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        months.append((month, following - timedelta(days=1)))
        month = following
    return months


def _statements_add_up(conn: Connection, out: _Collector) -> int:
    """Every monthly statement of every merchant with ledger movements adds up; returns how many."""
    j = journal_entries
    spans = conn.execute(
        select(j.c.merchant_id, func.min(j.c.posted_at), func.max(j.c.posted_at))
        .where(j.c.merchant_id.is_not(None))
        .group_by(j.c.merchant_id)
        .order_by(j.c.merchant_id)
    ).all()
    built = 0
    for merchant_id, first, last in spans:
        info = merchant_info(conn, merchant_id)
        zone = ZoneInfo(info.acquirer.timezone)
        for start, end in _months(
            _aware(first).astimezone(zone).date(), _aware(last).astimezone(zone).date()
        ):
            statement = build_statement(conn, merchant_id, start, end)
            built += 1
            for gap in summary_gaps(statement):
                out.add("statement_does_not_add_up", f"statement {info.merchant_no} {start:%Y-%m}", gap)
    return built


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive; they are stored in UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
