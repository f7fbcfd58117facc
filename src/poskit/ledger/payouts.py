"""Payouts: T+1 at each cut-off, D0 (instant, 秒到) on request, and the bank payout file.

A T+1 payout pays a merchant what its payable account holds at the cut-off — sales
net of their fees, less refunds, reversals, periodic fees and dispute holds, plus
upheld dispute refunds — so nothing is netted twice and a negative balance is simply
carried to the next day. The payout journal is dated at the cut-off instant (its value
date), which keeps every day's payout independent of when the cut-off job ran.

A D0 payout pays today's not-yet-settled sales at once and charges the contract's D0
fee per transaction (fee lines with their formula). Its items are settled D0, so the
next cut-off skips them.

Portal helper API: :func:`request_d0_payout`, :func:`d0_quote`, :func:`list_payouts`,
:func:`payout_file_rows`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from poskit.ledger.accounts import ensure_account, merchant_payable, payouts_clearing
from poskit.ledger.balances import merchant_available
from poskit.ledger.directory import AcquirerInfo, business_date_of, business_window, merchant_info
from poskit.ledger.events import FeeCharge, post_fee_charges
from poskit.ledger.fees import NoFeeScheduleError, quote_fee, schedule_in_force
from poskit.ledger.merchant_changes import settlement_account_in_force
from poskit.ledger.negation import undone
from poskit.ledger.posting import Line, post_journal
from poskit.money import Amount
from poskit.store.db import inserted_id
from poskit.store.schema import journal_entries, ledger_accounts, ledger_entries, merchants
from poskit.store.schema_ledger import ledger_rollups, merchant_change_requests, payouts, settlement_items

__all__ = [
    "D0NotAvailableError",
    "D0Quote",
    "NothingToPayError",
    "Payout",
    "d0_quote",
    "list_payouts",
    "payout_file_rows",
    "payout_of_item",
    "render_payout_csv",
    "request_d0_payout",
    "run_t1_payouts",
    "write_payout_file",
]

#: Journals posted at the very instant of a D0 request belong to it.
_EPSILON = timedelta(microseconds=1)

PAYOUT_FILE_COLUMNS = (
    "value_date",
    "payout_id",
    "reference",
    "kind",
    "merchant_no",
    "merchant_name",
    "account_name",
    "bank",
    "account_no",
    "currency",
    "amount",
    "d0_fee",
)


class D0NotAvailableError(ValueError):
    """The merchant's contract has no D0 (instant settlement) rule."""

    def __init__(self, merchant_no: str) -> None:
        super().__init__(f"merchant {merchant_no} has no D0 instant settlement in its contract")
        self.merchant_no = merchant_no


class NothingToPayError(ValueError):
    """No unsettled funds (or not enough to cover the D0 fee)."""

    def __init__(self, merchant_no: str, available: int, fee: int, currency: str) -> None:
        super().__init__(
            f"merchant {merchant_no}: nothing to pay out D0 (available {Amount.of(available, currency)}, "
            f"D0 fee {Amount.of(fee, currency)})"
        )
        self.merchant_no = merchant_no
        self.available = available
        self.fee = fee


@dataclasses.dataclass(frozen=True, slots=True)
class Payout:
    id: int
    idempotency_key: str
    merchant_id: int
    kind: str  # t1 | d0
    business_date: str
    value_at: datetime
    amount: int
    fee: int
    currency: str
    account_no: str
    bank: str
    account_name: str
    status: str

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["value_at"] = self.value_at.isoformat()
        data["amount_display"] = Amount.of(self.amount, self.currency).plain()
        return data


def payout_of_item(conn: Connection, item: Any) -> Payout | None:
    """The payout that paid a settlement item: its D0 payout, else the merchant's first T+1 payout
    on or after the item's business date (a debit balance carries items to a later payout)."""
    if item["payout_id"] is not None:
        row = conn.execute(select(payouts).where(payouts.c.id == item["payout_id"])).mappings().first()
        return _payout(row) if row else None
    row = (
        conn.execute(
            select(payouts)
            .where(
                payouts.c.merchant_id == item["merchant_id"],
                payouts.c.currency == item["currency"],
                payouts.c.kind == "t1",
                payouts.c.business_date >= item["business_date"],
            )
            .order_by(payouts.c.business_date)
            .limit(1)
        )
        .mappings()
        .first()
    )
    return _payout(row) if row else None


def _payout(row: Any) -> Payout:
    return Payout(**{f.name: row[f.name] for f in dataclasses.fields(Payout)})


def _insert_payout(conn: Connection, **values: Any) -> Payout:
    payout_id = inserted_id(conn.execute(insert(payouts).values(status="instructed", **values)))
    return _payout(conn.execute(select(payouts).where(payouts.c.id == payout_id)).mappings().one())


def run_t1_payouts(
    conn: Connection, *, acquirer: AcquirerInfo, business_date: str, value_at: datetime, now: datetime
) -> list[Payout]:
    """Pay every merchant of the acquirer its positive payable balance at the cut-off ``value_at``.

    Set-based, so thousands of merchants cost a handful of statements: balances come from the
    roll-ups written at that cut-off and journals, entries and payouts are inserted in bulk.
    Idempotent: merchants already paid for ``business_date`` are skipped. A T+1 item is paid by
    its merchant's first T+1 payout on or after its business date (:func:`payout_of_item`); it
    is not updated, so a million items cost no extra write.
    """
    paid_already = select(payouts.c.merchant_id).where(
        payouts.c.business_date == business_date, payouts.c.kind == "t1"
    )
    owed = conn.execute(
        select(
            ledger_accounts.c.id.label("account_id"),
            ledger_accounts.c.merchant_id,
            ledger_accounts.c.currency,
            merchants.c.merchant_no,
            merchants.c.name,
            merchants.c.settlement_account,
            merchants.c.settlement_bank,
            (-ledger_rollups.c.closing_balance).label("amount"),
        )
        .select_from(
            ledger_rollups.join(ledger_accounts, ledger_accounts.c.id == ledger_rollups.c.account_id).join(
                merchants, merchants.c.id == ledger_accounts.c.merchant_id
            )
        )
        .where(
            ledger_rollups.c.period_end == value_at,
            ledger_rollups.c.closing_balance < 0,  # a debit balance is carried to the next day
            ledger_accounts.c.code.like("merchant_payable:%"),
            merchants.c.acquirer_id == acquirer.id,
            merchants.c.id.not_in(paid_already),
        )
        .order_by(merchants.c.merchant_no, ledger_accounts.c.currency)
    ).all()
    if not owed:
        return []
    # Merchants with change requests are asked which account was in force; the rest use their record.
    changed = set(
        conn.execute(
            select(merchant_change_requests.c.merchant_id)
            .where(merchant_change_requests.c.status.in_(("approved", "applied")))
            .distinct()
        ).scalars()
    )
    accounts: dict[int, tuple[str, str, str]] = {}
    for row in owed:
        if row.merchant_id in changed:
            acct = settlement_account_in_force(conn, row.merchant_id, value_at)
            accounts[row.merchant_id] = (acct.account_no, acct.bank, acct.account_name)
        else:
            accounts[row.merchant_id] = (row.settlement_account, row.settlement_bank, row.name)
    banks = {cur: ensure_account(conn, payouts_clearing(cur), now=now) for cur in {r.currency for r in owed}}
    keys = {r.account_id: f"payout:t1:{r.merchant_no}:{r.currency}:{business_date}" for r in owed}
    journal_rows = [
        {
            "idempotency_key": keys[r.account_id],
            "kind": "payout",
            "merchant_id": r.merchant_id,
            "description": f"T+1 payout {business_date} to {accounts[r.merchant_id][1]} "
            f"{accounts[r.merchant_id][0][-4:]}"[:200],
            "currency": r.currency,
            "posted_at": value_at,
        }
        for r in owed
    ]
    journal_ids = (
        conn.execute(
            insert(journal_entries).returning(journal_entries.c.id, sort_by_parameter_order=True),
            journal_rows,
        )
        .scalars()
        .all()
    )
    entries = []
    for r, jid in zip(owed, journal_ids, strict=True):
        entries.append(
            {"journal_id": jid, "account_id": r.account_id, "amount": int(r.amount), "currency": r.currency}
        )
        entries.append(
            {
                "journal_id": jid,
                "account_id": banks[r.currency],
                "amount": -int(r.amount),
                "currency": r.currency,
            }
        )
    conn.execute(insert(ledger_entries), entries)
    payout_rows = [
        {
            "idempotency_key": keys[r.account_id],
            "merchant_id": r.merchant_id,
            "acquirer_id": acquirer.id,
            "kind": "t1",
            "business_date": business_date,
            "value_at": value_at,
            "amount": int(r.amount),
            "fee": 0,
            "currency": r.currency,
            "account_no": accounts[r.merchant_id][0],
            "bank": accounts[r.merchant_id][1],
            "account_name": accounts[r.merchant_id][2][:80],
            "status": "instructed",
            "journal_id": jid,
            "created_at": now,
        }
        for r, jid in zip(owed, journal_ids, strict=True)
    ]
    payout_ids = (
        conn.execute(insert(payouts).returning(payouts.c.id, sort_by_parameter_order=True), payout_rows)
        .scalars()
        .all()
    )
    return [
        Payout(
            id=int(pid),
            idempotency_key=row["idempotency_key"],
            merchant_id=row["merchant_id"],
            kind="t1",
            business_date=business_date,
            value_at=value_at,
            amount=row["amount"],
            fee=0,
            currency=row["currency"],
            account_no=row["account_no"],
            bank=row["bank"],
            account_name=row["account_name"],
            status="instructed",
        )
        for pid, row in zip(payout_ids, payout_rows, strict=True)
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class D0Quote:
    """What a D0 request would pay now: the journals it settles and the fee it costs."""

    merchant_id: int
    currency: str
    journal_ids: tuple[int, ...]
    sales: tuple[tuple[int, int], ...]  # (transaction id, amount) of each sale charged the D0 fee
    net: int  # net of the settled journals, capped by the payable balance
    fee: int
    amount: int  # net - fee
    fee_formula: str


def d0_quote(conn: Connection, merchant_id: int, *, now: datetime | None = None) -> D0Quote:
    """Price a D0 payout of today's unsettled sales without making it (for the portal's button)."""
    at = now or datetime.now(UTC)
    merchant = merchant_info(conn, merchant_id)
    try:
        schedule = schedule_in_force(conn, merchant_id, at)
    except NoFeeScheduleError:
        raise D0NotAvailableError(merchant.merchant_no) from None
    rule = schedule.rule("d0_settlement")
    if rule is None:
        raise D0NotAvailableError(merchant.merchant_no)
    day_start, _ = business_window(
        business_date_of(at, merchant.acquirer.timezone), merchant.acquirer.timezone
    )
    from poskit.ledger.settlement import unsettled_money_journals

    journals = unsettled_money_journals(conn, merchant_id=merchant_id, start=day_start, end=at + _EPSILON)
    # reversed or voided sales net to zero with their undoing journals and cost no D0 fee
    gone = set(
        conn.execute(
            select(journal_entries.c.id).where(
                journal_entries.c.id.in_([int(j["journal_id"]) for j in journals]), undone(journal_entries)
            )
        ).scalars()
    )
    sales = tuple(
        (int(j["transaction_id"]), int(j["gross"]))
        for j in journals
        if j["gross"] > 0 and j["net"] > 0 and j["journal_id"] not in gone
    )
    net = sum(int(j["net"]) for j in journals)
    net = min(net, merchant_available(conn, merchant.merchant_no, merchant.currency, at=None))
    quotes = [
        quote_fee(schedule, "d0_settlement", Amount.of(amount, merchant.currency)) for _, amount in sales
    ]
    fee = sum(q.fee.minor for q in quotes)
    formula = f"{len(quotes)} x {quotes[0].formula}" if quotes else "no sales to settle"
    return D0Quote(
        merchant_id,
        merchant.currency,
        tuple(int(j["journal_id"]) for j in journals),
        sales,
        net,
        fee,
        net - fee,
        formula,
    )


def request_d0_payout(
    conn: Connection,
    merchant_id: int,
    *,
    now: datetime | None = None,
    request_key: str | None = None,
    requested_by: str = "merchant",
) -> Payout:
    """Pay today's unsettled sales now, less the D0 fee per transaction.

    ``request_key`` makes a retried request (double click, network retry) pay once.
    Raises :class:`D0NotAvailableError` or :class:`NothingToPayError`.
    """
    at = now or datetime.now(UTC)
    merchant = merchant_info(conn, merchant_id)
    key = f"payout:d0:{merchant.merchant_no}:{request_key or at.isoformat()}"[:80]
    existing = conn.execute(select(payouts).where(payouts.c.idempotency_key == key)).mappings().first()
    if existing is not None:
        return _payout(existing)
    quote = d0_quote(conn, merchant_id, now=at)
    if not quote.journal_ids or quote.amount <= 0:
        raise NothingToPayError(merchant.merchant_no, quote.net, quote.fee, merchant.currency)
    schedule = schedule_in_force(conn, merchant_id, at)
    label = business_date_of(at, merchant.acquirer.timezone).isoformat()
    fee_journal = post_fee_charges(
        conn,
        key=f"{key}:fee"[:80],
        merchant_id=merchant_id,
        merchant_no=merchant.merchant_no,
        currency=merchant.currency,
        charges=[
            FeeCharge(quote_fee(schedule, "d0_settlement", Amount.of(amount, merchant.currency)), txn_id)
            for txn_id, amount in quote.sales
        ],
        at=at,
        kind="d0_fee",
        description=f"D0 instant settlement fee: {quote.fee_formula}"[:200],
    )
    account = settlement_account_in_force(conn, merchant_id, at)
    journal_id = post_journal(
        conn,
        key=key,
        kind="payout",
        currency=merchant.currency,
        merchant_id=merchant_id,
        now=at,
        description=f"D0 payout requested by {requested_by} to {account.bank} {account.account_no[-4:]}",
        lines=[
            Line(merchant_payable(merchant_id, merchant.merchant_no, merchant.currency), quote.amount),
            Line(payouts_clearing(merchant.currency), -quote.amount),
        ],
    )
    payout = _insert_payout(
        conn,
        idempotency_key=key,
        merchant_id=merchant_id,
        acquirer_id=merchant.acquirer.id,
        kind="d0",
        business_date=label,
        value_at=at,
        amount=quote.amount,
        fee=quote.fee,
        currency=merchant.currency,
        account_no=account.account_no,
        bank=account.bank,
        account_name=account.account_name,
        journal_id=journal_id,
        fee_journal_id=fee_journal,
        created_at=at,
    )
    from poskit.ledger.settlement import create_settlement_items

    create_settlement_items(
        conn,
        acquirer_id=merchant.acquirer.id,
        business_date=label,
        start=None,
        end=at + _EPSILON,
        now=at,
        mode="d0",
        merchant_id=merchant_id,
        journal_ids=quote.journal_ids,
    )
    conn.execute(
        update(settlement_items)
        .where(settlement_items.c.journal_id.in_(quote.journal_ids), settlement_items.c.mode == "d0")
        .values(payout_id=payout.id)
    )
    return payout


def list_payouts(
    conn: Connection,
    *,
    merchant_id: int | None = None,
    business_date: str | None = None,
    acquirer_id: int | None = None,
    limit: int = 1000,
) -> list[Payout]:
    query = select(payouts).order_by(payouts.c.business_date.desc(), payouts.c.id.desc()).limit(limit)
    if merchant_id is not None:
        query = query.where(payouts.c.merchant_id == merchant_id)
    if business_date is not None:
        query = query.where(payouts.c.business_date == business_date)
    if acquirer_id is not None:
        query = query.where(payouts.c.acquirer_id == acquirer_id)
    return [_payout(r) for r in conn.execute(query).mappings()]


def payout_file_rows(conn: Connection, *, acquirer_id: int, business_date: str) -> list[dict[str, str]]:
    """The bank payout file of one acquirer's business date, one row per payout (stable order)."""
    rows = conn.execute(
        select(payouts, merchants.c.merchant_no, merchants.c.name.label("merchant_name"))
        .select_from(payouts.join(merchants, merchants.c.id == payouts.c.merchant_id))
        .where(and_(payouts.c.acquirer_id == acquirer_id, payouts.c.business_date == business_date))
        .order_by(payouts.c.id)
    ).mappings()
    out = []
    for r in rows:
        out.append(
            {
                "value_date": r["value_at"].isoformat(),
                "payout_id": str(r["id"]),
                "reference": r["idempotency_key"],
                "kind": r["kind"],
                "merchant_no": r["merchant_no"],
                "merchant_name": r["merchant_name"],
                "account_name": r["account_name"],
                "bank": r["bank"],
                "account_no": r["account_no"],
                "currency": r["currency"],
                "amount": Amount.of(r["amount"], r["currency"]).plain(),
                "d0_fee": Amount.of(r["fee"], r["currency"]).plain(),
            }
        )
    return out


def render_payout_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PAYOUT_FILE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_payout_file(
    conn: Connection, *, acquirer: AcquirerInfo, business_date: str, directory: Path
) -> Path:
    """Write ``payouts-<acquirer>-<date>.csv``; the same data always gives the same bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"payouts-{acquirer.code}-{business_date}.csv"
    text = render_payout_csv(payout_file_rows(conn, acquirer_id=acquirer.id, business_date=business_date))
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
