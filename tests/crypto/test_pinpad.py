"""The DUKPT PIN pad: injection from the host HSM, transactions the host can read, sealed state."""

from __future__ import annotations

import pytest

from poskit.crypto.des import decrypt_tdes_ecb
from poskit.crypto.errors import CryptoError, MacVerificationError
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.pinblock import decode_pinblock
from poskit.crypto.pinpad import DukptPinPad

H = bytes.fromhex
ZPK = H("0123456789ABCDEFFEDCBA9876543210")


def _inject(host: SoftHSM, pad_hsm: SoftHSM, *, aes: bool) -> tuple[str, DukptPinPad, bytes]:
    if aes:
        bdk = host.import_clear_key(H("FEDCBA9876543210F1F1F1F1F1F1F1F1"), "B0", algorithm="AES")
        ksn = H("123456789012345600000000")
    else:
        bdk = host.import_clear_key(H("0123456789ABCDEFFEDCBA9876543210"), "B0")
        ksn = H("FFFF9876543210E00000")
    ik = host.derive_dukpt_initial_key(bdk=bdk, ksn=ksn, aes=aes)
    pad = DukptPinPad.load(pad_hsm, host.transfer_key(ik, to=pad_hsm), ksn)
    return bdk, pad, ksn


def test_tdes_pin_pad_published_first_block(hsm: SoftHSM, other_hsm: SoftHSM) -> None:
    """A freshly injected TDES PIN pad's first PIN block is the X9.24-1 value 1B9C..3A7A."""
    _, pad, _ = _inject(hsm, other_hsm, aes=False)
    ksn, block = pad.encrypt_pin("1234", "4012345678909")
    assert ksn == H("FFFF9876543210E00001") and block == H("1B9C1845EB993A7A")
    assert pad.ksn == H("FFFF9876543210E00002")


@pytest.mark.parametrize("aes", [False, True])
def test_host_reads_pin_pad_transactions(hsm: SoftHSM, other_hsm: SoftHSM, aes: bool) -> None:
    """PIN blocks, MACs and data from the PIN pad are translated and verified by the host."""
    bdk, pad, _ = _inject(hsm, other_hsm, aes=aes)
    zpk = hsm.import_clear_key(ZPK, "P0")
    for _ in range(3):
        txn = pad.next_transaction()
        block = txn.encrypt_pin("246810", "6225880112345678")
        out = hsm.dukpt_translate_pin_block(
            block, ksn=txn.ksn, bdk=bdk, pan="6225880112345678", dest_key=zpk, aes=aes
        )
        assert decode_pinblock(decrypt_tdes_ecb(ZPK, out), "6225880112345678", fmt=0) == "246810"
        message = b"0200" + bytes(range(60))
        hsm.dukpt_verify_mac(message, txn.generate_mac(message), ksn=txn.ksn, bdk=bdk, aes=aes)
        reply = b"0210" + bytes(20)
        txn.verify_response_mac(reply, hsm.dukpt_generate_mac(reply, ksn=txn.ksn, bdk=bdk, aes=aes))
        with pytest.raises(MacVerificationError):
            txn.verify_response_mac(reply, bytes(8))
        secret = b"track data 12345"
        clear = hsm.dukpt_decrypt_data(txn.encrypt_data(secret), ksn=txn.ksn, bdk=bdk, aes=aes)
        assert clear[: len(secret)] == secret
        back = txn.decrypt_response_data(hsm.dukpt_encrypt_data(b"ok", ksn=txn.ksn, bdk=bdk, aes=aes))
        assert back[:2] == b"ok"


def test_state_blob_round_trip(hsm: SoftHSM, other_hsm: SoftHSM) -> None:
    """A PIN pad restored from its sealed blob continues with the next KSN."""
    _, pad, _ = _inject(hsm, other_hsm, aes=True)
    pad.next_transaction()
    blob = pad.state_blob()
    assert b"\x12\x34\x56\x78" not in blob  # the KSN and keys are sealed, not in clear
    restored = DukptPinPad.from_state_blob(other_hsm, blob)
    assert restored.ksn == pad.ksn
    assert restored.next_transaction().ksn == pad.next_transaction().ksn


def test_state_blob_bound_to_lmk(hsm: SoftHSM, other_hsm: SoftHSM) -> None:
    """A blob sealed under one LMK does not open under another, nor when tampered."""
    _, pad, _ = _inject(hsm, other_hsm, aes=False)
    blob = pad.state_blob()
    with pytest.raises(CryptoError, match="authentication failed"):
        DukptPinPad.from_state_blob(hsm, blob)
    with pytest.raises(CryptoError, match="authentication failed"):
        DukptPinPad.from_state_blob(other_hsm, blob[:-1] + bytes([blob[-1] ^ 1]))


def test_repr_shows_only_ksn(hsm: SoftHSM, other_hsm: SoftHSM) -> None:
    """PIN pad and transaction reprs show the scheme and KSN, no keys."""
    _, pad, _ = _inject(hsm, other_hsm, aes=False)
    txn = pad.next_transaction()
    assert repr(pad) == "DukptPinPad(TDES, ksn=FFFF9876543210E00002)"
    assert repr(txn) == "DukptTransaction(TDES, ksn=FFFF9876543210E00001)"
