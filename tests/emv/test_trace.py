"""Masked APDU traces: PAN, track 2, names and PIN blocks never appear in clear."""

from __future__ import annotations

from poskit.emv.tlv import tlv
from poskit.emv.trace import describe_exchange, format_trace, mask_command, mask_response

PAN_HEX = "6222021001123456789F"
TRACK2_HEX = "6222021001123456789D30122201234567890F"


def test_record_masks_pan_and_track2() -> None:
    """READ RECORD responses keep tag/length, show PAN as 6+4 and hide track 2 after the PAN."""
    record = tlv(
        "70",
        tlv("57", bytes.fromhex(TRACK2_HEX))
        + tlv("5A", bytes.fromhex(PAN_HEX))
        + tlv("5F20", b"ZHANG/SAN")
        + tlv("5F24", bytes.fromhex("301231")),
    )
    text = mask_response(record + b"\x90\x00")
    assert "1001123456" not in text
    assert "ZHANG" not in text and b"ZHANG/SAN".hex().upper() not in text
    assert "622202*********6789F" in text
    assert "622202*********6789D" + "*" * 17 in text
    assert "5F2403301231" in text
    assert text.endswith("9000")
    assert len(text) == 2 * (len(record) + 2)


def test_verify_command_hides_pin_block() -> None:
    """VERIFY and PIN CHANGE data are always hidden."""
    verify = bytes.fromhex("0020008008241234FFFFFFFFFF")
    assert mask_command(verify) == "0020008008" + "*" * 16
    change = bytes.fromhex("8424000210") + bytes(16)
    assert "0000" not in mask_command(change)[10:]


def test_unparseable_response_is_hidden() -> None:
    """Data that is not TLV cannot be shown to be harmless, so it is hidden."""
    text = mask_response(bytes.fromhex("FFFF5A") + b"\x90\x00")
    assert text == "******9000"


def test_get_challenge_is_shown() -> None:
    """GET CHALLENGE answers (a random number) are not TLV but harmless."""
    exchange = describe_exchange(bytes.fromhex("0084000000"), bytes.fromhex("01020304050607089000"))
    assert exchange.response == "01020304050607089000"
    assert exchange.name == "GET CHALLENGE"
    assert "GET CHALLENGE" in format_trace([exchange])
