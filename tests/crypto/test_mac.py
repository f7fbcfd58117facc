"""MACs: the UnionPay ECB MAC against a published message, X9.19 and CBC-MAC against psec."""

from __future__ import annotations

import binascii

import psec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.crypto.errors import InputError
from poskit.crypto.mac import (
    CbcMac,
    Cmac,
    CupsEcbMac,
    RetailMac,
    cbc_mac,
    cups_ecb_mac,
    mac_calculator,
    pad_iso9797_1,
    pad_iso9797_2,
    retail_mac,
)

H = bytes.fromhex

# q.cnblogs.com/q/128930: a CUPS POS 0200 as sent (length, TPDU, header, message), TAK
# 0723C80DB5F4CD3D0723C80DB5F4CD3D, and the host's MAC "B3A092AE" in field 64.
CNBLOGS_FRAME = bytes.fromhex(
    "00:7f:60:00:03:00:00:60:32:10:32:00:72:02:00:30:20:04:80:00:c0:80:15:00:00:00:00:00:"
    "00:00:12:34:00:00:02:03:00:99:30:30:30:30:30:30:30:31:39:35:32:37:31:38:31:38:32:32:"
    "31:37:38:37:35:31:35:36:00:19:26:00:00:01:00:06:00:00:00:00:00:43:5f:01:12:32:38:34:"
    "34:31:32:33:34:35:36:37:38:39:30:31:32:33:34:5f:03:06:31:36:30:30:33:36:5f:04:06:32:"
    "30:30:38:32:36:5c:02:30:31:42:33:41:30:39:32:41:45".replace(":", "")
)


def test_cups_ecb_published_message() -> None:
    """The MAB from MTI to field 63 of the q.cnblogs.com/q/128930 message MACs to B3A092AE."""
    frame = CNBLOGS_FRAME
    assert frame[:2] == H("007F") and len(frame) == 2 + 0x7F
    mab = frame[2 + 5 + 6 : -8]  # drop length, TPDU and the 6-byte header; field 64 is last
    assert mab[:2] == H("0200")
    key = H("0723C80DB5F4CD3D0723C80DB5F4CD3D")
    assert cups_ecb_mac(key, mab) == b"B3A092AE" == frame[-8:]
    assert cups_ecb_mac(key[:8], mab) == b"B3A092AE"  # equal halves behave as single DES


def _cups_reference(key: bytes, data: bytes) -> bytes:
    """The reference §1.6 steps, written independently: byte loops and psec's DES."""
    padded = bytearray(data)
    while len(padded) % 8:
        padded.append(0)
    r = bytearray(8)
    for i, b in enumerate(padded):
        r[i % 8] ^= b
    h = binascii.hexlify(bytes(r)).upper()
    e1 = psec.des.encrypt_tdes_ecb(key, h[:8])
    t = bytes(x ^ y for x, y in zip(e1, h[8:], strict=True))
    e2 = psec.des.encrypt_tdes_ecb(key, t)
    return binascii.hexlify(e2).upper()[:8]


@settings(max_examples=100, deadline=None)
@given(
    key=st.sampled_from([8, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    data=st.binary(max_size=200),
)
def test_cups_ecb_matches_independent_computation(key: bytes, data: bytes) -> None:
    """The CUPS ECB MAC equals a straightforward re-computation of the reference steps."""
    assert cups_ecb_mac(key, data) == _cups_reference(key, data)


@settings(max_examples=100, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), data=st.binary(max_size=200), padding=st.sampled_from([1, 2]))
def test_retail_mac_matches_psec(key: bytes, data: bytes, padding: int) -> None:
    """ISO 9797-1 algorithm 3 (X9.19) agrees with psec's retail MAC."""
    expected = psec.mac.generate_retail_mac(key[:8], key[8:], data, padding=padding)
    assert retail_mac(key, data, padding=padding) == expected  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None)
@given(
    key=st.sampled_from([8, 16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    data=st.binary(max_size=200),
    padding=st.sampled_from([1, 2]),
)
def test_cbc_mac_matches_psec(key: bytes, data: bytes, padding: int) -> None:
    """ISO 9797-1 algorithm 1 with TDES agrees with psec."""
    expected = psec.mac.generate_cbc_mac(key, data, padding=padding)
    assert cbc_mac(key, data, padding=padding) == expected  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), data=st.binary(max_size=100))
def test_aes_cbc_mac_matches_psec(key: bytes, data: bytes) -> None:
    """ISO 9797-1 algorithm 1 with AES agrees with psec."""
    expected = psec.mac.generate_cbc_mac(key, data, 1, 16, psec.mac.Algorithm.AES)
    assert cbc_mac(key, data, algorithm="AES") == expected


@settings(max_examples=40, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16), messages=st.lists(st.binary(max_size=80), min_size=2, max_size=8)
)
def test_calculators_reuse_contexts_correctly(key: bytes, messages: list[bytes]) -> None:
    """One calculator object gives, message after message, what fresh calculators give."""
    kept = [RetailMac(key), CbcMac(key), CupsEcbMac(key), Cmac(key)]
    for data in messages:
        fresh = [RetailMac(key), CbcMac(key), CupsEcbMac(key), Cmac(key)]
        assert [c.generate(data) for c in kept] == [c.generate(data) for c in fresh]


def test_verify_accepts_truncated_and_rejects_wrong() -> None:
    """verify accepts the full MAC or its leftmost 4+ bytes, and nothing else."""
    calc = mac_calculator(H("0123456789ABCDEFFEDCBA9876543210"), "x919")
    mac = calc.generate(b"message")
    assert calc.verify(b"message", mac)
    assert calc.verify(b"message", mac[:4])
    assert not calc.verify(b"message", mac[:3])
    assert not calc.verify(b"messagf", mac)
    assert not calc.verify(b"message", bytes(8))


def test_padding_methods() -> None:
    """ISO 9797-1 padding 1 zero-fills (one block when empty); padding 2 adds 0x80 first."""
    assert pad_iso9797_1(b"") == bytes(8)
    assert pad_iso9797_1(b"\x01" * 8) == b"\x01" * 8
    assert pad_iso9797_2(b"\x01" * 8) == b"\x01" * 8 + b"\x80" + bytes(7)
    assert pad_iso9797_2(b"", 16) == b"\x80" + bytes(15)


def test_calculator_repr_hides_key() -> None:
    """Calculator reprs name the algorithm only."""
    key = H("0123456789ABCDEFFEDCBA9876543210")
    for name in ("cups-ecb", "x919", "iso9797-1"):
        text = repr(mac_calculator(key, name))
        assert "0123" not in text.upper() and name in text


def test_bad_arguments() -> None:
    """Unknown algorithms, paddings and key sizes are InputErrors."""
    key = bytes(16)
    with pytest.raises(InputError, match="unknown MAC algorithm"):
        mac_calculator(key, "md5")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="padding"):
        RetailMac(key, padding=3)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="8 or 16"):
        RetailMac(bytes(24))
