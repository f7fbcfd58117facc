"""Ledger postings for card transactions: one function per business event.

The host calls these inside its durable write job, so the transaction record and
its journal commit together. Each posts one balanced journal with an idempotency
key derived from the transaction id, so nothing is ever posted twice.

Accounts (see :mod:`poskit.ledger.accounts`):

* sale / completion: Dr issuer settlement (gross) / Cr merchant payable (net) / Cr fee income (fee)
* refund: the mirror image of a sale for the refunded amount (the fee is not returned unless the
  contract says so: refunds carry no fee line)
* pre-authorisation: Dr issuer settlement / Cr pre-authorisation holds (no merchant money yet);
  its cancel or completion releases the hold
* reversal / void: the exact negation of every journal the original posted
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from poskit.ledger.accounts import (
    acquirer_fee_income,
    issuer_settlement,
    merchant_payable,
    preauth_holds,
)
from poskit.ledger.fees import FeeQuote, NoFeeScheduleError, quote_fee, rule_for_card, schedule_in_force
from poskit.ledger.posting import Line, journal_exists, post_journal
from poskit.money import Amount
from poskit.store.db import inserted_id
from poskit.store.schema import fee_lines, journal_entries, ledger_entries

__all__ = [
    "FeeCharge",
    "mirror_journals",
    "negate_transaction",
    "post_fee_charges",
    "post_preauth_hold",
    "post_refund",
    "post_sale",
    "price_transaction",
    "release_preauth_hold",
]


def price_transaction(
    conn: Connection,
    *,
    merchant_id: int,
    amount: int,
    currency: str,
    funding: str | None,
    origin: str | None,
    at: datetime,
) -> FeeQuote | None:
    """The fee for a card-present sale under the contract in force at ``at`` (None: no contract)."""
    try:
        schedule = schedule_in_force(conn, merchant_id, at)
    except NoFeeScheduleError:
        return None
    return quote_fee(schedule, rule_for_card(funding, origin), Amount.of(amount, currency))


def _fee_line(
    conn: Connection,
    quote: FeeQuote,
    *,
    txn_id: int | None,
    merchant_id: int,
    journal_id: int,
    at: datetime,
) -> None:
    conn.execute(
        insert(fee_lines).values(
            transaction_id=txn_id,
            merchant_id=merchant_id,
            schedule_id=quote.schedule_id,
            schedule_version=quote.schedule_version,
            rule=quote.rule,
            base=quote.base.minor,
            amount=quote.fee.minor,
            currency=quote.fee.currency.code,
            formula=quote.formula,
            journal_id=journal_id,
            created_at=at,
        )
    )


def post_sale(
    conn: Connection,
    *,
    txn_id: int,
    merchant_id: int,
    merchant_no: str,
    amount: int,
    currency: str,
    quote: FeeQuote | None,
    at: datetime,
    description: str,
    kind: str = "sale",
) -> int:
    """Gross to issuer settlement, net to the merchant, the fee to income; records the fee line."""
    fee = quote.fee.minor if quote is not None else 0
    journal_id = post_journal(
        conn,
        key=f"txn:{txn_id}:{kind}",
        kind=kind,
        currency=currency,
        transaction_id=txn_id,
        merchant_id=merchant_id,
        now=at,
        description=description,
        lines=[
            Line(issuer_settlement(currency), amount),
            Line(merchant_payable(merchant_id, merchant_no, currency), -(amount - fee)),
            Line(acquirer_fee_income(currency), -fee),
        ],
    )
    if quote is not None:
        _fee_line(conn, quote, txn_id=txn_id, merchant_id=merchant_id, journal_id=journal_id, at=at)
    return journal_id


@dataclasses.dataclass(frozen=True, slots=True)
class FeeCharge:
    """One fee line to charge: the quote that explains it and the transaction it belongs to, if any."""

    quote: FeeQuote
    transaction_id: int | None = None


def post_fee_charges(
    conn: Connection,
    *,
    key: str,
    merchant_id: int,
    merchant_no: str,
    currency: str,
    charges: Sequence[FeeCharge],
    at: datetime,
    description: str,
    kind: str = "fee",
) -> int:
    """Charge fees outside a sale (D0 instant settlement, terminal rental, SIM/data): one journal,
    one fee line per charge. Idempotent by ``key``: a repeated call charges nothing."""
    existing = journal_exists(conn, key)
    if existing is not None:
        return existing
    total = sum(c.quote.fee.minor for c in charges)
    journal_id = post_journal(
        conn,
        key=key,
        kind=kind,
        currency=currency,
        merchant_id=merchant_id,
        now=at,
        description=description[:200],
        lines=[
            Line(merchant_payable(merchant_id, merchant_no, currency), total),
            Line(acquirer_fee_income(currency), -total),
        ],
    )
    for charge in charges:
        _fee_line(
            conn,
            charge.quote,
            txn_id=charge.transaction_id,
            merchant_id=merchant_id,
            journal_id=journal_id,
            at=at,
        )
    return journal_id


def post_refund(
    conn: Connection,
    *,
    txn_id: int,
    merchant_id: int,
    merchant_no: str,
    amount: int,
    currency: str,
    at: datetime,
    description: str,
) -> int:
    """Money back to the cardholder out of the merchant's payable."""
    return post_journal(
        conn,
        key=f"txn:{txn_id}:refund",
        kind="refund",
        currency=currency,
        transaction_id=txn_id,
        merchant_id=merchant_id,
        now=at,
        description=description,
        lines=[
            Line(merchant_payable(merchant_id, merchant_no, currency), amount),
            Line(issuer_settlement(currency), -amount),
        ],
    )


def post_preauth_hold(
    conn: Connection,
    *,
    txn_id: int,
    merchant_id: int,
    amount: int,
    currency: str,
    at: datetime,
    description: str,
) -> int:
    """A pre-authorisation: the funds are held at the issuer; no money is the merchant's yet."""
    return post_journal(
        conn,
        key=f"txn:{txn_id}:preauth",
        kind="preauth",
        currency=currency,
        transaction_id=txn_id,
        merchant_id=merchant_id,
        now=at,
        description=description,
        lines=[Line(issuer_settlement(currency), amount), Line(preauth_holds(currency), -amount)],
    )


def release_preauth_hold(
    conn: Connection,
    *,
    preauth_txn_id: int,
    amount: int,
    currency: str,
    at: datetime,
    reason: str,
    by_transaction_id: int | None = None,
) -> int:
    """Release (part of) a hold, when the pre-authorisation is cancelled or completed.

    ``by_transaction_id`` attaches the journal to the transaction that released the hold
    (the cancel or the completion), so reversing that transaction re-establishes the hold.
    """
    journal = conn.execute(
        select(journal_entries.c.merchant_id).where(
            journal_entries.c.idempotency_key == f"txn:{preauth_txn_id}:preauth"
        )
    ).first()
    return post_journal(
        conn,
        key=f"txn:{by_transaction_id or preauth_txn_id}:release:{reason}",
        kind="preauth_release",
        currency=currency,
        transaction_id=by_transaction_id or preauth_txn_id,
        merchant_id=journal.merchant_id if journal else None,
        now=at,
        description=f"release of pre-authorisation hold ({reason})",
        lines=[Line(preauth_holds(currency), amount), Line(issuer_settlement(currency), -amount)],
    )


def _journals_of(conn: Connection, txn_id: int) -> Sequence[Any]:
    """The journals ``txn_id`` owns, other than negations of them."""
    return (
        conn.execute(
            select(journal_entries).where(
                journal_entries.c.transaction_id == txn_id,
                ~journal_entries.c.idempotency_key.like("%:negated-by:%"),
            )
        )
        .mappings()
        .all()
    )


def _post_negation(conn: Connection, journal: Any, *, key: str, kind: str, txn_id: int, at: datetime) -> int:
    """Post under ``key``, attached to ``txn_id``, a journal with every entry of ``journal`` negated."""
    entries = conn.execute(
        select(ledger_entries.c.account_id, ledger_entries.c.amount).where(
            ledger_entries.c.journal_id == journal["id"]
        )
    ).all()
    new_id = int(
        inserted_id(
            conn.execute(
                insert(journal_entries).values(
                    idempotency_key=key,
                    kind=kind,
                    transaction_id=txn_id,
                    merchant_id=journal["merchant_id"],
                    description=f"{kind} of: {journal['description']}"[:200],
                    currency=journal["currency"],
                    posted_at=at,
                )
            )
        )
    )
    rows: list[dict[str, Any]] = [
        {
            "journal_id": new_id,
            "account_id": e.account_id,
            "amount": -e.amount,
            "currency": journal["currency"],
        }
        for e in entries
    ]
    if rows:
        conn.execute(insert(ledger_entries), rows)
    return new_id


def negate_transaction(conn: Connection, *, txn_id: int, at: datetime, reason: str) -> list[int]:
    """Post the exact negation of every journal of ``txn_id`` (reversal, void). Idempotent."""
    posted: list[int] = []
    for journal in _journals_of(conn, txn_id):
        key = f"{journal['idempotency_key']}:negated-by:{reason}"
        if journal_exists(conn, key) is not None:
            continue
        posted.append(_post_negation(conn, journal, key=key, kind=reason, txn_id=txn_id, at=at))
    return posted


def mirror_journals(
    conn: Connection, *, source_txn_id: int, into_txn_id: int, reason: str, at: datetime
) -> list[int]:
    """Post, attached to ``into_txn_id`` (a void or cancel), the negation of every journal the source
    transaction owns. Keys are ``txn:<into>:<reason>:<source journal id>`` — the form the ledger
    (:mod:`poskit.ledger.negation`) recognises as undoing the source journal while the void stands;
    reversing the void negates these journals in turn. Idempotent."""
    posted: list[int] = []
    for journal in _journals_of(conn, source_txn_id):
        key = f"txn:{into_txn_id}:{reason}:{journal['id']}"
        existing = journal_exists(conn, key)
        posted.append(
            existing
            if existing is not None
            else _post_negation(conn, journal, key=key, kind=reason, txn_id=into_txn_id, at=at)
        )
    return posted
