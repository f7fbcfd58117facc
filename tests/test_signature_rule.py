"""The one signature rule: each CVM outcome and each transaction type."""

from __future__ import annotations

import pytest

from poskit.emv.contactless import (
    CVM_RESULTS_CDCVM,
    CVM_RESULTS_NO_CVM,
    CVM_RESULTS_ONLINE_PIN,
    CVM_RESULTS_SIGNATURE,
)
from poskit.emv.cvm import NO_CVM_PERFORMED_RESULTS
from poskit.signature_rule import (
    Cvm,
    cvm_from_hex,
    cvm_performed,
    signature_required,
    signature_waiver,
)

_CDCVM_CTQ = bytes([0x00, 0x80])  # 9F6C byte 2 bit 8: consumer device CVM performed


@pytest.mark.parametrize(
    ("entry", "pin", "icc", "expected"),
    [
        ("swipe", False, None, Cvm.SIGNATURE),
        ("manual", False, None, Cvm.SIGNATURE),
        ("fallback", True, None, Cvm.ONLINE_PIN),
        ("chip", True, {"9F34": bytes.fromhex("420302")}, Cvm.ONLINE_PIN),
        ("chip", False, {"9F34": bytes.fromhex("1E0300")}, Cvm.SIGNATURE),
        ("chip", False, {"9F34": bytes.fromhex("030002")}, Cvm.SIGNATURE),  # PIN by card + signature
        ("chip", False, {"9F34": bytes.fromhex("440302")}, Cvm.OFFLINE_PIN),  # enciphered, by the card
        ("chip", False, {"9F34": bytes.fromhex("010002")}, Cvm.OFFLINE_PIN),  # plaintext, by the card
        ("chip", False, {"9F34": bytes.fromhex("1F0302")}, Cvm.NO_CVM),
        ("chip", False, {"9F34": NO_CVM_PERFORMED_RESULTS}, Cvm.NO_CVM),  # card without a CVM list
        ("chip", False, {"9F34": bytes.fromhex("3F0001")}, Cvm.FAILED),  # list exhausted
        ("chip", False, {"9F34": bytes.fromhex("020001")}, Cvm.FAILED),
        ("chip", False, {"9F34": bytes.fromhex("020000")}, Cvm.FAILED),  # online PIN claimed, no block
        ("contactless_chip", False, {"9F34": CVM_RESULTS_CDCVM, "9F6C": _CDCVM_CTQ}, Cvm.CDCVM),
        ("contactless_chip", False, {"9F34": CVM_RESULTS_CDCVM}, Cvm.CDCVM),
        ("contactless_chip", False, {"9F34": CVM_RESULTS_NO_CVM}, Cvm.NO_CVM),
        ("contactless_chip", True, {"9F34": CVM_RESULTS_ONLINE_PIN}, Cvm.ONLINE_PIN),
        ("contactless_chip", False, {"9F34": CVM_RESULTS_SIGNATURE}, Cvm.SIGNATURE),
    ],
)
def test_cvm_performed_reads_field_22_and_9f34(
    entry: str, pin: bool, icc: dict[str, bytes] | None, expected: Cvm
) -> None:
    """The CVM is read from the PIN digit of field 22 first, then 9F34's method and result (9F6C)."""
    assert cvm_performed(entry, pin, icc) is expected


@pytest.mark.parametrize(
    ("cvm", "needed"),
    [
        (Cvm.SIGNATURE, True),
        (Cvm.FAILED, True),
        (Cvm.ONLINE_PIN, False),
        (Cvm.OFFLINE_PIN, False),
        (Cvm.CDCVM, False),
        (Cvm.NO_CVM, False),
    ],
)
@pytest.mark.parametrize(
    "txn_type", ["sale", "preauth", "completion", "completion_advice", "offline_sale_advice"]
)
def test_payments_need_a_signature_only_when_the_cvm_calls_for_one(
    txn_type: str, cvm: Cvm, needed: bool
) -> None:
    """Payments: a signature CVM or a failed verification needs a signature; PIN, CDCVM and no CVM do not."""
    assert signature_required(txn_type, cvm) is needed


@pytest.mark.parametrize("cvm", list(Cvm))
def test_a_refund_is_always_signed(cvm: Cvm) -> None:
    """The cardholder signs a refund's merchant copy whatever the card did."""
    assert signature_required("refund", cvm) is True
    assert signature_waiver("refund", cvm, contactless=False) == ""


@pytest.mark.parametrize("txn_type", ["void", "completion_void", "preauth_void", "balance", "reversal"])
@pytest.mark.parametrize("cvm", list(Cvm))
def test_voids_cancels_and_balance_inquiries_are_never_signed(txn_type: str, cvm: Cvm) -> None:
    """A void's slip is kept with the signed original; a balance slip records no payment."""
    assert signature_required(txn_type, cvm) is False
    assert signature_waiver(txn_type, cvm, contactless=False) != ""


def test_the_waiver_names_the_verification() -> None:
    """The slip says why no signature is needed: PIN, the card's PIN, the phone, or the small tap."""
    assert signature_waiver("sale", Cvm.ONLINE_PIN, contactless=False) == "PIN verified"
    assert signature_waiver("sale", Cvm.OFFLINE_PIN, contactless=False) == "PIN verified by the card"
    assert signature_waiver("sale", Cvm.CDCVM, contactless=True) == "verified on the cardholder's device"
    assert "QPS" in signature_waiver("sale", Cvm.NO_CVM, contactless=True)
    assert signature_waiver("sale", Cvm.NO_CVM, contactless=False) == "no CVM required"
    assert signature_waiver("sale", Cvm.SIGNATURE, contactless=False) == ""
    assert signature_waiver("balance", Cvm.ONLINE_PIN, contactless=False) == "balance inquiry"


def test_stored_hex_chip_data_gives_the_same_answer() -> None:
    """The host's stored chip data (hex) reads as the request's bytes; damaged hex reads as absent."""
    assert cvm_from_hex("chip", False, {"9F34": "440302"}) is Cvm.OFFLINE_PIN
    assert cvm_from_hex("contactless_chip", False, {"9F34": "010002", "9F6C": "0080"}) is Cvm.CDCVM
    assert cvm_from_hex("chip", False, {"9F34": "zz"}) is Cvm.SIGNATURE
    assert cvm_from_hex("swipe", True, None) is Cvm.ONLINE_PIN
