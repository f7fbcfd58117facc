"""The durable heart of the host: authorising, recording, posting and reversing.

Each function here runs inside one job of the group-commit writer (one database
transaction): the duplicate check, the issuer's decision, the transaction record,
the fee and the ledger journal all commit together or not at all, and the terminal
hears the answer only after that commit.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from poskit.host.issuer import authorize_debit, find_card, restore_funds
from poskit.host.registry import TerminalRecord
from poskit.ledger.events import negate_transaction, post_sale, price_transaction
from poskit.store.db import inserted_id
from poskit.store.schema import issuer_cards, transactions

__all__ = [
    "AuthResult",
    "CardInfo",
    "ReversalInput",
    "SaleInput",
    "apply_reversal",
    "authorize_sale",
    "find_message",
    "record_decline",
]


@dataclasses.dataclass(frozen=True, slots=True)
class CardInfo:
    """What the host derived from the card data; the clear PAN is not kept here."""

    pan_hash: str
    pan_token: str
    pan_masked: str
    expiry: str | None
    service_code: str | None
    scheme: str
    funding: str
    origin: str
    card_organisation: str
    entry_mode: str
    pin_entered: bool

    def __repr__(self) -> str:
        return f"CardInfo({self.pan_masked}, {self.scheme}/{self.funding}/{self.origin})"


@dataclasses.dataclass(frozen=True, slots=True)
class SaleInput:
    terminal: TerminalRecord
    mti: str
    txn_type: str
    stan: int
    batch: int
    local_datetime: str | None
    amount: int
    currency: str
    card: CardInfo
    pin_check: str
    pin_required: bool
    received_at: datetime
    issuer_day: str  # YYYY-MM-DD in the acquirer's zone
    business_date: datetime  # acquirer-local now, for expiry checks
    settlement_date: str  # MMDD
    julian: str  # YDDD, prefix of the RRN
    auth_code: str
    atc: int | None = None  # chip: the application transaction counter, remembered against replay


@dataclasses.dataclass(frozen=True, slots=True)
class ReversalInput:
    terminal: TerminalRecord
    stan: int
    batch: int
    original_mti: str
    original_type: str
    reason: str
    amount: int
    currency: str
    local_datetime: str | None
    received_at: datetime
    issuer_day: str
    pan_masked: str | None
    repeat: bool


@dataclasses.dataclass(frozen=True, slots=True)
class AuthResult:
    """The host's answer, as stored for replaying duplicates."""

    response_code: str
    message: str
    rrn: str | None = None
    auth_code: str | None = None
    settlement_date: str | None = None
    balance: int | None = None
    currency: str | None = None
    fee: int = 0
    fee_formula: str | None = None
    transaction_id: int | None = None
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("replayed")
        data.pop("transaction_id")
        return data

    @classmethod
    def from_row(cls, row: Any) -> AuthResult:
        data = dict(row["response"])
        return cls(**data, transaction_id=row["id"], replayed=True)


def find_message(conn: Connection, terminal_id: str, batch: int, stan: int, mti: str) -> Any:
    """The stored message with this identity (same terminal, batch, trace and MTI class)."""
    return (
        conn.execute(
            select(transactions).where(
                transactions.c.terminal_id == terminal_id,
                transactions.c.batch_no == batch,
                transactions.c.stan == stan,
                transactions.c.mti == mti,
            )
        )
        .mappings()
        .first()
    )


def _insert_txn(
    conn: Connection, inp: SaleInput, result: AuthResult, status: str, account_id: int | None
) -> int:
    t = inp.terminal
    txn_id = int(
        inserted_id(
            conn.execute(
                insert(transactions).values(
                    terminal_id=t.terminal_id,
                    merchant_id=t.merchant_id,
                    mti=inp.mti,
                    txn_type=inp.txn_type,
                    stan=inp.stan,
                    batch_no=inp.batch,
                    local_datetime=inp.local_datetime,
                    received_at=inp.received_at,
                    amount=inp.amount,
                    currency=inp.currency,
                    pan_hash=inp.card.pan_hash,
                    pan_token=inp.card.pan_token,
                    pan_masked=inp.card.pan_masked,
                    card_scheme=inp.card.scheme,
                    funding=inp.card.funding,
                    origin=inp.card.origin,
                    entry_mode=inp.card.entry_mode,
                    pin_entered=inp.card.pin_entered,
                    mcc=t.mcc,
                    response_code=result.response_code,
                    auth_code=result.auth_code,
                    settlement_date=result.settlement_date,
                    status=status,
                    issuer_account_id=account_id,
                    message=result.message[:120],
                    response={},
                )
            )
        )
    )
    return txn_id


def record_decline(conn: Connection, inp: SaleInput, response_code: str, message: str) -> AuthResult:
    """Record a declined request so a repeat of it gets the same answer."""
    result = AuthResult(response_code, message, currency=inp.currency)
    txn_id = _insert_txn(conn, inp, result, "declined", None)
    conn.execute(update(transactions).where(transactions.c.id == txn_id).values(response=result.to_json()))
    return dataclasses.replace(result, transaction_id=txn_id)


def authorize_sale(conn: Connection, inp: SaleInput) -> AuthResult:
    """Duplicate check, issuer decision, transaction record, fee and ledger journal."""
    existing = find_message(conn, inp.terminal.terminal_id, inp.batch, inp.stan, inp.mti)
    if existing is not None:
        return AuthResult.from_row(existing)
    reversed_first = find_message(conn, inp.terminal.terminal_id, inp.batch, inp.stan, "0400")
    if reversed_first is not None:
        return record_decline(conn, inp, "12", "already reversed by the terminal (late original)")
    card = find_card(conn, inp.card.pan_hash)
    if card is None:
        return record_decline(conn, inp, "14", "no such card at the issuer")
    decision = authorize_debit(
        conn,
        card,
        amount=inp.amount,
        currency=inp.currency,
        pin=inp.pin_check,
        pin_required=inp.pin_required,
        issuer_day=inp.issuer_day,
        presented_expiry=inp.card.expiry,
        now=inp.business_date,
    )
    if inp.atc is not None:
        conn.execute(update(issuer_cards).where(issuer_cards.c.id == card.id).values(last_online_atc=inp.atc))
    if not decision.approved:
        result = record_decline(conn, inp, decision.response_code, decision.reason)
        if decision.balance is not None and decision.response_code == "51":
            return dataclasses.replace(result, balance=decision.balance)
        return result
    provisional = AuthResult(
        "00",
        "approved",
        auth_code=inp.auth_code,
        settlement_date=inp.settlement_date,
        balance=decision.balance,
        currency=inp.currency,
    )
    txn_id = _insert_txn(conn, inp, provisional, "approved", decision.account_id)
    rrn = f"{inp.julian}{txn_id % 100_000_000:08d}"
    t = inp.terminal
    quote = price_transaction(
        conn,
        merchant_id=t.merchant_id,
        amount=inp.amount,
        currency=inp.currency,
        funding=inp.card.funding,
        origin=inp.card.origin,
        at=inp.received_at,
    )
    fee = quote.fee.minor if quote else 0
    result = dataclasses.replace(
        provisional, rrn=rrn, fee=fee, fee_formula=quote.formula if quote else None, transaction_id=txn_id
    )
    conn.execute(
        update(transactions)
        .where(transactions.c.id == txn_id)
        .values(rrn=rrn, fee=fee, response=result.to_json())
    )
    post_sale(
        conn,
        txn_id=txn_id,
        merchant_id=t.merchant_id,
        merchant_no=t.merchant_no,
        amount=inp.amount,
        currency=inp.currency,
        quote=quote,
        at=inp.received_at,
        description=f"sale {rrn} terminal {t.terminal_id} voucher {inp.stan:06d}",
    )
    return result


def apply_reversal(conn: Connection, inp: ReversalInput) -> AuthResult:
    """Reverse the original once; acknowledge and record a reversal whose original is unknown."""
    t = inp.terminal
    existing = find_message(conn, t.terminal_id, inp.batch, inp.stan, "0400")
    if existing is not None:
        return AuthResult.from_row(existing)
    original = find_message(conn, t.terminal_id, inp.batch, inp.stan, inp.original_mti)
    if original is None:
        outcome, status, original_id = "no original found; recorded", "orphan", None
    elif original["status"] != "approved":
        outcome, status, original_id = (
            f"original was {original['status']}; nothing to reverse",
            "noop",
            original["id"],
        )
    else:
        outcome, status, original_id = "original reversed", "applied", original["id"]
        if original["issuer_account_id"] is not None:
            restore_funds(
                conn, original["issuer_account_id"], amount=original["amount"], issuer_day=inp.issuer_day
            )
        negate_transaction(conn, txn_id=original["id"], at=inp.received_at, reason="reversal")
        conn.execute(
            update(transactions)
            .where(transactions.c.id == original["id"])
            .values(status="reversed", reversed_at=inp.received_at)
        )
    result = AuthResult("00", outcome, currency=inp.currency)
    row_id = int(
        inserted_id(
            conn.execute(
                insert(transactions).values(
                    terminal_id=t.terminal_id,
                    merchant_id=t.merchant_id,
                    mti="0400",
                    txn_type="reversal",
                    stan=inp.stan,
                    batch_no=inp.batch,
                    local_datetime=inp.local_datetime,
                    received_at=inp.received_at,
                    amount=inp.amount,
                    currency=inp.currency,
                    pan_masked=inp.pan_masked,
                    mcc=t.mcc,
                    response_code="00",
                    status=status,
                    original_id=original_id,
                    message=f"reason {inp.reason}: {outcome}"[:120],
                    response=result.to_json(),
                )
            )
        )
    )
    return dataclasses.replace(result, transaction_id=row_id)
