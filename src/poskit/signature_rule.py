"""Which transactions need the cardholder's signature (签名) — the one rule.

Terminal, host, portal and statements all use this rule, fed with what the request
carries: the transaction type, field 22's PIN digit (an online PIN block was sent) and,
for a chip or a tap, the CVM results (field 55, tag 9F34) with the card transaction
qualifiers (9F6C). The host stores the answer with the transaction
(``transactions.signature_required``); the terminal computes it from the same request
it sends, so both see the same flag for every slip.

The rule (docs/operations.md, "Signatures and 补签"):

* sale, pre-authorisation, completion, completion advice and offline sale: a signature
  is due when the cardholder verification was a signature — signature CVM (1E), PIN and
  signature (03/05), a magstripe or keyed card without a PIN — or when it failed (an
  approval without verification: the signature is the only evidence the merchant can
  still collect). Online PIN, offline PIN (verified by the card), the phone's own
  verification (CDCVM) and no CVM (the small-amount 免密免签 tap, a card without a CVM
  list) need none;
* refund (退货): always — the cardholder signs the merchant copy to acknowledge the
  credit to this card, whatever the card did (a refund carries no PIN);
* void, completion void, pre-authorisation cancel, balance inquiry: never (the void
  slip is kept with the signed original; a balance slip records no payment).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

__all__ = [
    "ALWAYS_SIGNED_TYPES",
    "CVM_SIGNED_TYPES",
    "UNSIGNED_STATUSES",
    "Cvm",
    "cvm_from_hex",
    "cvm_performed",
    "signature_required",
    "signature_waiver",
]


class Cvm(enum.StrEnum):
    """How the cardholder was verified, as the host can tell from the request."""

    ONLINE_PIN = "online_pin"
    OFFLINE_PIN = "offline_pin"  # plaintext or enciphered PIN verified by the card
    CDCVM = "cdcvm"  # verified on the cardholder's phone (consumer device CVM)
    SIGNATURE = "signature"
    NO_CVM = "no_cvm"
    FAILED = "failed"


#: Types whose slip needs a signature when the CVM calls for one.
CVM_SIGNED_TYPES = frozenset({"sale", "preauth", "completion", "completion_advice", "offline_sale_advice"})
#: Types whose slip the cardholder always signs.
ALWAYS_SIGNED_TYPES = frozenset({"refund"})
#: Host statuses of a transaction whose missing signature still matters (补签 list):
#: in force, or a pre-authorisation held or completed. Voided, reversed, declined: no.
UNSIGNED_STATUSES = ("approved", "authorized", "completed")

_CONTACTLESS = ("contactless_chip", "contactless_msd")
_SIGNATURE_METHODS = frozenset({0x1E, 0x03, 0x05})  # signature; PIN verified by the card and signature
_OFFLINE_PIN_METHODS = frozenset({0x01, 0x04})
_NO_CVM_METHODS = frozenset({0x1F, 0x3F})  # no CVM required; no CVM performed (card without a list)


def cvm_performed(entry_mode: str | None, pin_entered: bool, icc: Mapping[str, bytes] | None) -> Cvm:
    """The CVM of a request: its field 22 PIN digit, then 9F34/9F6C of field 55.

    ``icc`` is field 55 parsed (tag to value); None or without 9F34 for magstripe and
    keyed cards, whose verification is the signature when no PIN block was sent.
    """
    if pin_entered:
        return Cvm.ONLINE_PIN
    results = icc.get("9F34") if icc else None
    if results is None or len(results) < 3:
        return Cvm.SIGNATURE
    method, outcome = results[0] & 0x3F, results[2]
    if outcome == 0x01:  # CVM results "failed"
        return Cvm.FAILED
    if method in _SIGNATURE_METHODS:
        return Cvm.SIGNATURE
    if method in _OFFLINE_PIN_METHODS and outcome == 0x02:
        ctq = icc.get("9F6C") if icc else None
        device = ctq is not None and len(ctq) > 1 and bool(ctq[1] & 0x80)
        # a tap cannot verify a PIN offline: "PIN, successful" there is the phone's own check
        return Cvm.CDCVM if device or entry_mode in _CONTACTLESS else Cvm.OFFLINE_PIN
    if method in _NO_CVM_METHODS:
        return Cvm.NO_CVM
    # online PIN claimed without a PIN block, or a method this rule does not know: unverified
    return Cvm.FAILED


def cvm_from_hex(entry_mode: str | None, pin_entered: bool, emv: Mapping[str, str] | None) -> Cvm:
    """:func:`cvm_performed` from the chip data as the host stores it (tag to upper-case hex)."""
    icc: dict[str, bytes] = {}
    for tag in ("9F34", "9F6C"):
        value = (emv or {}).get(tag)
        if value:
            try:
                icc[tag] = bytes.fromhex(value)
            except ValueError:
                continue  # damaged stored data reads as absent
    return cvm_performed(entry_mode, pin_entered, icc)


def signature_required(txn_type: str, cvm: Cvm) -> bool:
    """Whether the cardholder must sign the slip of a ``txn_type`` verified by ``cvm``."""
    if txn_type in ALWAYS_SIGNED_TYPES:
        return True
    if txn_type in CVM_SIGNED_TYPES:
        return cvm in (Cvm.SIGNATURE, Cvm.FAILED)
    return False


def signature_waiver(txn_type: str, cvm: Cvm, *, contactless: bool) -> str:
    """Why the slip needs no signature (printed in its place); "" when it needs one."""
    if signature_required(txn_type, cvm):
        return ""
    if txn_type == "balance":
        return "balance inquiry"
    if txn_type not in CVM_SIGNED_TYPES:
        return "no signature for this transaction type"
    return {
        Cvm.ONLINE_PIN: "PIN verified",
        Cvm.OFFLINE_PIN: "PIN verified by the card",
        Cvm.CDCVM: "verified on the cardholder's device",
        Cvm.NO_CVM: "small amount, no PIN and no signature (QPS)" if contactless else "no CVM required",
    }.get(cvm, "")
