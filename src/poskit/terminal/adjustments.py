"""Voids, refunds and the pre-authorisation family at the terminal.

* void (消费撤销) and completion void: the current batch only, by voucher number, with
  the supervisor password; the card number comes from the batch record;
* refund (退货): by the original's reference number and date, with the supervisor
  password, never above the original (the host checks the cumulative total), within
  the allowed days; an advice that is re-sent until the host confirms it;
* pre-authorisation cancel and completion: by the authorisation code (and date) of
  the pre-authorisation.

Where the terminal does not hold the original (another terminal, an old batch), the
card is swiped to identify the account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poskit.cards.track2 import Track2
from poskit.iso8583.model import Original, TxnType
from poskit.money import Amount
from poskit.terminal.operators import SUPERVISOR, check_operator_password
from poskit.terminal.store import BatchRecord

if TYPE_CHECKING:
    from poskit.terminal.engine import TerminalEngine, TxnOutcome

__all__ = ["completion", "completion_void", "preauth_cancel", "refund", "supervisor_check", "void"]


async def supervisor_check(engine: TerminalEngine, password: str | None) -> TxnOutcome | None:
    """None when the supervisor password is right, else the refusal."""
    if password is None:
        password = await engine.devices.keypad.read_text("Supervisor password", secret=True, max_length=12)
    if password is None:
        return engine._fail("supervisor password required")
    check = check_operator_password(
        engine.store, SUPERVISOR, password, now=engine.devices.clock.now(), zone=engine.timezone
    )
    if not check.ok:
        engine.store.log_event("supervisor_refused", reason=check.message)
        return engine._fail(f"supervisor: {check.message}")
    return None


def _original(record: BatchRecord, txn_type: TxnType) -> Original:
    return Original(
        batch=record.batch_no,
        stan=record.stan,
        date=record.local_datetime.strftime("%m%d"),
        rrn=record.rrn,
        auth_code=record.auth_code,
        txn_type=txn_type,
    )


async def _ready(engine: TerminalEngine) -> TxnOutcome | None:
    if engine.profile.operator is None:
        return engine._fail("no operator signed in: sign in first (poskit login 01)")
    return await engine.ensure_ready()


async def _card(
    engine: TerminalEngine, record: BatchRecord | None, amount: Amount
) -> tuple[str, Track2 | None, str] | TxnOutcome:
    """The account to adjust: from the terminal's own record, else from a swipe."""
    if record is not None and record.pan_token:
        return engine.element.reveal_pan(record.pan_token), None, "manual"
    presentation = await engine.devices.card_reader.read_card(
        f"{amount.currency.code} {amount.grouped()}: swipe the card of the original transaction",
        allowed=("swipe", "manual"),
    )
    if presentation is None:
        return engine._fail(
            "the original is not on this terminal: swipe the card of the original transaction"
        )
    if presentation.track2 is not None:
        return presentation.track2.pan, presentation.track2, "swipe"
    if presentation.pan:
        return presentation.pan, None, "manual"
    return engine._fail("the card could not be read")


async def void(
    engine: TerminalEngine, voucher: int, supervisor_password: str | None, *, txn_type: TxnType = TxnType.VOID
) -> TxnOutcome:
    """Void a sale (or, with COMPLETION_VOID, a completion) of the current batch."""
    original_type = TxnType.SALE if txn_type == TxnType.VOID else TxnType.COMPLETION
    refused = await supervisor_check(engine, supervisor_password)
    if refused is not None:
        return refused
    batch = engine.store.batch_no()
    record = engine.store.find_voucher(voucher, batch_no=batch)
    if record is None:
        older = engine.store.find_voucher(voucher)
        if older is not None and older.batch_no != batch:
            return engine._fail(
                f"voucher {voucher:06d} was settled in batch {older.batch_no:06d}: use a refund instead",
                response_code="22",
            )
        return engine._fail(f"no voucher {voucher:06d} in the current batch {batch:06d}")
    if record.txn_type != original_type.value:
        return engine._fail(f"voucher {voucher:06d} is a {record.txn_type}, not a {original_type.value}")
    if record.status != "approved":
        return engine._fail(f"voucher {voucher:06d} is already {record.status}")
    blocked = await _ready(engine)
    if blocked is not None:
        return blocked
    amount = Amount.of(record.amount, record.currency)
    store = engine.store

    def mark_voided(_new: BatchRecord) -> None:
        store.update_record(record.id, status="voided")
        if txn_type == TxnType.COMPLETION_VOID and record.original_stan is not None:
            preauth = next(
                (
                    r
                    for r in store.records()
                    if r.stan == record.original_stan and r.txn_type == TxnType.PREAUTH.value
                ),
                None,
            )
            if preauth is not None:
                store.update_record(preauth.id, status="approved")  # open again

    return await engine._authorise(
        amount,
        track=None,
        pan=engine.element.reveal_pan(record.pan_token or ""),
        entry="manual",
        pin_block=None,
        txn_type=txn_type,
        original=_original(record, original_type),
        record_extra={"original_stan": record.stan},
        after_approved=mark_voided,
    )


async def refund(
    engine: TerminalEngine, amount: Amount, rrn: str, date_mmdd: str, supervisor_password: str | None
) -> TxnOutcome:
    """Refund by reference number and date; the host refuses more than what is left (64)."""
    if len(rrn) != 12:
        return engine._fail("--rrn must be the 12-character reference number of the original")
    if len(date_mmdd) != 4 or not date_mmdd.isdigit() or not 1 <= int(date_mmdd[:2]) <= 12:
        return engine._fail("--date must be the original's date as MMDD")
    if amount.minor <= 0:
        return engine._fail("amount must be greater than zero")
    refused = await supervisor_check(engine, supervisor_password)
    if refused is not None:
        return refused
    blocked = await _ready(engine)
    if blocked is not None:
        return blocked
    record = next((r for r in reversed(engine.store.records()) if r.rrn == rrn), None)
    card = await _card(engine, record, amount)
    if not isinstance(card, tuple):
        return card
    pan, track, entry = card
    original = Original(date=date_mmdd, rrn=rrn, txn_type=TxnType.SALE)
    return await engine._authorise(
        amount,
        track=track,
        pan=pan,
        entry=entry,
        pin_block=None,
        txn_type=TxnType.REFUND,
        original=original,
        record_extra={"original_stan": record.stan if record else None},
    )


def _find_preauth(engine: TerminalEngine, auth_code: str) -> BatchRecord | None:
    return next(
        (
            r
            for r in reversed(engine.store.records())
            if r.txn_type == TxnType.PREAUTH.value and (r.auth_code or "").strip() == auth_code
        ),
        None,
    )


async def _on_preauth(
    engine: TerminalEngine,
    txn_type: TxnType,
    amount: Amount,
    auth_code: str,
    date_mmdd: str,
    *,
    new_status: str,
) -> TxnOutcome:
    """Cancel or complete the pre-authorisation with this authorisation code."""
    blocked = await _ready(engine)
    if blocked is not None:
        return blocked
    record = _find_preauth(engine, auth_code)
    card = await _card(engine, record, amount)
    if not isinstance(card, tuple):
        return card
    pan, track, entry = card
    store = engine.store
    return await engine._authorise(
        amount,
        track=track,
        pan=pan,
        entry=entry,
        pin_block=None,
        txn_type=txn_type,
        original=Original(
            batch=record.batch_no if record else None,
            stan=record.stan if record else None,
            date=date_mmdd,
            auth_code=auth_code,
            txn_type=TxnType.PREAUTH,
        ),
        record_extra={"original_stan": record.stan if record else None},
        after_approved=(lambda _new: store.update_record(record.id, status=new_status)) if record else None,
    )


async def preauth_cancel(
    engine: TerminalEngine, amount: Amount, auth_code: str, date_mmdd: str, supervisor_password: str | None
) -> TxnOutcome:
    """Cancel a pre-authorisation (releases the hold at the issuer)."""
    refused = await supervisor_check(engine, supervisor_password)
    if refused is not None:
        return refused
    return await _on_preauth(
        engine,
        TxnType.PREAUTH_VOID,
        amount,
        auth_code,
        date_mmdd,
        new_status="cancelled",
    )


async def completion(engine: TerminalEngine, amount: Amount, auth_code: str, date_mmdd: str) -> TxnOutcome:
    """Complete a pre-authorisation for the final amount (at most the held amount + 15%)."""
    return await _on_preauth(
        engine,
        TxnType.COMPLETION,
        amount,
        auth_code,
        date_mmdd,
        new_status="completed",
    )


async def completion_void(
    engine: TerminalEngine, voucher: int, supervisor_password: str | None
) -> TxnOutcome:
    """Void a completion of the current batch (the pre-authorisation is open again)."""
    return await void(engine, voucher, supervisor_password, txn_type=TxnType.COMPLETION_VOID)
