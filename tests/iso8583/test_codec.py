"""Codec: encode/decode with dialect specs, typed errors for bad input, MAC slicing."""

from __future__ import annotations

from datetime import datetime

import iso8583
import iso8583.specs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poskit.iso8583 import codec, get_dialect
from poskit.iso8583.errors import Iso8583Error, MessageEncodeError, MessageFormatError
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.model import CardData, EntryMode, Request, TxnType
from poskit.iso8583.spec import load_spec
from poskit.money import Amount

NOW = datetime(2025, 6, 15, 12, 0, 0)
MAC = bytes.fromhex("1122334455667788")


def sale(dialect_name: str) -> bytes:
    dialect = get_dialect(dialect_name)
    request = Request(
        TxnType.SALE,
        "TERM0001",
        "123456789012345",
        123,
        1,
        amount=Amount.of(10000, "CNY"),
        card=CardData(
            entry_mode=EntryMode.SWIPE,
            pan="6222021001123456789",
            track2="6222021001123456789D2912201000001",
            expiry="2912",
            pin_block=bytes.fromhex("0123456789ABCDEF"),
            pin_max_length=6,
        ),
        operator="01",
    )
    return dialect.seal(dialect.encode_request(request), mac=lambda _: MAC)


CUPS_SALE = sale("cups")
ASCII_SALE = sale("ascii87")


def test_cups_sale_decodes_to_the_fields_it_was_built_from() -> None:
    """The cups sale decodes with BCD numerics and the left-justified field 22."""
    message = codec.decode("cups", CUPS_SALE)
    assert message.mti == "0200"
    assert message.fields[2] == "6222021001123456789"
    assert message.fields[22] == "021"
    assert message.fields[35] == "6222021001123456789D2912201000001"
    assert message.fields[64] == MAC.hex().upper()
    assert CUPS_SALE[:2] == b"\x02\x00"  # BCD MTI


def test_ascii87_sale_is_plain_iso87_ascii() -> None:
    """The ascii87 sale is readable by pyiso8583's own default_ascii spec."""
    doc, _ = iso8583.decode(ASCII_SALE, iso8583.specs.default_ascii)
    assert doc["t"] == "0200"
    assert doc["35"] == "6222021001123456789=2912201000001"
    assert doc["52"] == "0123456789ABCDEF"
    assert doc["128"] == MAC.hex().upper()


def test_encode_then_decode_is_identity_for_messages() -> None:
    """decode(encode(m)) == m for a message built by hand."""
    message = IsoMessage("0800", {11: "000001", 41: "TERM0001", 42: "123456789012345", 60: "00000001004"})
    for name in ("cups", "ascii87"):
        assert codec.decode(name, codec.encode(name, message)) == message


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (4, "12345678901A", "digits"),
        (2, "62220210011234567890123", "larger than maximum"),
        (41, "SHORT", "expecting 8"),
        (35, "6222=2912", "non-hex"),
        (52, "0123", "expecting 8"),
        (99, "1", "not defined"),
    ],
)
def test_encode_rejects_bad_values_with_the_field(field: int, value: str, reason: str) -> None:
    """A value that does not fit its cups field raises MessageEncodeError naming the field."""
    message = IsoMessage("0200", {3: "000000", field: value})
    with pytest.raises(MessageEncodeError, match=reason) as info:
        codec.encode("cups", message)
    assert info.value.field == field


def test_encode_rejects_a_bad_mti() -> None:
    """An MTI that is not four digits cannot be encoded."""
    with pytest.raises(MessageEncodeError) as info:
        codec.encode("cups", IsoMessage("02X0", {}))
    assert info.value.field == "mti"


def _field_offset(data: bytes, name: str, number: int) -> int:
    """Byte offset where field ``number``'s data starts (after its length prefix)."""
    spec = load_spec(name)
    _, enc = iso8583.decode(data, spec.pyiso)
    pos = 0
    for key in enc:
        if key == str(number):
            return pos + len(enc[key]["len"])
        pos += len(enc[key]["len"]) + len(enc[key]["data"])
    raise AssertionError("field not found")


def test_truncated_message_names_the_field_and_position() -> None:
    """A message cut inside the MAC is a format error at field 64."""
    with pytest.raises(MessageFormatError) as info:
        codec.decode("cups", CUPS_SALE[:-3])
    assert info.value.field == 64
    assert info.value.position == len(CUPS_SALE) - 8
    assert info.value.response_code == "30"


def test_wrong_length_prefix_is_a_format_error() -> None:
    """A field 2 length of 25 digits (maximum 19) is rejected at field 2."""
    data = bytearray(CUPS_SALE)
    start = _field_offset(CUPS_SALE, "cups", 2) - 1
    data[start] = 0x25
    with pytest.raises(MessageFormatError, match="larger than maximum") as info:
        codec.decode("cups", bytes(data))
    assert info.value.field == 2
    assert info.value.position == start


def test_non_bcd_nibble_is_a_format_error_with_position() -> None:
    """A hex digit inside BCD field 4 is reported with its byte position."""
    data = bytearray(CUPS_SALE)
    start = _field_offset(CUPS_SALE, "cups", 4)
    data[start + 2] = 0x0A
    with pytest.raises(MessageFormatError, match="non-BCD") as info:
        codec.decode("cups", bytes(data))
    assert info.value.field == 4
    assert info.value.position == start + 2
    assert info.value.partial is not None and info.value.partial.mti == "0200"


def test_non_bcd_length_prefix_is_a_format_error() -> None:
    """An LLVAR length byte that is not BCD is rejected."""
    data = bytearray(CUPS_SALE)
    data[_field_offset(CUPS_SALE, "cups", 2) - 1] = 0x1A
    with pytest.raises(MessageFormatError) as info:
        codec.decode("cups", bytes(data))
    assert info.value.field == 2


def test_bitmap_announcing_absent_fields_is_a_format_error() -> None:
    """A bitmap announcing more fields than the data holds fails, never reads past the end."""
    data = bytearray(CUPS_SALE)
    data[2 + 7] |= 0x0C  # announce fields 61 and 62 that are not there
    with pytest.raises(MessageFormatError):
        codec.decode("cups", bytes(data))


def test_cups_secondary_bitmap_is_refused() -> None:
    """cups has no secondary bitmap: bit 1 set is a format error on field 1."""
    data = bytearray(CUPS_SALE)
    data[2] |= 0x80
    with pytest.raises(MessageFormatError, match="secondary bitmap") as info:
        codec.decode("cups", bytes(data))
    assert info.value.field == 1


def test_extra_bytes_after_the_last_field_are_refused() -> None:
    """Trailing garbage after field 64 is a format error."""
    with pytest.raises(MessageFormatError, match="Extra data"):
        codec.decode("cups", CUPS_SALE + b"\x00")


def test_non_bcd_mti_is_refused() -> None:
    """An MTI of 0A00 is a format error on the MTI."""
    with pytest.raises(MessageFormatError) as info:
        codec.decode("cups", b"\x0a\x00" + CUPS_SALE[2:])
    assert info.value.field == "mti"


def test_ascii_bitmap_that_is_not_hex_is_refused() -> None:
    """An ascii87 bitmap with a non-hex character is a bitmap format error."""
    data = bytearray(ASCII_SALE)
    data[4] = ord("G")
    with pytest.raises(MessageFormatError) as info:
        codec.decode("ascii87", bytes(data))
    assert info.value.field == "bitmap"


def test_ascii_pin_block_that_is_not_hex_is_refused() -> None:
    """ascii87 field 52 must be hex text."""
    data = bytearray(ASCII_SALE)
    data[_field_offset(ASCII_SALE, "ascii87", 52)] = ord("Z")
    with pytest.raises(MessageFormatError, match="hex") as info:
        codec.decode("ascii87", bytes(data))
    assert info.value.field == 52


@pytest.mark.parametrize("data", [b"", b"\x02", b"\x02\x00", b"0200", b"\x02\x00\x00"])
def test_tiny_inputs_are_format_errors(data: bytes) -> None:
    """Empty and tiny inputs raise MessageFormatError in both dialects."""
    for name in ("cups", "ascii87"):
        with pytest.raises(MessageFormatError):
            codec.decode(name, data)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_everything(name: str, data: bytes) -> str:
    """How far ``data`` got: any failure must be a typed Iso8583Error."""
    dialect = get_dialect(name, clock=lambda: NOW)
    try:
        message = dialect.decode(data)
    except MessageFormatError:
        return "rejected"
    outcome = "decoded"
    for step in (dialect.decode_request, dialect.decode_response):
        try:
            step(message)
            outcome = "mapped"
        except Iso8583Error:
            pass
    try:
        dialect.mac_input(data)
        dialect.extract_mac(data)
    except Iso8583Error:
        pass
    return outcome


@pytest.mark.parametrize("name", ["cups", "ascii87"])
@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_only_raise_typed_errors(name: str, data: bytes) -> None:
    """Any bytes give a message or an Iso8583Error, through decode and model mapping."""
    assert _decode_everything(name, data) in ("rejected", "decoded", "mapped")


@pytest.mark.parametrize(("name", "valid"), [("cups", CUPS_SALE), ("ascii87", ASCII_SALE)])
@FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 400),
)
def test_mutated_messages_only_raise_typed_errors(
    name: str, valid: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    """Byte flips and truncations of a real message never raise anything untyped."""
    data = bytearray(valid)
    for index, value in edits:
        data[index % len(data)] = value
    assert _decode_everything(name, bytes(data[: max(cut, len(data) // 2)])) in (
        "rejected",
        "decoded",
        "mapped",
    )


@pytest.mark.parametrize(("name", "valid", "width"), [("cups", CUPS_SALE, 8), ("ascii87", ASCII_SALE, 16)])
def test_mac_input_is_everything_before_the_mac(name: str, valid: bytes, width: int) -> None:
    """The MAC covers MTI through the field before the MAC; with_mac writes the MAC there."""
    assert codec.mac_input(name, valid) == valid[:-width]
    other = bytes.fromhex("A1B2C3D4E5F60718")
    sealed = codec.with_mac(name, valid, other)
    assert sealed[:-width] == valid[:-width]
    assert codec.extract_mac(name, sealed) == other


def test_ascii87_mac_is_hex_text_in_field_128() -> None:
    """ascii87 puts the MAC as 16 uppercase hex characters in field 128."""
    message = codec.decode("ascii87", ASCII_SALE)
    assert 128 in message.fields and 64 not in message.fields
    assert ASCII_SALE.endswith(MAC.hex().upper().encode())


def test_mac_helpers_refuse_a_message_without_mac_field() -> None:
    """mac_input needs the MAC field announced; extract_mac reports None."""
    raw = codec.encode("cups", IsoMessage("0800", {11: "000001", 41: "TERM0001"}))
    assert codec.extract_mac("cups", raw) is None
    with pytest.raises(MessageFormatError) as info:
        codec.mac_input("cups", raw)
    assert info.value.field == 64


def test_with_mac_refuses_a_wrong_size_mac() -> None:
    """A MAC must be 8 bytes."""
    with pytest.raises(MessageEncodeError):
        codec.with_mac("cups", CUPS_SALE, b"\x00" * 4)


def test_seal_without_mac_function_is_refused() -> None:
    """A message announcing a MAC cannot be sealed without a MAC function."""
    dialect = get_dialect("cups")
    message = codec.decode("cups", CUPS_SALE)
    with pytest.raises(MessageEncodeError):
        dialect.seal(message)


@pytest.mark.parametrize(
    ("hex_input", "field", "reason"),
    [
        # Found by the iso-ascii87 fuzz target: field 42 carries a 0x1F control byte.
        (
            "3032303037303230303430303030433038303030313634373631373339303031303130313139303030"
            "303030303030303030303031303030303030303031303531313233343536373831321f3435363738"
            "39303132333435313536",
            42,
            "control characters",
        ),
        # Found by the iso-ascii87 fuzz target: field 2 announced with length 00.
        (
            "3032303037323031313930303030303030303030303030303130303030303030303130353131323334"
            "35363738313233343536373839303132333435313536",
            2,
            "numeric field is empty",
        ),
    ],
)
def test_decode_rejects_what_encode_would_refuse(hex_input: str, field: int, reason: str) -> None:
    """A received value the encoder could not send back is a format error, not an accepted message."""
    with pytest.raises(MessageFormatError) as caught:
        codec.decode("ascii87", bytes.fromhex(hex_input))
    assert caught.value.field == field and reason in caught.value.reason
