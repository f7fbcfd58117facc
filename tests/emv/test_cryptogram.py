"""The single cryptogram input and IAD layout, cross-checked against pyemv."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyemv import ac as pyemv_ac
from pyemv import kd as pyemv_kd

from poskit.cards.test_keys import TEST_IMK_AC
from poskit.crypto.emv import derive_icc_master_key, derive_session_key, generate_ac
from poskit.emv.cryptogram import (
    CVN,
    CryptogramInputError,
    Cvr,
    IssuerApplicationData,
    arqc_input,
    cryptogram_type,
    issuer_authentication_data,
    split_issuer_authentication_data,
)

TAGS = {
    "9F02": bytes.fromhex("000000012345"),
    "9F03": bytes(6),
    "9F1A": bytes.fromhex("0156"),
    "95": bytes.fromhex("0000048000"),
    "5F2A": bytes.fromhex("0156"),
    "9A": bytes.fromhex("250501"),
    "9C": b"\x00",
    "9F37": bytes.fromhex("11223344"),
    "82": bytes.fromhex("7C00"),
    "9F36": bytes.fromhex("0001"),
    "9F10": IssuerApplicationData(bytes.fromhex("A01002")).to_bytes(),
}


def test_layout() -> None:
    """The input is the ten tags in order followed by the four CVR bytes of the IAD."""
    data = arqc_input(TAGS)
    assert data.hex().upper() == (
        "00000001234500000000000001560000048000015625050100112233447C00000103A01002"
    )
    assert len(data) == 37


def test_missing_or_short_tag() -> None:
    """A missing or mis-sized tag is a CryptogramInputError naming the tag."""
    with pytest.raises(CryptogramInputError, match="9F37"):
        arqc_input({k: v for k, v in TAGS.items() if k != "9F37"})
    with pytest.raises(CryptogramInputError, match="95"):
        arqc_input({**TAGS, "95": b"\x00"})
    with pytest.raises(CryptogramInputError, match="9F10"):
        arqc_input({**TAGS, "9F10": bytes.fromhex("0601")})


def test_iad_and_cvr_bits() -> None:
    """The IAD carries DKI, CVN and CVR; CVR helpers read the documented bits."""
    iad = IssuerApplicationData.parse(TAGS["9F10"])
    assert iad.cvn == CVN and iad.dki == 1
    assert TAGS["9F10"].hex().upper() == "06010103A01002"
    cvr = bytes.fromhex("A41002")
    assert Cvr.first_ac(cvr) == "ARQC"
    assert Cvr.second_ac(cvr) == "not requested"
    assert Cvr.is_set(cvr, Cvr.OFFLINE_PIN_PERFORMED)
    assert Cvr.is_set(cvr, Cvr.NEW_CARD)
    assert Cvr.is_set(cvr, Cvr.DDA_PERFORMED)
    assert not Cvr.is_set(cvr, Cvr.CDCVM_PERFORMED)
    assert Cvr.script_count(bytes.fromhex("000030")) == 3


def test_cid_and_issuer_data() -> None:
    """CID bits name the cryptogram; tag 91 is ARPC followed by ARC."""
    assert [cryptogram_type(c) for c in (0x00, 0x40, 0x80, 0xC0)] == ["AAC", "TC", "ARQC", "AAR"]
    data = issuer_authentication_data(bytes(range(8)), b"00")
    assert split_issuer_authentication_data(data) == (bytes(range(8)), b"00")
    with pytest.raises(CryptogramInputError):
        split_issuer_authentication_data(data[:9])


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=4, max_size=4), st.integers(1, 0xFFFF))
def test_arqc_matches_pyemv(unpredictable: bytes, atc: int) -> None:
    """Card key, session key and AC equal pyemv's option A / common SK / ISO 9797-1 alg 3."""
    pan, psn = "4761739001010010", "01"
    tags = {**TAGS, "9F37": unpredictable, "9F36": atc.to_bytes(2, "big")}
    mk = derive_icc_master_key(TEST_IMK_AC, pan, psn)
    sk = derive_session_key(mk, tags["9F36"])
    ours = generate_ac(sk, arqc_input(tags))
    oracle_mk = pyemv_kd.derive_icc_mk_a(TEST_IMK_AC, pan, psn)
    oracle_sk = pyemv_kd.derive_common_sk(oracle_mk, tags["9F36"] + bytes(6))
    assert mk == oracle_mk
    assert sk == oracle_sk
    assert ours == pyemv_ac.generate_ac(sk, arqc_input(tags))
