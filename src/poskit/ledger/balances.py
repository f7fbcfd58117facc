"""Balances derived from entries, with daily roll-ups so reading a balance stays cheap.

Posting never updates a balance row: a hot merchant account is only ever *inserted
into*, so concurrent sales never queue behind one row lock. At each cut-off
:func:`roll_up` writes, for every account, the movement since its previous roll-up and
the closing balance. A balance at any instant is the last roll-up at or before it plus
the entries posted since.

Sign convention: entries are debit-positive, so an asset's balance is positive and a
liability's (what we owe a merchant) is negative; :func:`merchant_available` turns the
merchant payable around into "money the merchant is owed".
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import and_, case, func, insert, or_, select
from sqlalchemy.engine import Connection

from poskit.store.schema import journal_entries, ledger_accounts, ledger_entries
from poskit.store.schema_ledger import ledger_rollups

__all__ = [
    "SQLITE_CACHE_KIB",
    "AccountBalance",
    "account_balance",
    "account_balances",
    "account_id",
    "merchant_available",
    "roll_up",
    "tune_for_bulk",
]


#: Page cache for one bulk ledger job on SQLite (an upper bound, allocated as used): the default
#: 2 MiB makes a million-row cut-off re-read the same index pages from the OS again and again.
SQLITE_CACHE_KIB = 512 * 1024


def tune_for_bulk(conn: Connection) -> None:
    """Give this connection a large SQLite page cache for a cut-off, audit or check (no-op elsewhere)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


@dataclasses.dataclass(frozen=True, slots=True)
class AccountBalance:
    account_id: int
    code: str
    kind: str
    name: str
    currency: str
    merchant_id: int | None
    balance: int  # debit-positive minor units


def account_id(conn: Connection, code: str) -> int | None:
    found = conn.execute(select(ledger_accounts.c.id).where(ledger_accounts.c.code == code)).scalar()
    return int(found) if found is not None else None


def _last_rollup(conn: Connection, account: int, at: datetime | None) -> tuple[datetime | None, int]:
    query = select(ledger_rollups.c.period_end, ledger_rollups.c.closing_balance).where(
        ledger_rollups.c.account_id == account
    )
    if at is not None:
        query = query.where(ledger_rollups.c.period_end <= at)
    row = conn.execute(query.order_by(ledger_rollups.c.period_end.desc()).limit(1)).first()
    return (row.period_end, int(row.closing_balance)) if row else (None, 0)


def account_balance(conn: Connection, account: int, at: datetime | None = None) -> int:
    """Balance of one account from entries posted before ``at`` (None: everything)."""
    since, opening = _last_rollup(conn, account, at)
    query = (
        select(func.coalesce(func.sum(ledger_entries.c.amount), 0))
        .select_from(ledger_entries.join(journal_entries))
        .where(ledger_entries.c.account_id == account)
    )
    if since is not None:
        query = query.where(journal_entries.c.posted_at >= since)
    if at is not None:
        query = query.where(journal_entries.c.posted_at < at)
    return opening + int(conn.execute(query).scalar_one())


def merchant_available(conn: Connection, merchant_no: str, currency: str, at: datetime | None = None) -> int:
    """What we owe the merchant (positive) from its payable account, before ``at``."""
    found = account_id(conn, f"merchant_payable:{merchant_no}:{currency}")
    return 0 if found is None else -account_balance(conn, found, at)


def account_balances(
    conn: Connection, *, merchant_id: int | None = None, at: datetime | None = None
) -> list[AccountBalance]:
    """Every account (or one merchant's) with its derived balance."""
    query = select(ledger_accounts).order_by(ledger_accounts.c.code)
    if merchant_id is not None:
        query = query.where(ledger_accounts.c.merchant_id == merchant_id)
    return [
        AccountBalance(
            r["id"],
            r["code"],
            r["kind"],
            r["name"],
            r["currency"],
            r["merchant_id"],
            account_balance(conn, r["id"], at),
        )
        for r in conn.execute(query).mappings()
    ]


def roll_up(conn: Connection, *, until: datetime, business_date: str, now: datetime) -> int:
    """Write one roll-up per account covering its entries up to ``until``; returns rows written.

    Each account's roll-ups are contiguous: the new one starts where its last one ended.
    Accounts already rolled up to ``until`` or beyond are left alone, so this is idempotent.
    """
    last = (
        select(ledger_rollups.c.account_id, func.max(ledger_rollups.c.period_end).label("pe"))
        .group_by(ledger_rollups.c.account_id)
        .subquery()
    )
    previous: dict[int, tuple[datetime, int]] = {
        r.account_id: (r.period_end, int(r.closing_balance))
        for r in conn.execute(
            select(
                ledger_rollups.c.account_id, ledger_rollups.c.period_end, ledger_rollups.c.closing_balance
            ).select_from(
                ledger_rollups.join(
                    last,
                    and_(
                        last.c.account_id == ledger_rollups.c.account_id,
                        last.c.pe == ledger_rollups.c.period_end,
                    ),
                )
            )
        )
    }
    accounts = [
        int(a) for a in conn.execute(select(ledger_accounts.c.id).order_by(ledger_accounts.c.id)).scalars()
    ]
    due = [a for a in accounts if a not in previous or previous[a][0] < until]
    if not due:
        return 0
    movement = {
        "debits": func.sum(case((ledger_entries.c.amount > 0, ledger_entries.c.amount), else_=0)),
        "credits": func.sum(case((ledger_entries.c.amount < 0, ledger_entries.c.amount), else_=0)),
        "n": func.count(),
    }
    moved: dict[int, tuple[int, int, int]] = {}
    rolled = [a for a in due if a in previous]
    fresh = [a for a in due if a not in previous]
    if rolled:
        lower = min(previous[a][0] for a in rolled)
        query = (
            select(ledger_entries.c.account_id, *[v.label(k) for k, v in movement.items()])
            .select_from(ledger_entries.join(journal_entries))
            .outerjoin(last, last.c.account_id == ledger_entries.c.account_id)
            .where(
                journal_entries.c.posted_at >= lower,
                journal_entries.c.posted_at < until,
                or_(last.c.pe.is_(None), journal_entries.c.posted_at >= last.c.pe),
            )
            .group_by(ledger_entries.c.account_id)
        )
        for r in conn.execute(query):
            moved[r.account_id] = (int(r.debits), int(r.credits), int(r.n))
    if fresh:
        query = (
            select(ledger_entries.c.account_id, *[v.label(k) for k, v in movement.items()])
            .select_from(ledger_entries.join(journal_entries))
            .where(journal_entries.c.posted_at < until, ledger_entries.c.account_id.in_(fresh))
            .group_by(ledger_entries.c.account_id)
        )
        for r in conn.execute(query):
            moved[r.account_id] = (int(r.debits), int(r.credits), int(r.n))
    rows = []
    for account in due:
        debits, credits, count = moved.get(account, (0, 0, 0))
        start, opening = previous.get(account, (None, 0))
        rows.append(
            {
                "account_id": account,
                "business_date": business_date,
                "period_start": start,
                "period_end": until,
                "debits": debits,
                "credits": credits,
                "entry_count": count,
                "closing_balance": opening + debits + credits,
                "created_at": now,
            }
        )
    conn.execute(insert(ledger_rollups), rows)
    return len(rows)
