"""Monthly statements: which periods exist, and the ledger's statement for one (PDF/CSV by the ledger)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from poskit.ledger.directory import merchant_info
from poskit.ledger.statements import Statement, build_statement, summary_rows
from poskit.portal.scope import NotFound
from poskit.store.schema import journal_entries

__all__ = ["PERIOD", "period_bounds", "statement_for_period", "statement_periods", "statement_summary"]

PERIOD = re.compile(r"^((?:19|20)\d{2})-(0[1-9]|1[0-2])$")  # 1900-01 .. 2099-12


def period_bounds(period: str) -> tuple[date, date]:
    """First and last business date of a ``YYYY-MM`` month (404 for anything else)."""
    match = PERIOD.match(period)
    if not match:
        raise NotFound("statement")
    start = date(int(match.group(1)), int(match.group(2)), 1)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, following - timedelta(days=1)


def statement_periods(conn: Connection, merchant_id: int, *, now: datetime, limit: int = 24) -> list[str]:
    """Months from the merchant's first ledger movement to now, newest first."""
    first = conn.execute(
        select(func.min(journal_entries.c.posted_at)).where(journal_entries.c.merchant_id == merchant_id)
    ).scalar()
    info = merchant_info(conn, merchant_id)
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(info.acquirer.timezone)
    current = now.astimezone(zone).date().replace(day=1)
    start = first.astimezone(zone).date().replace(day=1) if first is not None else current
    periods: list[str] = []
    month = current
    while month >= start and len(periods) < limit:
        periods.append(f"{month.year:04d}-{month.month:02d}")
        month = (month - timedelta(days=1)).replace(day=1)
    return periods


def statement_for_period(conn: Connection, merchant_id: int, period: str) -> Statement:
    start, end = period_bounds(period)
    return build_statement(conn, merchant_id, start, end)


def statement_summary(st: Statement) -> list[tuple[str, int]]:
    """(label, minor units) rows that add up: opening + movements - payouts = closing."""
    return summary_rows(st)
