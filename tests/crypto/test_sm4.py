"""SM4 and the 国密 POS MAC (skipped where the installed OpenSSL lacks SM4)."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.crypto.sm4 import (
    SM4_AVAILABLE,
    decrypt_sm4_cbc,
    decrypt_sm4_ecb,
    encrypt_sm4_cbc,
    encrypt_sm4_ecb,
    sm4_ecb_mac,
)

pytestmark = pytest.mark.skipif(not SM4_AVAILABLE, reason="OpenSSL without SM4")

H = bytes.fromhex


def test_sm4_standard_example() -> None:
    """GB/T 32907-2016 example 1: key = plaintext = 0123..3210 gives 681EDF34..4246."""
    key = H("0123456789ABCDEFFEDCBA9876543210")
    ct = encrypt_sm4_ecb(key, key)
    assert ct == H("681EDF34D206965E86B3E94F536E4246")
    assert decrypt_sm4_ecb(key, ct) == key


def test_sm4_cbc_round_trip() -> None:
    """SM4-CBC decrypts what it encrypts."""
    key, iv, data = bytes(range(16)), bytes(16), bytes(range(48))
    assert decrypt_sm4_cbc(key, iv, encrypt_sm4_cbc(key, iv, data)) == data


def _reference(key: bytes, data: bytes) -> bytes:
    """The published SM4 POS MAC steps, written independently with byte loops."""
    padded = bytearray(data)
    while len(padded) % 16:
        padded.append(0)
    r = bytearray(16)
    for i, b in enumerate(padded):
        r[i % 16] ^= b
    h = binascii.hexlify(bytes(r)).upper()
    e1 = encrypt_sm4_ecb(key, h[:16])
    e2 = encrypt_sm4_ecb(key, bytes(x ^ y for x, y in zip(e1, h[16:], strict=True)))
    return e2[:8]


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), data=st.binary(max_size=150))
def test_sm4_mac_matches_reference_steps(key: bytes, data: bytes) -> None:
    """The SM4 POS MAC equals a straightforward re-computation of the published steps."""
    assert sm4_ecb_mac(key, data) == _reference(key, data)


def test_sm4_keys_in_the_hsm() -> None:
    """An SM4 MAK in the HSM computes the SM4 POS MAC and has the SM4 check value."""
    from poskit.crypto.hsm import SoftHSM
    from poskit.crypto.kcv import kcv
    from poskit.crypto.lmk import LocalMasterKey

    hsm = SoftHSM(LocalMasterKey(bytes(32)))
    clear = H("0123456789ABCDEFFEDCBA9876543210")
    mak = hsm.import_clear_key(clear, "M0", algorithm="SM4")
    assert hsm.kcv(mak) == kcv(clear, algorithm="SM4") == encrypt_sm4_ecb(clear, bytes(16))[:3]
    mac = hsm.generate_mac(b"0200" * 10, key=mak, algorithm="sm4-ecb")
    assert mac == sm4_ecb_mac(clear, b"0200" * 10)
    hsm.verify_mac(b"0200" * 10, mac, key=mak, algorithm="sm4-ecb")
    assert hsm.describe(mak).algorithm == "SM4"
