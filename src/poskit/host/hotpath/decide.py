"""Sales, pre-authorisations and balance inquiries decided in Python over the host's memory.

The rules are the SQL path's (:mod:`poskit.host.authorization`, :mod:`poskit.host.issuer`),
applied to :class:`~poskit.host.hotpath.state.HostState`; the outcome is the answer plus
the rows the SQL path would have written (transaction, effects, journal, entries, fee line,
issuer card and account changes). Anything rarer than a fresh request — a repeat, a late
original, a flag to raise, a ledger account not yet created — returns ``None``: the writer
then runs the SQL path itself for that request, so those rules live in one place.

Nothing in the state changes until the whole decision is made: a decision that fails
leaves the memory as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from poskit.host.authorization import AuthResult, TxnInput, stored_response
from poskit.host.hotpath.state import AccountState, HostState
from poskit.host.issuer import IssuerCard, IssuerDecision, PinCheck, check_card_state
from poskit.ledger.accounts import (
    AccountRef,
    acquirer_fee_income,
    issuer_settlement,
    merchant_payable,
    preauth_holds,
)
from poskit.ledger.fees import quote_fee, rule_for_card
from poskit.ledger.monitoring import mcc_from_merchant_no
from poskit.money import Amount
from poskit.signature_rule import cvm_from_hex, signature_required

__all__ = ["KINDS", "Decision", "GroupRows", "decide"]

#: The request kinds decided in memory (the rest runs on the SQL path).
KINDS = frozenset({"sale", "preauth", "balance"})


@dataclasses.dataclass
class GroupRows:
    """The rows of one commit group, by table, in the order they are written."""

    transactions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    journals: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    entries: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    effects: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    fee_lines: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    cards: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    accounts: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def extend(self, other: GroupRows) -> None:
        for field in dataclasses.fields(self):
            getattr(self, field.name).extend(getattr(other, field.name))

    def __len__(self) -> int:
        return sum(len(getattr(self, f.name)) for f in dataclasses.fields(self))


@dataclasses.dataclass
class Decision:
    """One request's answer, its rows, and the memory changes to apply once it is complete."""

    result: AuthResult
    rows: GroupRows
    card: tuple[str, IssuerCard] | None = None
    account: AccountState | None = None
    key: tuple[str, int, int, str] | None = None

    def apply(self, state: HostState) -> None:
        if self.card is not None:
            state.cards[self.card[0]] = self.card[1]
        if self.account is not None:
            state.accounts[self.account.id] = self.account
        if self.key is not None:
            state.messages.add(*self.key)


def _description(inp: TxnInput, rrn: str | None) -> str:
    return f"{inp.txn_type} {rrn} terminal {inp.terminal.terminal_id} voucher {inp.stan:06d}"


class _Builder:
    """Collects one decision's rows and changes (the SQL path's helpers, as row builders)."""

    def __init__(self, state: HostState, inp: TxnInput, next_id: Callable[[str], int]) -> None:
        self.state, self.inp, self.next_id = state, inp, next_id
        self.rows = GroupRows()
        self.card: tuple[str, IssuerCard] | None = None
        self.account: AccountState | None = None

    def transaction(self, result: AuthResult, status: str, account_id: int | None) -> int:
        inp, t = self.inp, self.inp.terminal
        submitted = inp.submitted_merchant_no or t.merchant_no
        mcc = submitted[7:11] if len(submitted) == 15 and submitted[7:11].isdigit() else t.mcc
        txn_id = self.next_id("transactions")
        rrn = f"{inp.julian}{txn_id % 100_000_000:08d}" if result.response_code == "00" else None
        self.rows.transactions.append(
            {
                "id": txn_id,
                "terminal_id": t.terminal_id,
                "merchant_id": t.merchant_id,
                "mti": inp.mti,
                "txn_type": inp.txn_type,
                "stan": inp.stan,
                "batch_no": inp.batch,
                "local_datetime": inp.local_datetime,
                "received_at": inp.received_at,
                "amount": inp.amount,
                "currency": inp.currency,
                "pan_hash": inp.card.pan_hash,
                "pan_token": inp.card.pan_token,
                "pan_masked": inp.card.pan_masked,
                "card_scheme": inp.card.scheme,
                "funding": inp.card.funding,
                "origin": inp.card.origin,
                "entry_mode": inp.card.entry_mode,
                "pin_entered": inp.card.pin_entered,
                "signature_required": status != "declined"
                and signature_required(
                    inp.txn_type, cvm_from_hex(inp.card.entry_mode, inp.card.pin_entered, inp.emv)
                ),
                "mcc": mcc,
                "response_code": result.response_code,
                "auth_code": result.auth_code,
                "rrn": rrn,
                "settlement_date": result.settlement_date,
                "status": status,
                "issuer_account_id": account_id,
                "fee": 0,
                "message": result.message[:120],
                "response": None,  # filled by finish()
            }
        )
        return txn_id

    def finish(self, result: AuthResult) -> AuthResult:
        row = self.rows.transactions[-1]
        row["response"] = stored_response(result, self.inp)
        row["fee"] = result.fee
        return dataclasses.replace(result, transaction_id=row["id"])

    def decline(self, code: str, message: str) -> AuthResult:
        result = AuthResult(code, message, currency=self.inp.currency)
        self.transaction(result, "declined", None)
        return self.finish(result)

    def accounts_for(self, lines: list[tuple[AccountRef, int]]) -> list[tuple[int, int]] | None:
        """Ledger account ids for the lines that post (non-zero); None if one is not created yet."""
        out = []
        for ref, amount in lines:
            if amount == 0:
                continue
            account_id = self.state.ledger_accounts.get(ref.code)
            if account_id is None:
                return None
            out.append((account_id, amount))
        return out

    def journal(self, *, kind: str, txn_id: int, rrn: str | None, lines: list[tuple[int, int]]) -> int:
        inp = self.inp
        journal_id = self.next_id("journal_entries")
        self.rows.journals.append(
            {
                "id": journal_id,
                "idempotency_key": f"txn:{txn_id}:{kind}",
                "kind": kind,
                "transaction_id": txn_id,
                "merchant_id": inp.terminal.merchant_id,
                "description": _description(inp, rrn),
                "currency": inp.currency,
                "posted_at": inp.received_at,
            }
        )
        self.rows.entries.extend(
            {"journal_id": journal_id, "account_id": account, "amount": amount, "currency": inp.currency}
            for account, amount in lines
            if amount != 0
        )
        return journal_id

    def effect(self, txn_id: int, account_id: int, *, balance_delta: int, holds_delta: int = 0) -> None:
        self.rows.effects.append(
            {
                "transaction_id": txn_id,
                "issuer_account_id": account_id,
                "balance_delta": balance_delta,
                "holds_delta": holds_delta,
            }
        )

    def change_card(self, pan_hash: str, card: IssuerCard) -> None:
        self.card = (pan_hash, card)

    def change_account(self, before: AccountState, after: AccountState) -> None:
        self.account = after
        self.rows.accounts.append(
            {
                "id": after.id,
                "balance_delta": after.balance - before.balance,
                "holds_delta": after.holds - before.holds,
                "daily_spent": after.daily_spent,
                "daily_date": after.daily_date,
            }
        )

    def decision(self, result: AuthResult) -> Decision:
        if self.card is not None:
            card = self.card[1]
            self.rows.cards.append(
                {"id": card.id, "pin_tries": card.pin_tries, "last_online_atc": card.last_online_atc}
            )
        inp = self.inp
        key = (inp.terminal.terminal_id, inp.batch, inp.stan, inp.mti)
        return Decision(result, self.rows, self.card, self.account, key)


def _needs_sql(state: HostState, inp: TxnInput) -> bool:
    """A repeat, a late original or a flag to raise: the SQL path answers those."""
    t = inp.terminal
    keys = state.messages.known(t.terminal_id, inp.batch)
    if keys is None or (inp.stan, inp.mti) in keys or (inp.stan, "0400") in keys:
        return True
    if (t.terminal_id, inp.batch, inp.stan, inp.mti, inp.txn_type) in state.messages.orphans:
        return True
    submitted = inp.submitted_merchant_no or t.merchant_no
    if submitted.strip() != t.merchant_no:
        return True
    mcc = mcc_from_merchant_no(submitted)
    return mcc is not None and mcc != t.mcc


def _pin(card: IssuerCard, pin: str, pin_required: bool) -> tuple[IssuerDecision | None, IssuerCard]:
    """The try counter (as :func:`poskit.host.issuer._apply_pin`): a refusal, and the card after it."""
    if pin == PinCheck.ABSENT:
        if pin_required:
            return IssuerDecision("55", "PIN required but not entered", card.id, card.account_id), card
        return None, card
    if card.pin_tries >= card.pin_try_limit:
        return IssuerDecision("75", "PIN tries exceeded", card.id, card.account_id), card
    if pin == PinCheck.WRONG:
        tries = card.pin_tries + 1
        code = "75" if tries >= card.pin_try_limit else "55"
        refusal = IssuerDecision(
            code, f"wrong PIN ({tries} of {card.pin_try_limit} tries)", card.id, card.account_id
        )
        return refusal, dataclasses.replace(card, pin_tries=tries)
    if card.pin_tries:
        return None, dataclasses.replace(card, pin_tries=0)
    return None, card


def decide(state: HostState, inp: TxnInput, kind: str, next_id: Callable[[str], int]) -> Decision | None:
    """The answer and rows for a fresh sale, pre-authorisation or balance inquiry; None: use SQL."""
    if kind not in KINDS or _needs_sql(state, inp):
        return None
    b = _Builder(state, inp, next_id)
    pan_hash = inp.card.pan_hash
    card = state.cards.get(pan_hash)
    if card is None:
        return b.decision(b.decline("14", "no such card at the issuer"))
    account = state.accounts.get(card.account_id)
    if account is None:
        return None
    changed = card
    if inp.atc is not None:
        changed = dataclasses.replace(changed, last_online_atc=inp.atc)
    amount = 0 if kind == "balance" else inp.amount
    pin_required = True if kind == "balance" else inp.pin_required
    refusal = check_card_state(card, presented_expiry=inp.card.expiry, now=inp.business_date)
    if refusal is None:
        refusal, after_pin = _pin(changed, inp.pin_check, pin_required)
        changed = after_pin
    if refusal is None:
        spent = account.daily_spent if account.daily_date == inp.issuer_day else 0
        if account.currency != inp.currency:
            refusal = IssuerDecision(
                "13",
                f"account currency {account.currency} differs from {inp.currency}",
                balance=account.balance,
            )
        elif account.daily_limit is not None and spent + amount > account.daily_limit:
            refusal = IssuerDecision("61", "daily limit exceeded", balance=account.balance)
        elif amount > account.balance:
            refusal = IssuerDecision("51", "insufficient funds", balance=account.balance)
    if changed != card:
        b.change_card(pan_hash, changed)
    if refusal is not None:
        result = b.decline(refusal.response_code, refusal.reason)
        if refusal.response_code == "51":
            result = dataclasses.replace(result, balance=refusal.balance)
        return b.decision(result)
    return _approve(b, kind, account, amount)


def _approve(b: _Builder, kind: str, account: AccountState, amount: int) -> Decision | None:
    inp = b.inp
    t = inp.terminal
    spent = account.daily_spent if account.daily_date == inp.issuer_day else 0
    after = dataclasses.replace(
        account,
        balance=account.balance - amount,
        daily_spent=spent + amount,
        daily_date=inp.issuer_day,
        holds=account.holds + amount if kind == "preauth" else account.holds,
    )
    result = AuthResult(
        "00",
        "approved",
        auth_code=None if kind == "balance" else inp.auth_code,
        settlement_date=inp.settlement_date,
        balance=after.balance,
        currency=inp.currency,
    )
    status = "authorized" if kind == "preauth" else "approved"
    txn_id = b.transaction(result, status, account.id)
    rrn = b.rows.transactions[-1]["rrn"]
    result = dataclasses.replace(result, rrn=rrn)
    b.change_account(account, after)
    cur = inp.currency
    if kind == "sale":
        schedule = b.state.schedule_at(t.merchant_id, inp.received_at)
        quote = (
            quote_fee(schedule, rule_for_card(inp.card.funding, inp.card.origin), Amount.of(amount, cur))
            if schedule is not None
            else None
        )
        fee = quote.fee.minor if quote is not None else 0
        lines = b.accounts_for(
            [
                (issuer_settlement(cur), amount),
                (merchant_payable(t.merchant_id, t.merchant_no, cur), -(amount - fee)),
                (acquirer_fee_income(cur), -fee),
            ]
        )
        if lines is None:
            return None  # the first posting to an account creates it: the SQL path does that
        b.effect(txn_id, account.id, balance_delta=-amount)
        journal_id = b.journal(kind="sale", txn_id=txn_id, rrn=rrn, lines=lines)
        if quote is not None:
            b.rows.fee_lines.append(
                {
                    "transaction_id": txn_id,
                    "merchant_id": t.merchant_id,
                    "schedule_id": quote.schedule_id,
                    "schedule_version": quote.schedule_version,
                    "rule": quote.rule,
                    "base": quote.base.minor,
                    "amount": quote.fee.minor,
                    "currency": quote.fee.currency.code,
                    "formula": quote.formula,
                    "journal_id": journal_id,
                    "created_at": inp.received_at,
                }
            )
            result = dataclasses.replace(result, fee=fee, fee_formula=quote.formula)
    elif kind == "preauth":
        lines = b.accounts_for([(issuer_settlement(cur), amount), (preauth_holds(cur), -amount)])
        if lines is None:
            return None
        b.effect(txn_id, account.id, balance_delta=-amount, holds_delta=amount)
        b.journal(kind="preauth", txn_id=txn_id, rrn=rrn, lines=lines)
    return b.decision(b.finish(result))
