"""The receipt (签购单) of a transaction, rebuilt from the host's record.

The host keeps what the terminal printed of the request (operator, issuer by BIN, chip
data); what it never saw is left out rather than guessed. The copy is marked as
a duplicate, as a reprint is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from poskit.cards.bins import BinInfo, lookup_bin
from poskit.money import Amount
from poskit.portal.data.signatures import waiver_of
from poskit.terminal.receipt import Receipt, render_text, slip_language

__all__ = ["receipt_for", "receipt_text"]

_TXN_TYPES = {
    "sale": "SALE",
    "void": "VOID",
    "refund": "REFUND",
    "preauth": "PREAUTH",
    "preauth_void": "PREAUTH_VOID",
    "completion": "COMPLETION",
    "completion_void": "COMPLETION_VOID",
    "completion_advice": "COMPLETION_ADVICE",
    "balance": "BALANCE",
}


#: host entry modes (field 22) -> the receipt's entry letters
_ENTRY = {
    "swipe": "swipe",
    "chip": "chip",
    "contactless_chip": "tap",
    "contactless_msd": "tap",
    "manual": "manual",
    "fallback": "fallback",
}


def _card_bin(pan_masked: str | None) -> BinInfo | None:
    """The BIN table's entry for a masked PAN's first six digits (its catch-all for unknown ranges)."""
    if not pan_masked or len(pan_masked) < 6 or not pan_masked[:6].isdigit():
        return None
    return lookup_bin(pan_masked[:6])


def _issuer(txn: Mapping[str, Any], info: BinInfo | None) -> str:
    """The issuing bank, from the BIN as the terminal prints it; the scheme when the BIN is unknown."""
    if info is not None and info.prefix and info.issuer:  # the catch-all entry has no prefix
        return info.issuer
    return (txn.get("card_scheme") or "").upper() or "-"


def _operator(txn: Mapping[str, Any]) -> str:
    """The cashier (field 63) the host stored with the answer; "-" for records from before."""
    response = txn.get("response")
    operator = response.get("operator") if isinstance(response, Mapping) else None
    return str(operator) if operator else "-"


def receipt_for(
    txn: Mapping[str, Any],
    *,
    merchant: Mapping[str, Any],
    acquirer_name: str,
    support_phone: str,
    tz: ZoneInfo,
    original: Mapping[str, Any] | None = None,
    signed: bool = False,
    signature_required: bool = False,
    remark: str = "电子签购单副本 PORTAL COPY",
    language: str = "zh",
    country: str = "",
) -> Receipt:
    local = txn["received_at"].astimezone(tz)
    card_bin = _card_bin(txn.get("pan_masked"))
    waiver = ""
    if not signature_required:
        waiver = waiver_of(txn)
    remarks = [remark]
    if signature_required and not signed:
        remarks.append("未签名 NOT SIGNED - 补签 SIGNATURE PENDING")
    data: dict[str, Any] = {
        "merchant_name": merchant["name"],
        "merchant_name_en": merchant.get("name_en") or "",
        "merchant_no": merchant["merchant_no"],
        "terminal_id": txn["terminal_id"],
        "operator": _operator(txn),
        "acquirer": acquirer_name,
        "issuer": _issuer(txn, card_bin),
        "card_masked": txn.get("pan_masked") or "-",
        "entry_mode": _ENTRY.get(txn.get("entry_mode") or "", "swipe"),
        "txn_type": _TXN_TYPES.get(txn["txn_type"], txn["txn_type"].upper()),
        "batch_no": int(txn["batch_no"]),
        "voucher_no": int(txn["stan"]),
        "rrn": txn.get("rrn") or "",
        "auth_code": txn.get("auth_code") or "",
        "date_time": local.strftime("%Y-%m-%d %H:%M:%S"),
        "amount": Amount.of(txn["amount"], txn["currency"]).grouped(),
        "currency": txn["currency"],
        "card_organisation": card_bin.card_organisation if card_bin is not None else "",
        "signature_required": signature_required,
        "signature_waiver": waiver,
        "reprint": True,
        "support_phone": support_phone,
        "remarks": tuple(remarks),
        "language": slip_language(language, country),  # the slip as the merchant's terminal prints it
    }
    if original is not None:
        data["original_voucher"] = int(original["stan"])
        data["original_rrn"] = original.get("rrn") or None
        data["original_date"] = original["received_at"].astimezone(tz).strftime("%m%d")
    return Receipt.from_json(data)


def receipt_text(receipt: Receipt) -> str:
    return render_text(receipt, copy="merchant")
