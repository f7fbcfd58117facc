"""EMV card keys and cryptograms: pyemv's published examples and random cross-checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyemv import ac, kd

from poskit.crypto.emv import (
    derive_icc_master_key,
    derive_session_key,
    generate_ac,
    generate_arpc_method1,
    generate_arpc_method2,
    verify_arqc,
)
from poskit.crypto.errors import InputError

H = bytes.fromhex
IMK = H("0123456789ABCDEFFEDCBA9876543210")


def test_icc_master_key_examples() -> None:
    """Options A and B reproduce pyemv's documented examples (EMV Book 2 A1.4)."""
    assert derive_icc_master_key(IMK, "99012345678901234", "45") == H("67F8292358083E5EA7AB7FDA58D53B6B")
    assert derive_icc_master_key(IMK, "12345678901234567", "01") == H("73AD54688CEF2934B0979857E3C719F1")
    assert derive_icc_master_key(IMK, "12345678901234567", "01", option="B") == H(
        "AD406D7F6D7570916D75E5DCAB8CF737"
    )


def test_option_b_equals_a_for_short_pans() -> None:
    """Option B falls back to option A for PANs of 16 digits or fewer."""
    pan = "6222021001123456"
    assert derive_icc_master_key(IMK, pan, "01", option="B") == derive_icc_master_key(IMK, pan, "01")


def test_common_session_key_example() -> None:
    """Common session key derivation for ATC 001C gives E9FB..B0C4 (pyemv example)."""
    assert derive_session_key(IMK, H("001C")) == H("E9FB384AF807B940FEDCEA613461B0C4")
    assert derive_session_key(IMK, H("001C"), method="none") == IMK


def test_cryptogram_examples() -> None:
    """ARQC FA62..B59A, ARPC method 1 45D4..C920 and method 2 CB56FA40 (pyemv examples)."""
    sk = H("29B33180E567CE38EA4CBC9D753B0E61")
    arqc = generate_ac(sk, H("0123456789ABCDEF0123456789ABCDEF"))
    assert arqc == H("FA624250B008B59A")
    assert verify_arqc(sk, H("0123456789ABCDEF0123456789ABCDEF"), arqc)
    assert not verify_arqc(sk, H("0123456789ABCDEF0123456789ABCDEE"), arqc)
    assert generate_arpc_method1(sk, arqc, H("0000")) == H("45D4255EEF10C920")
    assert generate_arpc_method2(sk, arqc, H("00000000")) == H("CB56FA40")
    assert generate_arpc_method2(
        H("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB"), H("1234567890ABCDEF"), H("00000000")
    ) == H("9308BEBC")


@settings(max_examples=100, deadline=None)
@given(
    imk=st.binary(min_size=16, max_size=16),
    pan=st.text("0123456789", min_size=12, max_size=19),
    psn=st.integers(0, 99).map(lambda n: f"{n:02d}"),
    atc=st.binary(min_size=2, max_size=2),
    data=st.binary(max_size=64),
)
def test_matches_pyemv(imk: bytes, pan: str, psn: str, atc: bytes, data: bytes) -> None:
    """Key derivation, ARQC and ARPCs agree with pyemv for random inputs."""
    mk_a = derive_icc_master_key(imk, pan, psn)
    assert mk_a == kd.derive_icc_mk_a(imk, pan, psn)
    assert derive_icc_master_key(imk, pan, psn, option="B") == kd.derive_icc_mk_b(imk, pan, psn)
    sk = derive_session_key(mk_a, atc)
    assert sk == kd.derive_common_sk(mk_a, atc + bytes(6))
    arqc = generate_ac(sk, data)
    assert arqc == ac.generate_ac(sk, data)
    assert generate_ac(sk, data, padding=1) == ac.generate_ac(sk, data, ac.PaddingType.VISA)
    assert generate_arpc_method1(sk, arqc, atc) == ac.generate_arpc_1(sk, arqc, atc)
    csu = atc + atc
    assert generate_arpc_method2(sk, arqc, csu, data[:8]) == ac.generate_arpc_2(sk, arqc, csu, data[:8])


def test_bad_inputs() -> None:
    """Wrong key, ATC, ARQC and ARC lengths are InputErrors naming the argument."""
    with pytest.raises(InputError, match=r"^imk: "):
        derive_icc_master_key(bytes(8), "6222021001123456", "01")
    with pytest.raises(InputError, match=r"^psn: "):
        derive_icc_master_key(IMK, "6222021001123456", "1")
    with pytest.raises(InputError, match=r"^atc: "):
        derive_session_key(IMK, b"\x01")
    with pytest.raises(InputError, match=r"^arc: "):
        generate_arpc_method1(IMK, bytes(8), b"\x00")
    assert not verify_arqc(IMK, b"", bytes(4))
