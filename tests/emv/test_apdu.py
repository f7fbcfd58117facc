"""Command/response APDU model, status words and the EMV command builders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.emv import apdu
from poskit.emv.apdu import SW, Apdu, ApduError, ResponseApdu, describe_sw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00A40400", Apdu(0x00, 0xA4, 0x04, 0x00)),  # case 1
        ("0084000000", Apdu(0x00, 0x84, 0x00, 0x00, le=0)),  # case 2
        ("0020008008241234FFFFFFFFFF", Apdu(0, 0x20, 0, 0x80, bytes.fromhex("241234FFFFFFFFFF"))),
        ("00A404000E315041592E5359532E444446303100", Apdu(0, 0xA4, 4, 0, b"1PAY.SYS.DDF01", le=0)),  # case 4
    ],
)
def test_parse_cases(raw: str, expected: Apdu) -> None:
    """Short APDUs of cases 1-4 parse and re-encode identically."""
    parsed = Apdu.parse(bytes.fromhex(raw))
    assert parsed == expected
    assert parsed.to_bytes().hex().upper() == raw


def test_bad_commands() -> None:
    """Truncated commands and Lc mismatches raise ApduError."""
    with pytest.raises(ApduError):
        Apdu.parse(b"\x00\xa4")
    with pytest.raises(ApduError, match="Lc says 5"):
        Apdu.parse(bytes.fromhex("00A4040005A000"))
    with pytest.raises(ApduError):
        Apdu(0x100, 0, 0, 0)
    with pytest.raises(ApduError):
        Apdu(0, 0, 0, 0, bytes(256))


def test_response_and_status_words() -> None:
    """Responses split data and SW; meanings cover the EMV status words."""
    response = ResponseApdu.parse(bytes.fromhex("6F009000"))
    assert response.ok and response.data == b"\x6f\x00" and response.sw == SW.OK
    assert describe_sw(0x63, 0xC2) == "verification failed, 2 tries left"
    assert describe_sw(0x69, 0x83) == "authentication method blocked"
    assert describe_sw(0x6A, 0x82) == "file or application not found"
    assert describe_sw(0x61, 0x10) == "16 response bytes still available"
    assert "6D00" not in describe_sw(0x6D, 0x00)
    with pytest.raises(ApduError):
        ResponseApdu.parse(b"\x90")


def test_builders_use_emv_class_and_instruction() -> None:
    """Each builder produces the header Book 3 §6.5 defines."""
    assert (
        apdu.select(b"\xa0\x00\x00\x03\x33", next_occurrence=True).to_bytes().hex()
        == "00a4040205a00000033300"
    )
    assert apdu.get_processing_options(b"").to_bytes().hex() == "80a8000002830000"
    assert apdu.read_record(2, 1).to_bytes().hex() == "00b2011400"
    assert apdu.get_data("9F36").to_bytes().hex() == "80ca9f3600"
    assert apdu.verify(b"\x24" + b"\xff" * 7, enciphered=True).p2 == 0x88
    assert apdu.generate_ac("ARQC", b"\x01", cda=True).p1 == 0x90
    assert apdu.generate_ac("TC", b"\x01").p1 == 0x40
    assert apdu.external_authenticate(bytes(10)).ins == 0x82
    assert apdu.internal_authenticate(bytes(4)).ins == 0x88
    with pytest.raises(ApduError):
        apdu.read_record(31, 1)
    with pytest.raises(ApduError):
        apdu.get_data("9F")


def test_repr_hides_data() -> None:
    """APDU reprs show sizes, never data (PIN blocks, track data)."""
    cmd = apdu.verify(bytes.fromhex("241234FFFFFFFFFF"), enciphered=False)
    assert "1234" not in repr(cmd)
    assert "VERIFY" in repr(cmd)
    assert "6222" not in repr(ResponseApdu(bytes.fromhex("5A0862220210"), 0x90, 0x00))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=255),
    st.one_of(st.none(), st.integers(0, 255)),
)
def test_round_trip(ins: int, p1: int, data: bytes, le: int | None) -> None:
    """Any short command survives to_bytes/parse."""
    cmd = Apdu(0x80, ins, p1, 0x00, data, le)
    assert Apdu.parse(cmd.to_bytes()) == cmd
