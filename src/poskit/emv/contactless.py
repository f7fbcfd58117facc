"""Contactless: entry point and a single-tap qPBOC/qVSDC-like online flow.

Entry point (EMV Contactless Book B, simplified):

* **pre-processing** before the card is activated, per contactless AID of the terminal:
  amount at or above the contactless transaction limit -> that AID is not allowed; when
  no AID is left the outcome is ``insert_card`` ("please insert or swipe"). Amount above
  the CVM-required limit -> "CVM required" in the TTQ; above the contactless floor limit
  (or a zero floor limit) -> "online cryptogram required".
* **PPSE** (``2PAY.SYS.DDF01``) lists the card's contactless applications; the highest
  priority one the terminal supports is selected.

Single tap (qPBOC / qVSDC style): GET PROCESSING OPTIONS carries the Terminal Transaction
Qualifiers (``9F66``) and the transaction data in the PDOL; the card performs its risk
management and returns the ARQC in the GPO response (format 2) together with track 2,
the ATC, the IAD and its Card Transaction Qualifiers (``9F6C``). The reader reads the
records listed by the AFL, then the card may be removed.

CVM (reference §2.1/2.2): up to the CVM-required limit (QPS "small amount", 1000.00 CNY by
default, from the host parameters) no PIN and no signature. Above it the card's CTQ
decides: online PIN if the card asks for it and the reader supports it, consumer-device CVM
if the phone already verified the cardholder, signature if asked and supported; otherwise
the cardholder is asked to use another interface.

The 95 (TVR) in field 55 is the one sent in the GPO, because the ARQC covers it.
Issuer scripts and a second GENERATE AC do not exist in this flow (the card is gone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from poskit.emv.apdu import select
from poskit.emv.config import AidConfig
from poskit.emv.context import SWITCH_INTERFACE_SW, CardError, TransactionContext
from poskit.emv.cryptogram import cryptogram_type
from poskit.emv.field55 import REQUEST_TAGS, REVERSAL_TAGS, build_icc_data
from poskit.emv.outcome import FirstPhase, Outcome, SecondPhase
from poskit.emv.selection import Candidate, candidates_from_ppse, order_candidates
from poskit.emv.tlv import TlvError, decode, flatten

__all__ = [
    "CVM_RESULTS_CDCVM",
    "CVM_RESULTS_NO_CVM",
    "CVM_RESULTS_ONLINE_PIN",
    "CVM_RESULTS_SIGNATURE",
    "complete",
    "pre_process",
    "run",
    "terminal_transaction_qualifiers",
]

#: 9F34 written by the reader (the contactless card returns no CVM results of its own).
CVM_RESULTS_NO_CVM = bytes.fromhex("1F0002")
CVM_RESULTS_ONLINE_PIN = bytes.fromhex("020000")
CVM_RESULTS_SIGNATURE = bytes.fromhex("1E0000")
#: Consumer device CVM, written as EMV contactless kernel 2 does ("plaintext PIN, successful").
CVM_RESULTS_CDCVM = bytes.fromhex("010002")


def _allowed(aid: AidConfig, amount: int) -> bool:
    limit = aid.contactless_limits.transaction_limit
    return limit is None or amount < limit


def pre_process(ctx: TransactionContext) -> FirstPhase | None:
    """Entry point pre-processing; a result means "do not activate the card"."""
    if not ctx.config.contactless_enabled:
        return ctx.first_phase("try_another_interface", "contactless not available: insert card")
    aids = [a for a in ctx.config.aids if a.contactless]
    if not aids or not any(_allowed(a, ctx.amount.minor) for a in aids):
        return ctx.first_phase("insert_card", "amount above the contactless limit: please insert or swipe")
    return None


def terminal_transaction_qualifiers(ctx: TransactionContext, aid: AidConfig) -> bytes:
    """TTQ (9F66) for this transaction and application."""
    limits = aid.contactless_limits
    amount = ctx.amount.minor
    byte1 = 0x20 | 0x10  # qVSDC/qPBOC supported, EMV contact chip supported
    if ctx.config.supports_online_pin:
        byte1 |= 0x04
    if ctx.config.contactless_signature and ctx.config.supports_signature:
        byte1 |= 0x02
    byte2 = 0x00
    if limits.floor_limit == 0 or amount > limits.floor_limit:
        byte2 |= 0x80  # online cryptogram required
    if amount > limits.cvm_required_limit:
        byte2 |= 0x40  # CVM required
    return bytes([byte1, byte2, 0x00, 0x80])


def run(ctx: TransactionContext, choose: Callable[[Sequence[Candidate]], int] | None = None) -> FirstPhase:
    """The single tap. ``choose`` is unused: contactless never asks the cardholder."""
    del choose
    candidates = order_candidates(candidates_from_ppse(ctx.channel, ctx.config))
    candidates = [
        c
        for c in candidates
        if (cfg := ctx.config.aid(c.aid)) is not None and _allowed(cfg, ctx.amount.minor)
    ]
    if not candidates:
        return ctx.first_phase(
            "try_another_interface", "no contactless application for this amount: insert card"
        )
    for candidate in candidates:
        response = ctx.send(select(bytes.fromhex(candidate.aid)))
        if not response.ok:
            continue
        try:
            fci = flatten(decode(response.data))
        except TlvError:
            continue
        ctx.select_application(candidate, fci)
        break
    else:
        return ctx.first_phase("try_another_interface", "card application not available: insert card")
    aid = ctx.aid_config
    if aid is None:  # pragma: no cover - candidates were filtered by the config
        raise CardError("selected application unknown to the terminal")
    ttq = terminal_transaction_qualifiers(ctx, aid)
    ctx.terminal["9F66"] = ttq
    if "9F38" not in ctx.fci:
        return ctx.first_phase("try_another_interface", "card has no contactless PDOL: insert card")
    response = ctx.get_processing_options()
    if response.sw in SWITCH_INTERFACE_SW:
        return ctx.first_phase("try_another_interface", "card asks for another interface: insert card")
    if not response.ok:
        raise CardError(f"GET PROCESSING OPTIONS: {response.meaning}")
    if "9F26" not in ctx.card or "9F27" not in ctx.card:
        return ctx.first_phase("try_another_interface", "card did not complete the tap: insert card")
    request_values = ctx.values()  # TVR as sent in the GPO: covered by the ARQC
    ctx.read_application_data()
    ac_type = cryptogram_type(ctx.card["9F27"][0])
    values = {**ctx.values(), "95": request_values["95"]}
    if ac_type == "AAC":
        values["8A"] = b"Z1"
        return ctx.first_phase("declined_offline", "declined by the card", values=values, extra_tags=("8A",))
    if ac_type != "ARQC":
        raise CardError(f"card returned {ac_type}; this reader only approves online")
    outcome = _contactless_cvm(ctx, ttq)
    values["9F34"] = ctx.terminal["9F34"]
    if outcome is not None:
        return ctx.first_phase(outcome[0], outcome[1], values=values)
    return ctx.first_phase("online", "authorise online", values=values)


def _contactless_cvm(ctx: TransactionContext, ttq: bytes) -> tuple[Outcome, str] | None:
    """Set ``ctx.cvm``/9F34; returns (outcome, message) when the tap cannot go online."""
    if not ttq[1] & 0x40:
        ctx.cvm = "no_cvm"
        ctx.terminal["9F34"] = CVM_RESULTS_NO_CVM
        return None
    ctq = ctx.card.get("9F6C")
    config = ctx.config
    wants_pin = ctq is None or bool(ctq[0] & 0x80)
    if ctq is not None and len(ctq) > 1 and ctq[1] & 0x80:
        # The phone verified the cardholder itself (consumer device CVM).
        ctx.cvm = "no_cvm"
        ctx.consumer_device_cvm = True
        ctx.terminal["9F34"] = CVM_RESULTS_CDCVM
        return None
    if wants_pin and config.supports_online_pin:
        if ctx.pin_entry.online_pin(pan=ctx.pan or "", amount=ctx.amount):
            ctx.cvm = "online_pin"
            ctx.terminal["9F34"] = CVM_RESULTS_ONLINE_PIN
            return None
        ctx.cvm = "failed"
        ctx.terminal["9F34"] = bytes.fromhex("020001")
        return ("declined_offline", "PIN entry cancelled")
    signature_asked = ctq is None or bool(ctq[0] & 0x40)
    if signature_asked and config.contactless_signature and config.supports_signature:
        ctx.cvm = "signature"
        ctx.signature_required = True
        ctx.terminal["9F34"] = CVM_RESULTS_SIGNATURE
        return None
    ctx.cvm = "failed"
    ctx.terminal["9F34"] = bytes.fromhex("3F0001")
    return ("try_another_interface", "cardholder verification not possible by tap: insert card")


def complete(
    ctx: TransactionContext, *, host_reached: bool, response_code: str | None, approved: bool
) -> SecondPhase:
    """No second GENERATE AC after a tap: the host's answer is final."""
    values = ctx.values()
    if host_reached and response_code:
        values["8A"] = response_code.encode("ascii", "replace")[:2]
    message = (
        "approved"
        if approved
        else "declined: host unreachable"
        if not host_reached
        else "declined by the issuer"
    )
    return SecondPhase(
        approved=approved,
        message=message,
        cryptogram=values.get("9F26"),
        cid=values["9F27"][0] if "9F27" in values else None,
        reversal_required=False,
        icc_data=build_icc_data(values, (*REQUEST_TAGS, "8A")),
        reversal_icc_data=build_icc_data(values, REVERSAL_TAGS),
        tvr=ctx.tvr.to_bytes(),
        tsi=ctx.tsi.to_bytes(),
        authorisation_response_code=response_code,
    )
