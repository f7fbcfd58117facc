"""IsoMessage: typed accessors, mandatory fields, safe repr."""

from __future__ import annotations

import pytest

from poskit.iso8583.errors import MessageFormatError
from poskit.iso8583.message import IsoMessage

PAN = "6222021001123456789"


def message() -> IsoMessage:
    return IsoMessage(
        "0200",
        {
            2: PAN,
            3: "000000",
            4: "000000010000",
            11: "000123",
            37: "250615000001",
            38: "AB12  ",
            39: "00",
            41: "TERM0001",
            42: "123456789012345",
            49: "156",
            52: "0123456789ABCDEF",
        },
    )


def test_typed_accessors() -> None:
    """Accessors give the STAN and amount as ints and trim padded codes."""
    m = message()
    assert (m.stan, m.amount_minor, m.currency_code) == (123, 10000, "156")
    assert (m.processing_code, m.response_code, m.rrn, m.auth_code) == (
        "000000",
        "00",
        "250615000001",
        "AB12",
    )
    assert (m.terminal_id, m.merchant_id) == ("TERM0001", "123456789012345")
    assert m.binary(52) == bytes.fromhex("0123456789ABCDEF")
    assert 2 in m and 64 not in m and list(m)[:2] == [2, 3]


def test_mti_classification() -> None:
    """0200 is a request answered by 0210; 0401 is a repeat; 0810 is a response."""
    assert message().is_request and message().response_mti == "0210"
    assert IsoMessage("0401").is_repeat and IsoMessage("0401").response_mti == "0410"
    assert not IsoMessage("0810").is_request


def test_require_and_bad_values_are_format_errors() -> None:
    """A missing mandatory field and non-numeric/non-hex values are code-30 errors."""
    m = message()
    with pytest.raises(MessageFormatError, match="mandatory field missing") as info:
        m.require(60)
    assert info.value.field == 60 and info.value.partial is m
    m.set(11, "12AB56")
    with pytest.raises(MessageFormatError):
        _ = m.stan
    m.set(52, "XYZ")
    with pytest.raises(MessageFormatError):
        m.binary(52)
    m.set(52, None)
    assert 52 not in m


def test_repr_shows_no_values() -> None:
    """repr lists field numbers and lengths only."""
    text = repr(message())
    assert PAN not in text and "0123456789ABCDEF" not in text
    assert "2:19" in text


def test_dialect_does_not_affect_equality() -> None:
    """Two messages with the same fields are equal whatever dialect decoded them."""
    assert IsoMessage("0800", {11: "000001"}, "cups") == IsoMessage("0800", {11: "000001"})
