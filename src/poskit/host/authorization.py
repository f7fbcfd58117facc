"""The durable heart of the host: authorising, adjusting, recording, posting and reversing.

Each function here runs inside one job of the group-commit writer (one database
transaction): the duplicate check, the issuer's decision, the transaction record,
the fee and the ledger journals all commit together or not at all, and the terminal
hears the answer only after that commit.

Every transaction records its *effects* (what it changed at the issuer and on the
transaction it refers to) and owns the journals it posted, so a reversal undoes
exactly that, once: a sale, a void, a refund, a pre-authorisation, its cancel,
its completion or a completion void.

Response codes: 12 invalid transaction, 13 invalid amount, 14 invalid card, 22
wrong operation (outside the batch or the allowed days), 25 original not found,
61 over the limit, 64 amount does not match the original, 94 duplicate.

A repeat (same terminal, batch, trace and MTI) is answered with the stored answer only
when its content matches the original's; other content under the same key is refused
94 and flagged as suspicious, and a repeat of a sale since reversed gets 12, the same
code as a late original whose reversal arrived first (in either dialect).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from poskit.host.issuer import IssuerDecision, authorize_debit, find_card
from poskit.host.registry import TerminalRecord
from poskit.ledger.events import (
    mirror_journals,
    negate_transaction,
    post_preauth_hold,
    post_refund,
    post_sale,
    price_transaction,
    release_preauth_hold,
)
from poskit.ledger.monitoring import check_authorization, raise_flag
from poskit.signature_rule import cvm_from_hex, signature_required
from poskit.store.db import inserted_id
from poskit.store.schema import issuer_accounts, issuer_cards, transactions
from poskit.store.schema_terminal_day import transaction_effects

__all__ = [
    "REFUND_DAYS",
    "AuthResult",
    "CardInfo",
    "ReversalInput",
    "SaleInput",
    "TxnInput",
    "apply_reversal",
    "authorize_balance",
    "authorize_preauth",
    "authorize_sale",
    "cancel_preauth",
    "complete_preauth",
    "find_message",
    "record_decline",
    "refund",
    "repeat_differences",
    "reversal_mismatch",
    "reversal_repeat_differences",
    "stored_response",
    "void_transaction",
]

#: A refund must follow its original within this many days (else 22).
REFUND_DAYS = 30
#: A completion may exceed its pre-authorisation by at most this fraction (UnionPay: 15%).
COMPLETION_TOLERANCE = 0.15


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
    issuer_service_code: str | None = None  # the issuer's record, once the issuer has seen the card
    issuer_code: str | None = None  # field 44.1: the issuing institution (BIN table), else the IIN

    def __repr__(self) -> str:
        return f"CardInfo({self.pan_masked}, {self.scheme}/{self.funding}/{self.origin})"


@dataclasses.dataclass(frozen=True, slots=True)
class TxnInput:
    """One financial request, as the durable job sees it."""

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
    orig_batch: int | None = None
    orig_stan: int | None = None
    orig_date: str | None = None  # MMDD
    orig_rrn: str | None = None
    orig_auth_code: str | None = None
    submitted_merchant_no: str | None = None  # field 42 as the terminal sent it (MCC in digits 8-11)
    emv: dict[str, str] | None = None  # chip data for the portal: non-sensitive field 55 tags as hex
    operator: str | None = None  # field 63: the cashier who keyed it, printed on the receipt copy


SaleInput = TxnInput


def stored_response(result: AuthResult, inp: TxnInput) -> dict[str, Any]:
    """The response as stored with the transaction: the answer, plus what the portal's receipt copy
    needs of the request (the operator of field 63, the non-sensitive chip data)."""
    data = result.to_json()
    if inp.emv:
        data["emv"] = inp.emv
    if inp.operator:
        data["operator"] = inp.operator
    return data


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
    original_stan: int | None = None  # ascii87 reversals have their own trace and point at the original
    original_batch: int | None = None
    pan_hash: str | None = None  # keyed hash of the PAN the reversal names (field 2), if it sent one
    amount_sent: bool = True  # field 4 present: it must equal the original's amount


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
        data.pop("emv", None)  # the chip data and operator kept for the portal are not part of the answer
        data.pop("operator", None)
        data.pop("orphan_of", None)  # what an orphan reversal named, kept for a late original
        return cls(**data, transaction_id=row["id"], replayed=True)


# ----------------------------------------------------------------------------- helpers
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
    conn: Connection,
    inp: TxnInput,
    result: AuthResult,
    status: str,
    account_id: int | None,
    *,
    original_id: int | None = None,
) -> int:
    t = inp.terminal
    submitted = inp.submitted_merchant_no or t.merchant_no
    mcc = submitted[7:11] if len(submitted) == 15 and submitted[7:11].isdigit() else t.mcc
    txn_id = inserted_id(
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
                # the one rule, from the request as received; a declined request prints no slip
                signature_required=status != "declined"
                and signature_required(
                    inp.txn_type, cvm_from_hex(inp.card.entry_mode, inp.card.pin_entered, inp.emv)
                ),
                mcc=mcc,  # as submitted: a code other than the merchant's is flagged (跳码)
                response_code=result.response_code,
                auth_code=result.auth_code,
                settlement_date=result.settlement_date,
                status=status,
                issuer_account_id=account_id,
                original_id=original_id,
                message=result.message[:120],
                response={},
            )
        )
    )
    # one terminal, one merchant, one registered MCC: anything else is flagged for the acquirer
    check_authorization(
        conn,
        terminal_id=t.terminal_id,
        merchant_no=submitted,
        mcc=None,
        transaction_id=txn_id,
        now=inp.received_at,
    )
    return txn_id


def record_decline(conn: Connection, inp: TxnInput, response_code: str, message: str) -> AuthResult:
    """Record a declined request so a repeat of it gets the same answer."""
    result = AuthResult(response_code, message, currency=inp.currency)
    txn_id = _insert_txn(conn, inp, result, "declined", None)
    conn.execute(
        update(transactions).where(transactions.c.id == txn_id).values(response=stored_response(result, inp))
    )
    return dataclasses.replace(result, transaction_id=txn_id)


def _approve(
    conn: Connection,
    inp: TxnInput,
    *,
    status: str,
    account_id: int | None,
    balance: int | None,
    original_id: int | None = None,
    with_auth_code: bool = True,
) -> tuple[int, AuthResult]:
    """Insert the approved record, give it its RRN; returns (id, result without fee)."""
    provisional = AuthResult(
        "00",
        "approved",
        auth_code=inp.auth_code if with_auth_code else None,
        settlement_date=inp.settlement_date,
        balance=balance,
        currency=inp.currency,
    )
    txn_id = _insert_txn(conn, inp, provisional, status, account_id, original_id=original_id)
    rrn = f"{inp.julian}{txn_id % 100_000_000:08d}"
    result = dataclasses.replace(provisional, rrn=rrn, transaction_id=txn_id)
    conn.execute(
        update(transactions)
        .where(transactions.c.id == txn_id)
        .values(rrn=rrn, response=stored_response(result, inp))
    )
    return txn_id, result


def _finish(conn: Connection, txn_id: int, result: AuthResult, inp: TxnInput) -> AuthResult:
    conn.execute(
        update(transactions)
        .where(transactions.c.id == txn_id)
        .values(fee=result.fee, response=stored_response(result, inp))
    )
    return result


def _effects(
    conn: Connection,
    txn_id: int,
    *,
    account_id: int | None,
    balance_delta: int = 0,
    holds_delta: int = 0,
    related_id: int | None = None,
    before: str | None = None,
    after: str | None = None,
) -> None:
    conn.execute(
        insert(transaction_effects).values(
            transaction_id=txn_id,
            issuer_account_id=account_id,
            balance_delta=balance_delta,
            holds_delta=holds_delta,
            related_id=related_id,
            related_status_before=before,
            related_status_after=after,
        )
    )
    if related_id is not None and after is not None:
        conn.execute(update(transactions).where(transactions.c.id == related_id).values(status=after))


def _move_funds(
    conn: Connection, account_id: int, *, balance_delta: int, holds_delta: int, issuer_day: str
) -> int:
    """Apply an effect at the issuer; spending counts towards the daily limit, returns count back."""
    account = (
        conn.execute(select(issuer_accounts).where(issuer_accounts.c.id == account_id).with_for_update())
        .mappings()
        .one()
    )
    new_balance = int(account["balance"]) + balance_delta
    values: dict[str, object] = {"balance": new_balance, "holds": max(0, account["holds"] + holds_delta)}
    if account["daily_date"] == issuer_day:
        values["daily_spent"] = max(0, account["daily_spent"] - balance_delta)
    elif balance_delta < 0:
        values["daily_spent"], values["daily_date"] = -balance_delta, issuer_day
    conn.execute(update(issuer_accounts).where(issuer_accounts.c.id == account_id).values(**values))
    return new_balance


def _issuer_checks(conn: Connection, inp: TxnInput) -> tuple[Any, IssuerDecision | None]:
    card = find_card(conn, inp.card.pan_hash)
    if card is None:
        return None, IssuerDecision("14", "no such card at the issuer")
    if inp.atc is not None:
        conn.execute(update(issuer_cards).where(issuer_cards.c.id == card.id).values(last_online_atc=inp.atc))
    return card, None


def _replay_or_late(conn: Connection, inp: TxnInput) -> AuthResult | None:
    existing = find_message(conn, inp.terminal.terminal_id, inp.batch, inp.stan, inp.mti)
    if existing is not None:
        return _answer_repeat(conn, inp, existing)
    if _reversed_in_advance(conn, inp):
        return record_decline(conn, inp, "12", "already reversed by the terminal (late original)")
    return None


def _answer_repeat(conn: Connection, inp: TxnInput, existing: Any) -> AuthResult:
    """The stored answer for a true repeat; 94 (flagged) for other content, 12 once reversed."""
    differences = repeat_differences(inp, existing)
    if differences:
        return _refuse_duplicate(
            conn, existing, inp.terminal, inp.mti, inp.received_at, differences, currency=inp.currency
        )
    if existing["status"] == "reversed":
        return AuthResult("12", "the original was reversed; nothing is approved again", currency=inp.currency)
    return AuthResult.from_row(existing)


def _refuse_duplicate(
    conn: Connection,
    existing: Any,
    terminal: TerminalRecord,
    mti: str,
    at: datetime,
    differences: list[str],
    *,
    currency: str,
) -> AuthResult:
    """94 for other content under a stored key, with a high ``duplicate_mismatch`` flag."""
    raise_flag(
        conn,
        key=f"duplicate_mismatch:{existing['id']}:{at.isoformat()}",
        kind="duplicate_mismatch",
        severity="high",
        summary=(
            f"terminal {terminal.terminal_id} repeated batch {existing['batch_no']} trace "
            f"{int(existing['stan']):06d} {mti} with another {', '.join(differences)}"
        ),
        details={"differences": differences, "original_id": existing["id"], "mti": mti},
        now=at,
        merchant_id=terminal.merchant_id,
        terminal_id=terminal.terminal_id,
        transaction_id=existing["id"],
    )
    # The key is taken by the original, so this refusal is answered, not stored.
    return AuthResult("94", f"duplicate key with other content ({', '.join(differences)})", currency=currency)


def repeat_differences(inp: TxnInput, existing: Any) -> list[str]:
    """What a repeat changed against the original: type, amount, currency, card, cryptogram."""
    differences = []
    if existing["txn_type"] != inp.txn_type:
        differences.append("processing code")
    if int(existing["amount"]) != inp.amount:
        differences.append("amount")
    if existing["currency"] != inp.currency:
        differences.append("currency")
    if existing["pan_hash"] != inp.card.pan_hash:  # keyed hashes: the clear PAN is never compared
        differences.append("card")
    stored_emv = (existing["response"] or {}).get("emv") or {}
    if stored_emv.get("9F26") != (inp.emv or {}).get("9F26"):
        differences.append("cryptogram")
    return differences


def _reversed_in_advance(conn: Connection, inp: TxnInput) -> bool:
    """True when an orphan reversal (one that overtook its original) named this message."""
    if find_message(conn, inp.terminal.terminal_id, inp.batch, inp.stan, "0400") is not None:
        return True  # cups: the reversal carries the original's trace number
    named = {"batch": inp.batch, "stan": inp.stan, "mti": inp.mti, "type": inp.txn_type}
    orphans = conn.execute(
        select(transactions.c.response).where(
            transactions.c.terminal_id == inp.terminal.terminal_id,
            transactions.c.txn_type == "reversal",
            transactions.c.status == "orphan",
        )
    ).scalars()
    return any((response or {}).get("orphan_of") == named for response in orphans)


def _price_and_post(
    conn: Connection, inp: TxnInput, txn_id: int, result: AuthResult, *, kind: str
) -> AuthResult:
    """Price the charge under the merchant's contract in force, post its journal and fee line, store it."""
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
    post_sale(
        conn,
        txn_id=txn_id,
        merchant_id=t.merchant_id,
        merchant_no=t.merchant_no,
        amount=inp.amount,
        currency=inp.currency,
        quote=quote,
        at=inp.received_at,
        description=_description(inp, result.rrn),
        kind=kind,
    )
    priced = dataclasses.replace(
        result, fee=quote.fee.minor if quote else 0, fee_formula=quote.formula if quote else None
    )
    return _finish(conn, txn_id, priced, inp)


def _description(inp: TxnInput, rrn: str | None) -> str:
    return f"{inp.txn_type} {rrn} terminal {inp.terminal.terminal_id} voucher {inp.stan:06d}"


# ----------------------------------------------------------------------------- purchases
def _issuer_decision(
    conn: Connection, inp: TxnInput, *, amount: int, pin_required: bool, hold: bool = False
) -> IssuerDecision | AuthResult:
    """The issuer's approval, or the final answer: a replayed one or a recorded decline."""
    if (replay := _replay_or_late(conn, inp)) is not None:
        return replay
    card, refused = _issuer_checks(conn, inp)
    if refused is not None:
        return record_decline(conn, inp, refused.response_code, refused.reason)
    decision = authorize_debit(
        conn,
        card,
        amount=amount,
        currency=inp.currency,
        pin=inp.pin_check,
        pin_required=pin_required,
        issuer_day=inp.issuer_day,
        presented_expiry=inp.card.expiry,
        now=inp.business_date,
        hold=hold,
    )
    if decision.approved:
        return decision
    result = record_decline(conn, inp, decision.response_code, decision.reason)
    return dataclasses.replace(result, balance=decision.balance) if decision.response_code == "51" else result


def authorize_sale(conn: Connection, inp: TxnInput) -> AuthResult:
    """Duplicate check, issuer decision, transaction record, fee and ledger journal."""
    decision = _issuer_decision(conn, inp, amount=inp.amount, pin_required=inp.pin_required)
    if isinstance(decision, AuthResult):
        return decision
    txn_id, result = _approve(
        conn, inp, status="approved", account_id=decision.account_id, balance=decision.balance
    )
    _effects(conn, txn_id, account_id=decision.account_id, balance_delta=-inp.amount)
    return _price_and_post(conn, inp, txn_id, result, kind="sale")


def authorize_preauth(conn: Connection, inp: TxnInput) -> AuthResult:
    """Pre-authorisation: the issuer holds the funds; the merchant gets nothing until completion."""
    decision = _issuer_decision(conn, inp, amount=inp.amount, pin_required=inp.pin_required, hold=True)
    if isinstance(decision, AuthResult):
        return decision
    txn_id, result = _approve(
        conn, inp, status="authorized", account_id=decision.account_id, balance=decision.balance
    )
    _effects(conn, txn_id, account_id=decision.account_id, balance_delta=-inp.amount, holds_delta=inp.amount)
    post_preauth_hold(
        conn,
        txn_id=txn_id,
        merchant_id=inp.terminal.merchant_id,
        amount=inp.amount,
        currency=inp.currency,
        at=inp.received_at,
        description=_description(inp, result.rrn),
    )
    return result


def authorize_balance(conn: Connection, inp: TxnInput) -> AuthResult:
    """Balance inquiry: card and PIN checked by the issuer, the available balance returned."""
    decision = _issuer_decision(conn, inp, amount=0, pin_required=True)
    if isinstance(decision, AuthResult):
        return decision
    _txn_id, result = _approve(
        conn,
        inp,
        status="approved",
        account_id=decision.account_id,
        balance=decision.balance,
        with_auth_code=False,
    )
    return result


# ----------------------------------------------------------------------------- adjustments
def _original_in_batch(conn: Connection, inp: TxnInput, txn_type: str) -> Any:
    return (
        conn.execute(
            select(transactions).where(
                transactions.c.terminal_id == inp.terminal.terminal_id,
                transactions.c.batch_no == inp.orig_batch,
                transactions.c.stan == inp.orig_stan,
                transactions.c.txn_type == txn_type,
                transactions.c.mti != "0400",
            )
        )
        .mappings()
        .first()
    )


def void_transaction(conn: Connection, inp: TxnInput, *, original_type: str) -> AuthResult:
    """Void a sale (or a completion) of the current batch: same card, same amount."""
    if (replay := _replay_or_late(conn, inp)) is not None:
        return replay
    if inp.orig_stan is None:
        return record_decline(conn, inp, "30", "void without the original voucher number (field 61)")
    original = _original_in_batch(conn, inp, original_type)
    if original is None:
        if inp.orig_batch is not None and inp.orig_batch != inp.batch:
            return record_decline(conn, inp, "22", "voids are for the current batch only: use a refund")
        return record_decline(
            conn, inp, "25", f"no {original_type} with voucher {inp.orig_stan:06d} in this batch"
        )
    if original["batch_no"] != inp.batch:
        return record_decline(conn, inp, "22", "the original was settled: use a refund")
    if original["status"] != "approved":
        return record_decline(conn, inp, "12", f"the original is {original['status']}")
    if original["pan_hash"] != inp.card.pan_hash:
        return record_decline(conn, inp, "14", "a void needs the card of the original transaction")
    if original["amount"] != inp.amount:
        return record_decline(conn, inp, "64", "void amount differs from the original amount")
    effect = (
        conn.execute(
            select(transaction_effects).where(transaction_effects.c.transaction_id == original["id"])
        )
        .mappings()
        .first()
    )
    txn_id, result = _approve(
        conn,
        inp,
        status="approved",
        account_id=original["issuer_account_id"],
        balance=None,
        original_id=original["id"],
    )
    balance_delta = -(effect["balance_delta"] if effect else -original["amount"])
    holds_delta = -(effect["holds_delta"] if effect else 0)
    if original["issuer_account_id"] is not None:
        _move_funds(
            conn,
            original["issuer_account_id"],
            balance_delta=balance_delta,
            holds_delta=holds_delta,
            issuer_day=inp.issuer_day,
        )
    _effects(
        conn,
        txn_id,
        account_id=original["issuer_account_id"],
        balance_delta=balance_delta,
        holds_delta=holds_delta,
        related_id=original["id"],
        before="approved",
        after="voided",
    )
    mirror_journals(conn, source_txn_id=original["id"], into_txn_id=txn_id, reason="void", at=inp.received_at)
    if original_type == "completion" and effect is not None and effect["related_id"] is not None:
        # the pre-authorisation the completion consumed is open again
        conn.execute(
            update(transactions).where(transactions.c.id == effect["related_id"]).values(status="authorized")
        )
    return result


def refund(conn: Connection, inp: TxnInput, *, refund_days: int = REFUND_DAYS) -> AuthResult:
    """Refund (退货) by the original's reference number: never above what is left to refund."""
    if (replay := _replay_or_late(conn, inp)) is not None:
        return replay
    if not inp.orig_rrn:
        return record_decline(conn, inp, "30", "refund without the original reference number (field 37)")
    original = (
        conn.execute(
            select(transactions).where(
                transactions.c.rrn == inp.orig_rrn,
                transactions.c.merchant_id == inp.terminal.merchant_id,
                transactions.c.txn_type.in_(("sale", "completion")),
            )
        )
        .mappings()
        .first()
    )
    if original is None:
        return record_decline(conn, inp, "25", f"no sale with reference {inp.orig_rrn} at this merchant")
    if original["status"] not in ("approved",):
        return record_decline(conn, inp, "12", f"the original is {original['status']}")
    if original["pan_hash"] != inp.card.pan_hash:
        return record_decline(conn, inp, "14", "a refund goes to the card of the original transaction")
    if inp.received_at - original["received_at"] > timedelta(days=refund_days):
        return record_decline(conn, inp, "22", f"refunds are allowed within {refund_days} days of the sale")
    refunded = conn.execute(
        select(func.coalesce(func.sum(transactions.c.amount), 0)).where(
            transactions.c.original_id == original["id"],
            transactions.c.txn_type == "refund",
            transactions.c.status == "approved",
        )
    ).scalar_one()
    if inp.amount <= 0 or refunded + inp.amount > original["amount"]:
        left = original["amount"] - refunded
        return record_decline(conn, inp, "64", f"refund exceeds what is left to refund ({left} minor units)")
    account_id = original["issuer_account_id"]
    txn_id, result = _approve(
        conn, inp, status="approved", account_id=account_id, balance=None, original_id=original["id"]
    )
    if account_id is not None:
        _move_funds(conn, account_id, balance_delta=inp.amount, holds_delta=0, issuer_day=inp.issuer_day)
    _effects(conn, txn_id, account_id=account_id, balance_delta=inp.amount)
    t = inp.terminal
    post_refund(
        conn,
        txn_id=txn_id,
        merchant_id=t.merchant_id,
        merchant_no=t.merchant_no,
        amount=inp.amount,
        currency=inp.currency,
        at=inp.received_at,
        description=_description(inp, result.rrn),
    )
    return result


def _open_preauth(conn: Connection, inp: TxnInput) -> Any:
    query = select(transactions).where(
        transactions.c.merchant_id == inp.terminal.merchant_id,
        transactions.c.txn_type == "preauth",
        transactions.c.pan_hash == inp.card.pan_hash,
        transactions.c.auth_code == inp.orig_auth_code,
        transactions.c.mti != "0400",
    )
    return conn.execute(query.order_by(transactions.c.id.desc())).mappings().first()


def cancel_preauth(conn: Connection, inp: TxnInput) -> AuthResult:
    """Pre-authorisation cancel (预授权撤销): release the whole hold."""
    if (replay := _replay_or_late(conn, inp)) is not None:
        return replay
    preauth = _open_preauth(conn, inp)
    if preauth is None:
        return record_decline(
            conn, inp, "25", "no pre-authorisation with that authorisation code for this card"
        )
    if preauth["status"] != "authorized":
        return record_decline(conn, inp, "12", f"the pre-authorisation is {preauth['status']}")
    if preauth["amount"] != inp.amount:
        return record_decline(conn, inp, "64", "cancel amount differs from the pre-authorised amount")
    account_id = preauth["issuer_account_id"]
    txn_id, result = _approve(
        conn, inp, status="approved", account_id=account_id, balance=None, original_id=preauth["id"]
    )
    if account_id is not None:
        _move_funds(
            conn, account_id, balance_delta=inp.amount, holds_delta=-inp.amount, issuer_day=inp.issuer_day
        )
    _effects(
        conn,
        txn_id,
        account_id=account_id,
        balance_delta=inp.amount,
        holds_delta=-inp.amount,
        related_id=preauth["id"],
        before="authorized",
        after="cancelled",
    )
    release_preauth_hold(
        conn,
        preauth_txn_id=preauth["id"],
        amount=preauth["amount"],
        currency=inp.currency,
        at=inp.received_at,
        reason="cancel",
        by_transaction_id=txn_id,
    )
    return result


def complete_preauth(conn: Connection, inp: TxnInput, *, advice: bool = False) -> AuthResult:
    """Completion (预授权完成): charge up to the pre-authorised amount (+15%), release the hold."""
    if (replay := _replay_or_late(conn, inp)) is not None:
        return replay
    preauth = _open_preauth(conn, inp)
    if preauth is None:
        return record_decline(
            conn, inp, "25", "no pre-authorisation with that authorisation code for this card"
        )
    if preauth["status"] != "authorized":
        return record_decline(conn, inp, "12", f"the pre-authorisation is {preauth['status']}")
    ceiling = int(preauth["amount"] * (1 + COMPLETION_TOLERANCE))
    if inp.amount <= 0 or inp.amount > ceiling:
        return record_decline(
            conn, inp, "64", f"completion above the pre-authorised amount (+15%): at most {ceiling}"
        )
    account_id = preauth["issuer_account_id"]
    held = preauth["amount"]
    txn_id, result = _approve(
        conn, inp, status="approved", account_id=account_id, balance=None, original_id=preauth["id"]
    )
    balance_delta = held - inp.amount
    if account_id is not None:
        _move_funds(
            conn, account_id, balance_delta=balance_delta, holds_delta=-held, issuer_day=inp.issuer_day
        )
    _effects(
        conn,
        txn_id,
        account_id=account_id,
        balance_delta=balance_delta,
        holds_delta=-held,
        related_id=preauth["id"],
        before="authorized",
        after="completed",
    )
    release_preauth_hold(
        conn,
        preauth_txn_id=preauth["id"],
        amount=held,
        currency=inp.currency,
        at=inp.received_at,
        reason="completion",
        by_transaction_id=txn_id,
    )
    return _price_and_post(conn, inp, txn_id, result, kind="completion_advice" if advice else "completion")


# ----------------------------------------------------------------------------- reversal
def apply_reversal(conn: Connection, inp: ReversalInput) -> AuthResult:
    """Undo the original once (issuer effect, journals, related status); record orphans too."""
    t = inp.terminal
    existing = find_message(conn, t.terminal_id, inp.batch, inp.stan, "0400")
    if existing is not None:
        if differences := reversal_repeat_differences(conn, existing, inp):
            return _refuse_duplicate(
                conn, existing, t, "0400", inp.received_at, differences, currency=inp.currency
            )
        return AuthResult.from_row(existing)
    original = (
        conn.execute(
            select(transactions).where(
                transactions.c.terminal_id == t.terminal_id,
                transactions.c.batch_no
                == (inp.original_batch if inp.original_batch is not None else inp.batch),
                transactions.c.stan == (inp.original_stan if inp.original_stan is not None else inp.stan),
                transactions.c.mti == inp.original_mti,
                transactions.c.txn_type == inp.original_type,
            )
        )
        .mappings()
        .first()
    )
    if original is None:
        outcome, status, original_id = "no original found; recorded", "orphan", None
    elif original["status"] in ("declined", "reversed"):
        outcome, status, original_id = (
            f"original was {original['status']}; nothing to reverse",
            "noop",
            original["id"],
        )
    elif (refusal := reversal_mismatch(original, inp)) is not None:
        # Neither dialect defines a partial reversal (field 95 is not used): refuse and change
        # nothing. Not stored under the key, so the matching reversal can still follow.
        _flag_reversal_mismatch(conn, original, inp, refusal)
        return AuthResult(*refusal, currency=inp.currency)
    else:
        outcome, status, original_id = "original reversed", "applied", original["id"]
        _undo(conn, original, inp)
    result = AuthResult("00", outcome, currency=inp.currency)
    stored = result.to_json()
    if original is None:
        # ascii87 reversals have their own trace: remember what they named, so the late original is refused
        stored["orphan_of"] = _named_original(inp)
    row_id = inserted_id(
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
                response=stored,
            )
        )
    )
    return dataclasses.replace(result, transaction_id=row_id)


def reversal_mismatch(original: Any, inp: ReversalInput) -> tuple[str, str] | None:
    """Why a reversal does not describe its original: 25 another card, 64 another amount."""
    if inp.pan_hash is not None and original["pan_hash"] is not None and inp.pan_hash != original["pan_hash"]:
        return "25", "no original with this card; nothing reversed"
    if inp.amount_sent and inp.amount != int(original["amount"]):
        return "64", f"amount {inp.amount} is not the original's {int(original['amount'])}; nothing reversed"
    return None


def _named_original(inp: ReversalInput) -> dict[str, Any]:
    """The original a reversal names: cups by its own key, ascii87 by field 90."""
    return {
        "batch": inp.original_batch if inp.original_batch is not None else inp.batch,
        "stan": inp.original_stan if inp.original_stan is not None else inp.stan,
        "mti": inp.original_mti,
        "type": inp.original_type,
    }


def reversal_repeat_differences(conn: Connection, existing: Any, inp: ReversalInput) -> list[str]:
    """What a repeated reversal changed against the stored one: the original it names, its card
    or its amount (an ascii87 reversal has its own trace, so a reused trace can name another sale)."""
    named = _named_original(inp)
    if existing["original_id"] is None:  # an orphan: it kept what it named
        differences = [] if (existing["response"] or {}).get("orphan_of") == named else ["original"]
        if inp.amount_sent and inp.amount != int(existing["amount"]):
            differences.append("amount")
        return differences
    original = (
        conn.execute(select(transactions).where(transactions.c.id == existing["original_id"]))
        .mappings()
        .one()
    )
    stored = {
        "batch": original["batch_no"],
        "stan": original["stan"],
        "mti": original["mti"],
        "type": original["txn_type"],
    }
    if stored != named:
        return ["original"]
    mismatch = reversal_mismatch(original, inp)
    if mismatch is None:
        return []
    return ["card" if mismatch[0] == "25" else "amount"]


def _flag_reversal_mismatch(
    conn: Connection, original: Any, inp: ReversalInput, refusal: tuple[str, str]
) -> None:
    """A reversal that names a sale by its key but describes another one is suspicious: a
    terminal bug at best, at worst an attempt to return more money than was charged."""
    difference = "card" if refusal[0] == "25" else "amount"
    t = inp.terminal
    raise_flag(
        conn,
        key=f"reversal_mismatch:{original['id']}:{inp.received_at.isoformat()}",
        kind="reversal_mismatch",
        severity="high",
        summary=(
            f"terminal {t.terminal_id} reversal of batch {original['batch_no']} trace "
            f"{int(original['stan']):06d} named another {difference}; nothing reversed ({refusal[0]})"
        ),
        details={"difference": difference, "original_id": original["id"], "response_code": refusal[0]},
        now=inp.received_at,
        merchant_id=t.merchant_id,
        terminal_id=t.terminal_id,
        transaction_id=original["id"],
    )


def _undo(conn: Connection, original: Any, inp: ReversalInput) -> None:
    effect = (
        conn.execute(
            select(transaction_effects).where(transaction_effects.c.transaction_id == original["id"])
        )
        .mappings()
        .first()
    )
    if effect is not None and effect["issuer_account_id"] is not None:
        _move_funds(
            conn,
            effect["issuer_account_id"],
            balance_delta=-effect["balance_delta"],
            holds_delta=-effect["holds_delta"],
            issuer_day=inp.issuer_day,
        )
    if effect is not None and effect["related_id"] is not None and effect["related_status_before"]:
        conn.execute(
            update(transactions)
            .where(transactions.c.id == effect["related_id"])
            .values(status=effect["related_status_before"])
        )
    if original["txn_type"] == "completion_void" and effect is not None and effect["related_id"] is not None:
        # the completion is back, so its pre-authorisation is consumed again
        consumed = conn.execute(
            select(transaction_effects.c.related_id).where(
                transaction_effects.c.transaction_id == effect["related_id"]
            )
        ).scalar()
        if consumed is not None:
            conn.execute(update(transactions).where(transactions.c.id == consumed).values(status="completed"))
    negate_transaction(conn, txn_id=original["id"], at=inp.received_at, reason="reversal")
    conn.execute(
        update(transactions)
        .where(transactions.c.id == original["id"])
        .values(status="reversed", reversed_at=inp.received_at)
    )
