"""Chip and contactless sales: the EMV kernel driven from the terminal engine.

The kernel talks to the card synchronously (APDU in, APDU out), so it runs in a
worker thread; its PIN requests are bridged back to the terminal's async PIN pad
port. An online PIN goes from the PIN pad straight into the secure element (the
kernel only learns that it was entered); an offline PIN goes to the card in VERIFY.

After the host answers, the kernel completes the transaction (issuer
authentication, scripts, second GENERATE AC). A card that declines after the host
approved keeps the reversal record (reason 06) and the payment is reversed; issuer
script results are queued as a script advice (0620).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

from poskit.emv.config import TerminalConfig
from poskit.emv.field55 import split_response_icc_data
from poskit.emv.kernel import EmvKernel
from poskit.emv.outcome import FirstPhase
from poskit.i18n import tries_left_text
from poskit.iso8583.model import Response, TxnType
from poskit.money import Amount
from poskit.terminal.devices.ports import CardPresentation

if TYPE_CHECKING:
    from poskit.terminal.engine import TerminalEngine, TxnOutcome

__all__ = ["emv_summary", "run_emv_sale", "terminal_emv_config"]


def terminal_emv_config(engine: TerminalEngine) -> TerminalConfig:
    """The kernel configuration of this terminal (region from its currency, limits from its parameters)."""
    p = engine.profile
    region: Literal["CN", "NG"] = "NG" if p.currency == "NGN" else "CN"
    overrides: dict[str, Any] = {}
    qps = p.params.get("qps_limit")
    if region == "CN" and isinstance(qps, int):
        overrides["qps_no_cvm_limit"] = qps
    limit = p.params.get("contactless_limit")
    if region == "CN" and isinstance(limit, int):
        overrides["contactless_transaction_limit"] = limit
    mcc = p.merchant_no[7:11] if len(p.merchant_no) == 15 and p.merchant_no[7:11].isdigit() else "5999"
    return TerminalConfig.for_terminal(
        region, terminal_id=p.terminal_id, merchant_id=p.merchant_no, merchant_category_code=mcc, **overrides
    )


class _PinBridge:
    """The kernel's synchronous PinEntry, answered by the terminal's async PIN pad."""

    def __init__(self, engine: TerminalEngine, loop: asyncio.AbstractEventLoop) -> None:
        self._engine = engine
        self._loop = loop
        self.pin_block: bytes | None = None
        self.error: str | None = None

    def _ask(self, prompt: str) -> str | None:
        future = asyncio.run_coroutine_threadsafe(
            self._engine.devices.pin_entry.enter_pin(prompt, min_length=4, max_length=12), self._loop
        )
        return future.result(timeout=300)

    def online_pin(self, *, pan: str, amount: Amount) -> bool:
        pin = self._ask(f"{amount.currency.code} {amount.grouped()}  Enter PIN")
        if pin is None:
            return False
        if not pin.isdigit() or not 4 <= len(pin) <= 12:
            self.error = "a PIN is 4 to 12 digits"
            return False
        self.pin_block = self._engine.element.encrypt_pin(pin, pan)
        return True

    def offline_pin(self, *, tries_left: int | None) -> str | None:
        suffix = f" ({tries_left_text(tries_left)})" if tries_left is not None else ""
        return self._ask(f"Enter PIN{suffix}")


def emv_summary(first: FirstPhase, *, cryptogram: bytes | None = None) -> dict[str, Any]:
    """Chip facts for `poskit pay --json` and the receipt (nothing sensitive)."""
    ac = cryptogram if cryptogram is not None else first.cryptogram
    return {
        "cvm": first.cvm,
        "tvr": first.tvr.hex().upper(),
        "tsi": first.tsi.hex().upper(),
        "aid": first.aid,
        "application_label": first.application_label,
        "application_cryptogram": ac.hex().upper() if ac else None,
        "cryptogram_type": first.cryptogram_type,
        "oda": first.oda,
    }


async def run_emv_sale(
    engine: TerminalEngine,
    amount: Amount,
    presentation: CardPresentation,
    *,
    txn_type: TxnType = TxnType.SALE,
) -> TxnOutcome:
    """A chip (insert) or contactless (tap) sale through the EMV kernel."""
    loop = asyncio.get_running_loop()
    bridge = _PinBridge(engine, loop)
    contactless = presentation.kind == "tap"
    kernel = EmvKernel(
        terminal_emv_config(engine),
        presentation.icc,  # type: ignore[arg-type]
        random=engine._random,
        now=lambda: engine._local_now().replace(tzinfo=None),
        choose_application=None,
        pin_entry=bridge,
    )
    await engine._say("Reading the card... do not remove it")
    first = await asyncio.to_thread(
        kernel.start,
        amount,
        contactless=contactless,
        sequence_number=engine.store.current_stan() + 1,
        transaction_type="31" if txn_type == TxnType.BALANCE else "00",
    )
    entry = "tap" if contactless else "chip"
    engine.last_emv = {"first": first, "trace": kernel.trace}
    base: dict[str, Any] = {"amount": amount, "entry_mode": entry, "extra": emv_summary(first)}
    if bridge.error:
        return engine._fail(bridge.error, **base)
    if first.outcome == "insert_card":
        await engine._say(first.message or "Please insert or swipe the card", "prompt")
        return engine._fail(f"{first.message or 'please insert or swipe the card'}", **base)
    if first.outcome in ("try_another_interface", "card_error"):
        if first.fallback_allowed:
            base["extra"] = {**base["extra"], "chip_read_failed": True}
        advice = (
            "chip could not be read: swipe the card (fallback)"
            if first.fallback_allowed
            else "the card could not be read: try again or use another card"
        )
        return engine._fail(f"{first.message}; {advice}", **base)
    if first.outcome == "declined_offline":
        await engine._say("Declined by the card", "error")
        return _declined_by_card(engine, first, amount, entry)
    if first.pan is None:
        return engine._fail("the card gave no account number", **base)
    if first.outcome == "approved_offline":
        # poskit terminals authorise every sale online (floor limit 0); a card that approves offline
        # still goes online with its cryptogram so the issuer sees it.
        pass
    if first.cvm == "online_pin" and bridge.pin_block is None:
        return engine._fail("PIN entry was cancelled", **base)

    async def after_host(response: Response) -> TxnOutcome | None:
        arpc, scripts = split_response_icc_data(response.icc_data) if response.icc_data else (None, b"")
        second = await asyncio.to_thread(
            kernel.complete,
            host_reached=True,
            response_code=response.response_code,
            issuer_authentication_data=arpc,
            issuer_scripts=scripts or None,
        )
        engine.last_emv = {**(engine.last_emv or {}), "first": first, "second": second}
        if second.script_results:
            engine.queue_script_advice(response, first, second.script_advice_icc_data or second.icc_data)
        if second.reversal_required or not second.approved:
            reversal_id = engine.current_reversal_id
            if reversal_id is not None and second.reversal_icc_data:
                engine.store.set_reversal_icc(reversal_id, second.reversal_icc_data)
            await engine._say("The card declined the approved payment: it will be reversed", "error")
            return engine._fail(
                "the card refused to complete the payment after the host approved it "
                "(issuer authentication or card risk): the payment will be reversed",
                response_code=response.response_code,
                rrn=response.rrn,
                reversal_pending=True,
                terminal=engine.profile.terminal_id,
                amount=amount,
                entry_mode=entry,
                masked_pan=first.pan and (first.pan[:6] + "*" * (len(first.pan) - 10) + first.pan[-4:]),
                extra=emv_summary(first, cryptogram=second.cryptogram),
            )
        return None

    outcome = await engine._authorise(
        amount,
        track=first.track2_equivalent,
        pan=first.pan,
        entry=entry,
        pin_block=bridge.pin_block,
        icc_data=first.icc_data,
        card_sequence=(first.psn or "00").zfill(3),
        expiry=first.expiry,
        on_response=after_host,
        receipt_extra={
            "aid": first.aid or "",
            "app_label": first.application_label or "",
            "cryptogram": (first.cryptogram or b"").hex().upper(),
            "tvr": first.tvr.hex().upper(),
            "tsi": first.tsi.hex().upper(),
        },
        txn_type=txn_type,
        balance_inquiry=txn_type == TxnType.BALANCE,
    )
    outcome.extra.update(emv_summary(first))
    engine.last_emv = {**(engine.last_emv or {}), "first": first, "trace": kernel.trace}
    second = engine.last_emv.get("second")
    if second is not None and second.cryptogram:
        outcome.extra["application_cryptogram"] = second.cryptogram.hex().upper()
    return outcome


def _declined_by_card(engine: TerminalEngine, first: FirstPhase, amount: Amount, entry: str) -> TxnOutcome:
    from poskit.terminal.engine import TxnOutcome

    return TxnOutcome(
        "declined",
        "declined offline by the card (Z1)",
        response_code="Z1",
        terminal=engine.profile.terminal_id,
        amount=amount,
        entry_mode=entry,
        masked_pan=first.pan and first.pan[:6] + "*" * (len(first.pan) - 10) + first.pan[-4:],
        extra=emv_summary(first),
    )
