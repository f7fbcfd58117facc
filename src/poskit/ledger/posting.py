"""Balanced, idempotent journal posting: the only way money moves in the ledger.

A business event (an approved sale, its reversal, a payout ...) posts exactly one
journal whose lines sum to zero. The journal's idempotency key makes a repeated
post a no-op, so a retried or duplicated message can never post twice. Entries are
never edited: a correction is a new journal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from poskit.ledger.accounts import AccountRef, ensure_account
from poskit.store.db import inserted_id
from poskit.store.schema import journal_entries, ledger_entries

__all__ = ["Line", "UnbalancedJournalError", "journal_exists", "post_journal"]


class UnbalancedJournalError(ValueError):
    """The lines of a journal do not sum to zero (or mix currencies)."""

    def __init__(self, key: str, total: int) -> None:
        super().__init__(f"journal {key!r} does not balance: lines sum to {total}, expected 0")
        self.key = key
        self.total = total


@dataclasses.dataclass(frozen=True, slots=True)
class Line:
    """One ledger line: debit when ``amount`` > 0, credit when < 0 (minor units)."""

    account: AccountRef
    amount: int


def journal_exists(conn: Connection, key: str) -> int | None:
    found = conn.execute(
        select(journal_entries.c.id).where(journal_entries.c.idempotency_key == key)
    ).scalar()
    return int(found) if found is not None else None


def post_journal(
    conn: Connection,
    *,
    key: str,
    kind: str,
    currency: str,
    lines: Sequence[Line],
    description: str,
    transaction_id: int | None = None,
    merchant_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Post one balanced journal; if ``key`` was posted before, return that journal's id."""
    existing = journal_exists(conn, key)
    if existing is not None:
        return existing
    total = sum(line.amount for line in lines)
    if total != 0 or any(line.account.currency != currency for line in lines):
        raise UnbalancedJournalError(key, total)
    at = now or datetime.now(UTC)
    journal_id = int(
        inserted_id(
            conn.execute(
                insert(journal_entries).values(
                    idempotency_key=key,
                    kind=kind,
                    transaction_id=transaction_id,
                    merchant_id=merchant_id,
                    description=description,
                    currency=currency,
                    posted_at=at,
                )
            )
        )
    )
    rows = [
        {
            "journal_id": journal_id,
            "account_id": ensure_account(conn, line.account, now=at),
            "amount": line.amount,
            "currency": currency,
        }
        for line in lines
        if line.amount != 0
    ]
    if rows:
        conn.execute(insert(ledger_entries), rows)
    return journal_id
