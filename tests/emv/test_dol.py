"""DOL parsing and the Book 3 §5.4 padding/truncation rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.emv.dol import (
    DolEntry,
    DolError,
    build_dol_data,
    encode_dol,
    fit_value,
    parse_dol,
    split_dol_data,
    tc_hash_value,
)

# CDOL1 of a VSDC card as commonly printed in EMV traces.
CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")


def test_parse_cdol1() -> None:
    """A CDOL parses into (tag, length) entries in order."""
    entries = parse_dol(CDOL1)
    assert entries[0] == DolEntry("9F02", 6)
    assert [e.tag for e in entries] == ["9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37"]
    assert sum(e.length for e in entries) == 29
    assert encode_dol(entries) == CDOL1


def test_build_cdol1_data() -> None:
    """Values are concatenated in DOL order; absent ones become zeros."""
    values = {
        "9F02": bytes.fromhex("000000012345"),
        "9F1A": bytes.fromhex("0156"),
        "95": bytes(5),
        "5F2A": bytes.fromhex("0156"),
        "9A": bytes.fromhex("250501"),
        "9C": b"\x00",
        "9F37": bytes.fromhex("11223344"),
    }
    data = build_dol_data(CDOL1, values)
    assert data.hex().upper() == ("0000000123450000000000000156000000000001562505010011223344")


@pytest.mark.parametrize(
    ("tag", "value", "length", "expected"),
    [
        ("9F02", "000000012345", 4, "00012345"),  # n: leftmost bytes cut
        ("9F02", "12345", 6, "000000012345"),  # n: leading zeros
        ("5A", "6222021001123456789F", 8, "6222021001123456"),  # cn: rightmost cut
        ("5A", "476173900101", 8, "476173900101FFFF"),  # cn: trailing FF
        ("9F4E", "414243", 5, "4142430000"),  # ans: trailing zeros
        ("9F10", "06010A03A00000", 4, "06010A03"),  # b: rightmost cut
        ("DF99", "0102", 4, "01020000"),  # proprietary tag the terminal holds: binary
        ("70", "0102", 2, "0000"),  # constructed: zeros
    ],
)
def test_fit_value_rules(tag: str, value: str, length: int, expected: str) -> None:
    """Each format is padded and truncated as Book 3 §5.4 says."""
    raw = bytes.fromhex(value if len(value) % 2 == 0 else "0" + value)
    assert fit_value(tag, raw, length).hex().upper() == expected


def test_missing_value_is_zero_filled() -> None:
    """A DOL entry for data the terminal does not have is filled with zeros."""
    assert fit_value("9F45", None, 2) == b"\x00\x00"


def test_split_dol_data_and_length_check() -> None:
    """The card cuts DOL data back into tags and refuses a wrong total length."""
    data = bytes(range(29))
    values = split_dol_data(CDOL1, data)
    assert values["9F37"] == data[-4:]
    with pytest.raises(DolError, match="asks for 29"):
        split_dol_data(CDOL1, data[:-1])


def test_tc_hash_value() -> None:
    """Tag 98 is SHA-1 of the TDOL data; without a TDOL it hashes empty data."""
    import hashlib

    values = {"9F02": bytes.fromhex("000000001000")}
    assert (
        tc_hash_value(bytes.fromhex("9F0206"), values)
        == hashlib.sha1(values["9F02"], usedforsecurity=False).digest()
    )
    assert tc_hash_value(b"", values) == hashlib.sha1(b"", usedforsecurity=False).digest()


def test_malformed_dol() -> None:
    """A DOL ending in a tag without length is rejected with an offset."""
    with pytest.raises(DolError) as info:
        parse_dol(bytes.fromhex("9F02069F03"))
    assert info.value.offset == 5
    with pytest.raises(DolError):
        encode_dol([("9F02", 300)])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["9F02", "95", "9F37", "5A", "9F4E", "DF01"]), st.integers(0, 20)),
        max_size=8,
    ),
    st.dictionaries(st.sampled_from(["9F02", "95", "9F37", "5A", "9F4E"]), st.binary(max_size=24)),
)
def test_built_data_has_dol_length(entries: list[tuple[str, int]], values: dict[str, bytes]) -> None:
    """Whatever the values, the data built is exactly as long as the DOL asks."""
    dol = encode_dol(entries)
    data = build_dol_data(dol, values)
    assert len(data) == sum(length for _, length in entries)
    assert list(split_dol_data(dol, data)) == list(dict.fromkeys(t for t, _ in entries))
