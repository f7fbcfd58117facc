"""Seed inputs for each fuzz target: well-formed examples the mutators start from.

Regression inputs (crashes found and fixed) live in ``regressions/TARGET/*.hex`` beside
this module and are replayed by the suite and added to every run's corpus.
"""

from __future__ import annotations

from importlib import resources

from poskit.crypto.pinblock import encode_iso4_pin_field, encode_pinblock
from poskit.crypto.tr31 import KeyBlockHeader, wrap
from poskit.emv.tlv import Tlv, encode, tlv
from poskit.fuzz.targets import KBPK_AES, KBPK_TDES, PAN
from poskit.iso8583 import codec
from poskit.iso8583.framing import CupsHeader, Tpdu, encode_frame
from poskit.iso8583.message import IsoMessage

__all__ = ["regressions", "seeds"]


def _fixed(n: int) -> bytes:
    return bytes((0x5A + i) & 0xFF for i in range(n))


def _iso(dialect: str) -> list[bytes]:
    sale = IsoMessage(
        "0200",
        {
            2: "4761739001010119",
            3: "000000",
            4: "000000001000",
            11: "000001",
            22: "051",
            41: "12345678",
            42: "123456789012345",
            49: "156",
        },
    )
    answer = IsoMessage("0210", {3: "000000", 11: "000001", 39: "00", 41: "12345678"})
    return [codec.encode(dialect, sale), codec.encode(dialect, answer)]


def _icc() -> bytes:
    return encode(
        [
            Tlv("9F26", _fixed(8)),
            Tlv("9F27", b"\x80"),
            Tlv("9F10", _fixed(7)),
            Tlv("9F37", _fixed(4)),
            Tlv("95", bytes(5)),
            Tlv("9A", b"\x26\x12\x07"),
            Tlv("9C", b"\x00"),
            Tlv("5F2A", b"\x01\x56"),
        ]
    )


def _card_response() -> bytes:
    return tlv("77", tlv("82", b"\x19\x80") + tlv("94", b"\x08\x01\x01\x00")) + tlv(
        "70", encode([Tlv("5F20", b"CARDHOLDER/TEST"), Tlv("9F4A", b"\x82")])
    )


def seeds(target: str) -> list[bytes]:
    """The seed corpus of ``target``."""
    if target in ("iso-cups", "iso-ascii87"):
        return _iso(target.removeprefix("iso-"))
    if target == "framing":
        header = CupsHeader(
            application=0x60,
            software_version=0x31,
            terminal_status=0,
            processing_requirement=0,
            sub_version="000000",
        )
        tpdu = Tpdu(destination=1, source=0, id=0x60)
        return [encode_frame(tpdu.to_bytes() + header.to_bytes() + _iso("cups")[0]), tpdu.to_bytes()]
    if target == "tlv":
        return [_icc(), _card_response()]
    if target == "field55":
        return [_icc(), tlv("91", _fixed(10)) + tlv("72", tlv("9F18", b"1234") + tlv("86", _fixed(9)))]
    if target == "tr31":
        key = bytes(range(16, 32))
        return [
            wrap(KBPK_AES, KeyBlockHeader("D", "P0", "A", "E"), key, random=_fixed).encode(),
            wrap(KBPK_TDES, KeyBlockHeader("B", "K0", "T", "B"), key, random=_fixed).encode(),
        ]
    if target == "pinblock":
        return [encode_pinblock("1234", PAN, fmt=0), encode_iso4_pin_field("123456", random=_fixed)]
    raise LookupError(f"no fuzz target {target!r}")


def regressions(target: str) -> list[bytes]:
    """Inputs that once broke ``target`` (kept so they never break it again)."""
    folder = resources.files("poskit.fuzz") / "regressions" / target
    if not folder.is_dir():
        return []
    return [
        bytes.fromhex(item.read_text().strip())
        for item in sorted(folder.iterdir(), key=lambda i: i.name)
        if item.name.endswith(".hex")
    ]
