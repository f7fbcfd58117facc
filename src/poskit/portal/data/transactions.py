"""Transactions as the merchant sees them: filtered lists, one transaction in full, CSV.

Only the masked card number ever leaves here. Every query is limited by the
user's tenant scope (:func:`poskit.portal.scope.merchant_filter`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.engine import Connection

from poskit.money import Amount, AmountError, currency
from poskit.portal.accounts import PortalUser
from poskit.portal.data.signatures import needs_signature, no_signature_reason, signed_transaction_ids
from poskit.portal.scope import get_transaction, merchant_filter
from poskit.store.schema import fee_lines, fee_schedules, merchants, terminals, transactions

__all__ = [
    "LISTED_TYPES",
    "PAYMENT_TYPES",
    "REFUND_TYPES",
    "FilterError",
    "TxnFilter",
    "TxnPage",
    "csv_rows",
    "fee_breakdown",
    "iter_transactions",
    "list_transactions",
    "related_transactions",
    "transaction_detail",
    "write_csv",
]

#: Types that bring money in for the merchant.
PAYMENT_TYPES = ("sale", "completion", "completion_advice", "offline_sale_advice")
#: Types that pay money back to the cardholder.
REFUND_TYPES = ("refund",)
#: Everything listed on the transactions page; reversals and balance enquiries are shown
#: on the detail page of the transaction they belong to.
LISTED_TYPES = (*PAYMENT_TYPES, *REFUND_TYPES, "void", "preauth", "preauth_void", "completion_void")

_TERMINAL_RE = re.compile(r"^[A-Za-z0-9]{1,8}$")
_RESULT_RE = re.compile(r"^[a-z_]{1,16}$")
_RRN_RE = re.compile(r"^[0-9A-Za-z]{1,12}$")


class FilterError(ValueError):
    """A transaction filter value that cannot be used."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(f"filter {field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class TxnFilter:
    """What to show; dates are calendar days in the acquirer's time zone, inclusive."""

    date_from: date | None = None
    date_to: date | None = None
    terminal: str | None = None
    result: str | None = None
    last4: str | None = None
    amount_min: int | None = None  # minor units
    amount_max: int | None = None
    rrn: str | None = None
    merchant_id: int | None = None  # acquirer staff narrowing to one merchant
    txn_type: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str | None], *, currency_code: str = "CNY") -> TxnFilter:
        """Build a filter from query-string text; raises :class:`FilterError` naming the field."""

        def text(name: str) -> str | None:
            value = params.get(name)
            return value.strip() if value and value.strip() else None

        def day(name: str) -> date | None:
            value = text(name)
            if value is None:
                return None
            try:
                found = date.fromisoformat(value)
            except ValueError:
                raise FilterError(name, value, "expected a date as YYYY-MM-DD") from None
            if not 1970 <= found.year <= 2999:
                raise FilterError(name, value, "expected a date as YYYY-MM-DD")
            return found

        def money(name: str) -> int | None:
            value = text(name)
            if value is None:
                return None
            try:
                return Amount.parse(value, currency_code).minor
            except AmountError as exc:
                raise FilterError(name, value, exc.reason) from None

        def pattern(name: str, regex: re.Pattern[str], reason: str) -> str | None:
            value = text(name)
            if value is not None and not regex.match(value):
                raise FilterError(name, value, reason)
            return value

        last4 = text("last4")
        if last4 is not None and not (last4.isdigit() and len(last4) == 4):
            raise FilterError("last4", last4, "expected the last 4 digits of the card")
        merchant = text("merchant")
        if merchant is not None and not (merchant.isdigit() and len(merchant) <= 9):
            raise FilterError("merchant", merchant, "expected a merchant id")
        found = cls(
            date_from=day("date_from"),
            date_to=day("date_to"),
            terminal=pattern("terminal", _TERMINAL_RE, "expected a terminal id (up to 8 letters or digits)"),
            result=pattern("result", _RESULT_RE, "unknown result"),
            last4=last4,
            amount_min=money("amount_min"),
            amount_max=money("amount_max"),
            rrn=pattern("rrn", _RRN_RE, "expected a reference number (up to 12 letters or digits)"),
            merchant_id=int(merchant) if merchant else None,
            txn_type=pattern("type", _RESULT_RE, "unknown transaction type"),
        )
        if found.date_from and found.date_to and found.date_from > found.date_to:
            raise FilterError("date_to", str(found.date_to), "the end date is before the start date")
        return found

    def query_params(self) -> dict[str, str]:
        """The filter back as query-string values (for CSV links and paging)."""
        out: dict[str, str] = {}
        for key, value in (
            ("date_from", self.date_from),
            ("date_to", self.date_to),
            ("terminal", self.terminal),
            ("result", self.result),
            ("last4", self.last4),
            ("rrn", self.rrn),
            ("merchant", self.merchant_id),
            ("type", self.txn_type),
        ):
            if value is not None:
                out[key] = str(value)
        for key, minor in (("amount_min", self.amount_min), ("amount_max", self.amount_max)):
            if minor is not None:
                out[key] = Amount.of(minor, "CNY").plain()
        return out

    def clauses(self, tz: ZoneInfo) -> list[ColumnElement[bool]]:
        c = transactions.c
        out: list[ColumnElement[bool]] = []
        if self.date_from:
            out.append(c.received_at >= _day_start(self.date_from, tz))
        if self.date_to:
            out.append(c.received_at < _day_start(self.date_to + timedelta(days=1), tz))
        if self.terminal:
            out.append(c.terminal_id == self.terminal)
        if self.result:
            out.append(c.status == self.result)
        if self.last4:
            out.append(c.pan_masked.like(f"%{self.last4}"))
        if self.amount_min is not None:
            out.append(c.amount >= self.amount_min)
        if self.amount_max is not None:
            out.append(c.amount <= self.amount_max)
        if self.rrn:
            out.append(c.rrn == self.rrn)
        if self.merchant_id is not None:
            out.append(c.merchant_id == self.merchant_id)
        if self.txn_type:
            out.append(c.txn_type == self.txn_type)
        return out


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


@dataclasses.dataclass(frozen=True)
class TxnPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _base_query(
    user: PortalUser, flt: TxnFilter, tz: ZoneInfo, extra: Sequence[ColumnElement[bool]] = ()
) -> Select[Any]:
    return (
        select(
            transactions,
            merchants.c.merchant_no,
            merchants.c.name.label("merchant_name"),
        )
        .select_from(transactions.outerjoin(merchants, transactions.c.merchant_id == merchants.c.id))
        .where(
            merchant_filter(user, transactions.c.merchant_id),
            transactions.c.txn_type.in_(LISTED_TYPES),
            *flt.clauses(tz),
            *extra,
        )
    )


def _row(r: Mapping[str, Any], signed: set[int]) -> dict[str, Any]:
    row = dict(r)
    row.pop("pan_token", None)  # never leaves the data layer
    row.pop("pan_hash", None)
    row["net"] = row["amount"] - row["fee"] if row["txn_type"] in PAYMENT_TYPES else row["amount"]
    row["needs_signature"] = needs_signature(row)
    row["no_signature_reason"] = no_signature_reason(row)
    row["signed"] = row["id"] in signed
    return row


def list_transactions(
    conn: Connection,
    user: PortalUser,
    flt: TxnFilter,
    *,
    tz: ZoneInfo,
    page: int = 1,
    page_size: int = 50,
    extra: Sequence[ColumnElement[bool]] = (),
) -> TxnPage:
    """One page of the user's transactions matching ``flt`` (and ``extra`` clauses), newest first."""
    base = _base_query(user, flt, tz, extra)
    total = int(conn.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    page = max(1, page)
    rows = list(
        conn.execute(
            base.order_by(transactions.c.received_at.desc(), transactions.c.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
    )
    signed = signed_transaction_ids(conn, [r["id"] for r in rows])
    return TxnPage([_row(dict(r), signed) for r in rows], total, page, page_size)


def iter_transactions(
    conn: Connection, user: PortalUser, flt: TxnFilter, *, tz: ZoneInfo, limit: int = 100_000
) -> Iterator[dict[str, Any]]:
    query = _base_query(user, flt, tz).order_by(transactions.c.received_at, transactions.c.id).limit(limit)
    batch: list[Mapping[str, Any]] = []
    for r in conn.execute(query).mappings():
        batch.append(dict(r))
        if len(batch) >= 500:
            signed = signed_transaction_ids(conn, [b["id"] for b in batch])
            yield from (_row(b, signed) for b in batch)
            batch = []
    if batch:
        signed = signed_transaction_ids(conn, [b["id"] for b in batch])
        yield from (_row(b, signed) for b in batch)


CSV_HEADER = (
    "id",
    "local_time",
    "merchant_no",
    "terminal_id",
    "type",
    "card",
    "entry_mode",
    "currency",
    "amount",
    "fee",
    "net",
    "status",
    "response_code",
    "rrn",
    "auth_code",
    "batch",
    "voucher",
    "signature",
)


def _safe(text: str | None) -> str:
    """Spreadsheet formula injection guard for free-text cells."""
    value = text or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_rows(rows: Iterator[dict[str, Any]], tz: ZoneInfo) -> Iterator[list[str]]:
    yield list(CSV_HEADER)
    for r in rows:
        cur = currency(r["currency"])
        signature = "signed" if r["signed"] else ("missing" if r["needs_signature"] else "not_required")
        yield [
            str(r["id"]),
            r["received_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            r["merchant_no"] or "",
            _safe(r["terminal_id"]),
            r["txn_type"],
            r["pan_masked"] or "",
            r["entry_mode"] or "",
            cur.code,
            Amount(r["amount"], cur).plain(),
            Amount(r["fee"], cur).plain(),
            Amount(r["net"], cur).plain(),
            r["status"],
            r["response_code"],
            r["rrn"] or "",
            r["auth_code"] or "",
            str(r["batch_no"]),
            f"{r['stan']:06d}",
            signature,
        ]


def write_csv(rows: Iterator[list[str]]) -> Iterator[str]:
    """CSV text in chunks, with a BOM so spreadsheet programs read the UTF-8 (Chinese) right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff"
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def fee_breakdown(conn: Connection, txn_id: int) -> list[dict[str, Any]]:
    """The fee lines of a transaction with the contract version and formula that produced them."""
    rows = conn.execute(
        select(fee_lines, fee_schedules.c.description.label("schedule_description"))
        .select_from(fee_lines.join(fee_schedules, fee_lines.c.schedule_id == fee_schedules.c.id))
        .where(fee_lines.c.transaction_id == txn_id)
        .order_by(fee_lines.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def related_transactions(conn: Connection, txn: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The original this transaction refers to and every transaction that refers to it.

    Same merchant only: a link never leads across tenants.
    """
    c = transactions.c
    conditions = [c.original_id == txn["id"]]
    if txn["original_id"] is not None:
        conditions.append(c.id == txn["original_id"])
    rows = conn.execute(
        select(c.id, c.txn_type, c.status, c.amount, c.currency, c.received_at, c.rrn, c.stan, c.original_id)
        .where(or_(*conditions), and_(c.merchant_id == txn["merchant_id"], c.id != txn["id"]))
        .order_by(c.received_at, c.id)
    ).mappings()
    out = []
    for r in rows:
        row = dict(r)
        row["relation"] = "original" if r["id"] == txn["original_id"] else r["txn_type"]
        out.append(row)
    return out


def transaction_detail(conn: Connection, user: PortalUser, txn_id: int) -> dict[str, Any]:
    """One transaction with its merchant, terminal, fee lines and related transactions (404 if not yours)."""
    raw = get_transaction(conn, user, txn_id)
    signed = signed_transaction_ids(conn, [txn_id])
    txn = _row(raw, signed)
    merchant = conn.execute(select(merchants).where(merchants.c.id == raw["merchant_id"])).mappings().first()
    terminal = (
        conn.execute(select(terminals).where(terminals.c.terminal_id == raw["terminal_id"]))
        .mappings()
        .first()
    )
    txn["merchant_no"] = merchant["merchant_no"] if merchant else None
    txn["merchant_name"] = merchant["name"] if merchant else None
    return {
        "txn": txn,
        "merchant": dict(merchant) if merchant else None,
        "terminal": dict(terminal) if terminal else None,
        "fees": fee_breakdown(conn, txn_id),
        "related": related_transactions(conn, raw),
    }
