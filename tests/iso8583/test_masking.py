"""Masked dumps never show a PAN, track, PIN block, MAC or card tags of field 55."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.iso8583 import get_dialect
from poskit.iso8583.masking import WIPED, mask_tlv
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.model import CardData, EntryMode, Request, TxnType
from poskit.money import Amount

PAN = "6222021001123456789"  # poskit's public test card
ICC = bytes.fromhex("5A0862220210011234569F2608A1B2C3D4E5F6071857114761739001010010D2212201123456789F")


def sale_message(name: str, pan: str, track: str, pin_block: bytes) -> IsoMessage:
    dialect = get_dialect(name)
    request = Request(
        TxnType.SALE,
        "TERM0001",
        "MERCHANTABCDEFG",
        1,
        1,
        amount=Amount.of(100, "CNY"),
        card=CardData(
            entry_mode=EntryMode.CHIP, pan=pan, track2=track, expiry="2912", pin_block=pin_block, icc_data=ICC
        ),
    )
    return dialect.decode(
        dialect.seal(dialect.encode_request(request), mac=lambda _: bytes.fromhex("DEADBEEFCAFEF00D"))
    )


def test_masked_sale_shows_first6_last4_only() -> None:
    """The PAN appears as 622202*********6789 and the secrets as [WIPED]."""
    for name in ("cups", "ascii87"):
        message = sale_message(name, PAN, PAN + "D2912201000001", bytes.fromhex("0123456789ABCDEF"))
        safe = message.masked()
        assert safe["2"] == "622202*********6789"
        for number in ("14", "35", "52", str(get_dialect(name).mac_field)):
            assert safe[number] == WIPED
        assert "5A=[WIPED]" in safe["55"] and "57=[WIPED]" in safe["55"]
        assert "9F26=A1B2C3D4E5F60718" in safe["55"]
        dump = message.describe()
        assert PAN not in dump and "0123456789ABCDEF" not in dump.upper()
        assert "F002" in dump and "622202*********6789" in dump


def test_describe_in_chinese_uses_chinese_field_names() -> None:
    """describe(lang="zh") labels fields with their Chinese names."""
    message = sale_message("cups", PAN, PAN + "D2912201000001", bytes(8))
    assert "主账号" in message.describe(lang="zh")


def test_malformed_icc_data_is_wiped_whole() -> None:
    """Field 55 that does not parse as TLV is wiped entirely (it might hide a PAN)."""
    assert mask_tlv("5A08622202", frozenset({"5A"})) == WIPED
    assert mask_tlv("ZZ", frozenset()) == WIPED


def test_constructed_tlv_children_are_masked() -> None:
    """A template (70) with a PAN inside shows the template with the PAN wiped."""
    value = "700A5A086222021001123456" + "95050000008000"
    assert mask_tlv(value, frozenset({"5A"})) == "70=[5A=[WIPED]] 95=0000008000"


def test_unknown_dialect_uses_the_strictest_rules() -> None:
    """Without a dialect, masking applies the strictest rule of all bundled dialects."""
    message = IsoMessage("0200", {2: PAN, 35: PAN + "D2912", 52: "00" * 8, 55: ICC.hex()})
    safe = message.masked()
    assert safe["2"] == "622202*********6789"
    assert safe["35"] == WIPED and safe["52"] == WIPED
    assert PAN not in repr(message) and PAN not in str(safe)


@settings(max_examples=100, deadline=None)
# Distinct digits/bytes so a secret cannot coincide with harmless zeros elsewhere.
@given(
    pan=st.text("0123456789", min_size=13, max_size=19).filter(lambda p: len(set(p)) > 4),
    extra=st.text("0123456789", min_size=7, max_size=12),
    pin_block=st.binary(min_size=8, max_size=8).filter(lambda b: len(set(b)) > 4),
)
def test_no_secret_appears_in_any_dump(pan: str, extra: str, pin_block: bytes) -> None:
    """For any card, masked(), describe() and repr() hold no PAN, track or PIN block."""
    track = f"{pan}D{extra}"
    for name in ("cups", "ascii87"):
        message = sale_message(name, pan, track, pin_block)
        texts = [str(message.masked()), message.describe(), message.describe(lang="zh"), repr(message)]
        for text in texts:
            assert pan not in text
            assert track not in text and track.replace("D", "=") not in text
            assert pin_block.hex().upper() not in text.upper()
