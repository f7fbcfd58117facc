"""poskit's application cryptogram definition: one input layout for every card profile.

The card computes, and the host recomputes from field 55, an application cryptogram
(ARQC, TC or AAC) over the same bytes, built by :func:`arqc_input`. The layout follows
the EMV Common Core Definitions style (EMV Book 2 §8.1.1 recommended minimum set plus the
card verification results):

===========  ====  ===================================================
tag          len   meaning
===========  ====  ===================================================
9F02         6     Amount, Authorised (n12)
9F03         6     Amount, Other (n12)
9F1A         2     Terminal Country Code
95           5     Terminal Verification Results
5F2A         2     Transaction Currency Code
9A           3     Transaction Date (YYMMDD)
9C           1     Transaction Type
9F37         4     Unpredictable Number
82           2     Application Interchange Profile
9F36         2     Application Transaction Counter
9F10[3:7]    4     CVR part of the Issuer Application Data (length byte + 3 CVR bytes)
===========  ====  ===================================================

Keys and algorithms (cryptogram version number :data:`CVN` = ``0x01``, "poskit CVN 01"):

* ICC master key: EMV option A from the issuer master key ``IMK-AC`` with the PAN and PAN
  sequence number (``5F34``, field 23) — :func:`poskit.crypto.emv.derive_icc_master_key`;
* session key: EMV common session key derivation with the ATC (``9F36``);
* cryptogram: ISO 9797-1 MAC algorithm 3, padding method 2 (``generate_ac``);
* ARPC: method 1, ``ARPC = DES3(SK, ARQC xor ARC||'000000000000')`` with a two-byte
  Authorisation Response Code; issuer authentication data (tag ``91``) is ``ARPC || ARC``.

Issuer Application Data (``9F10``, 7 bytes, VIS-like layout)::

    06 | DKI | CVN | 03 | CVR byte 1 | CVR byte 2 | CVR byte 3

CVR bits (byte, bit): see :class:`Cvr`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final, Literal

__all__ = [
    "ARQC_INPUT_TAGS",
    "CID_AAC",
    "CID_ARQC",
    "CID_TC",
    "CVN",
    "DKI",
    "CryptogramInputError",
    "Cvr",
    "IssuerApplicationData",
    "arqc_input",
    "cryptogram_type",
    "issuer_authentication_data",
    "split_issuer_authentication_data",
]

CVN: Final = 0x01
DKI: Final = 0x01

#: The terminal-supplied and card tags of :func:`arqc_input`, with their lengths, in order.
ARQC_INPUT_TAGS: Final[tuple[tuple[str, int], ...]] = (
    ("9F02", 6),
    ("9F03", 6),
    ("9F1A", 2),
    ("95", 5),
    ("5F2A", 2),
    ("9A", 3),
    ("9C", 1),
    ("9F37", 4),
    ("82", 2),
    ("9F36", 2),
)

CID_AAC: Final = 0x00
CID_TC: Final = 0x40
CID_ARQC: Final = 0x80


class CryptogramInputError(ValueError):
    """Data for a cryptogram is missing or has the wrong length."""

    def __init__(self, tag: str, reason: str) -> None:
        super().__init__(f"cryptogram input tag {tag}: {reason}")
        self.tag = tag
        self.reason = reason


def cryptogram_type(cid: int) -> Literal["AAC", "TC", "ARQC", "AAR"]:
    """Cryptogram Information Data bits 8-7: 00 AAC, 01 TC, 10 ARQC, 11 AAR."""
    return ("AAC", "TC", "ARQC", "AAR")[(cid >> 6) & 0x03]


class Cvr:
    """Card Verification Results bits (3 bytes, VIS-like; byte index 0-2 after the length byte).

    Byte 1: b8-7 second GENERATE AC type (00 AAC, 01 TC, 10 not requested), b6-5 first
    GENERATE AC type (00 AAC, 01 TC, 10 ARQC), b4 issuer authentication performed and
    failed, b3 offline PIN verification performed, b2 offline PIN verification failed,
    b1 unable to go online.
    Byte 2: b8 last online transaction not completed, b7 PIN try limit exceeded, b6
    exceeded velocity checking counters, b5 new card, b4 issuer authentication failure on
    last online transaction, b3 issuer authentication not performed after online
    authorisation, b2 application blocked by the card (PIN try limit), b1 offline static
    data authentication failed on last transaction.
    Byte 3: b8-5 number of issuer script commands processed, b4 issuer script processing
    failed, b3 offline dynamic data authentication failed on last transaction, b2 offline
    DDA performed, b1 consumer device CVM performed (poskit: VIS leaves this bit RFU).
    """

    # (byte index, mask)
    ISSUER_AUTH_FAILED: Final = (0, 0x08)
    OFFLINE_PIN_PERFORMED: Final = (0, 0x04)
    OFFLINE_PIN_FAILED: Final = (0, 0x02)
    UNABLE_TO_GO_ONLINE: Final = (0, 0x01)
    LAST_ONLINE_NOT_COMPLETED: Final = (1, 0x80)
    PIN_TRY_LIMIT_EXCEEDED: Final = (1, 0x40)
    VELOCITY_EXCEEDED: Final = (1, 0x20)
    NEW_CARD: Final = (1, 0x10)
    ISSUER_AUTH_FAILED_LAST_ONLINE: Final = (1, 0x08)
    ISSUER_AUTH_NOT_PERFORMED: Final = (1, 0x04)
    BLOCKED_PIN_TRY_LIMIT: Final = (1, 0x02)
    SDA_FAILED_LAST: Final = (1, 0x01)
    SCRIPT_FAILED: Final = (2, 0x08)
    DDA_FAILED_LAST: Final = (2, 0x04)
    DDA_PERFORMED: Final = (2, 0x02)
    CDCVM_PERFORMED: Final = (2, 0x01)

    @staticmethod
    def is_set(cvr: bytes, bit: tuple[int, int]) -> bool:
        index, mask = bit
        return len(cvr) > index and bool(cvr[index] & mask)

    @staticmethod
    def first_ac(cvr: bytes) -> Literal["AAC", "TC", "ARQC", "RFU"]:
        return ("AAC", "TC", "ARQC", "RFU")[(cvr[0] >> 4) & 0x03]

    @staticmethod
    def second_ac(cvr: bytes) -> Literal["AAC", "TC", "not requested", "RFU"]:
        code = (cvr[0] >> 6) & 0x03
        return ("AAC", "TC", "not requested", "RFU")[code]

    @staticmethod
    def script_count(cvr: bytes) -> int:
        return cvr[2] >> 4


@dataclasses.dataclass(frozen=True, slots=True)
class IssuerApplicationData:
    """poskit's 9F10 layout: ``06 DKI CVN 03 CVR(3)``."""

    cvr: bytes
    dki: int = DKI
    cvn: int = CVN

    def __post_init__(self) -> None:
        if len(self.cvr) != 3:
            raise CryptogramInputError("9F10", f"CVR must be 3 bytes, got {len(self.cvr)}")

    def to_bytes(self) -> bytes:
        return bytes([0x06, self.dki, self.cvn, 0x03]) + self.cvr

    @classmethod
    def parse(cls, data: bytes) -> IssuerApplicationData:
        if len(data) < 7 or data[0] != 0x06 or data[3] != 0x03:
            raise CryptogramInputError(
                "9F10", "not poskit IAD layout (expected 06 DKI CVN 03 CVR1 CVR2 CVR3)"
            )
        return cls(cvr=bytes(data[4:7]), dki=data[1], cvn=data[2])


def arqc_input(tags: Mapping[str, bytes]) -> bytes:
    """The bytes an ARQC/TC/AAC is computed over (see the module docstring for the layout).

    ``tags`` maps upper-case hex tags to values, e.g. the flattened field 55, or the
    card's view of CDOL data plus its own AIP, ATC and IAD.
    """
    out = bytearray()
    for tag, length in ARQC_INPUT_TAGS:
        value = tags.get(tag)
        if value is None:
            raise CryptogramInputError(tag, "missing")
        if len(value) != length:
            raise CryptogramInputError(tag, f"{len(value)} bytes, expected {length}")
        out += value
    iad = tags.get("9F10")
    if iad is None:
        raise CryptogramInputError("9F10", "missing (the CVR is part of the cryptogram input)")
    out += IssuerApplicationData.parse(iad).to_bytes()[3:7]
    return bytes(out)


def issuer_authentication_data(arpc: bytes, arc: bytes) -> bytes:
    """Value of tag 91 for ARPC method 1: ``ARPC (8) || ARC (2)``."""
    if len(arpc) != 8 or len(arc) != 2:
        raise CryptogramInputError("91", "ARPC must be 8 bytes and ARC 2 bytes")
    return arpc + arc


def split_issuer_authentication_data(data: bytes) -> tuple[bytes, bytes]:
    """``(arpc, arc)`` from a tag 91 value (method 1, 10 bytes)."""
    if len(data) != 10:
        raise CryptogramInputError("91", f"{len(data)} bytes, method 1 issuer data is 10")
    return data[:8], data[8:]
