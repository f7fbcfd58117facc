"""Command and response APDUs (ISO/IEC 7816-4, EMV Book 1 §11 and Book 3 §6).

:class:`Apdu` is a command (short form, cases 1-4); :class:`ResponseApdu` is the card's
answer: data plus the status word SW1 SW2. The command builders below give the EMV
commands with their real class/instruction bytes, so the kernel, the virtual card and the
trace masker agree on one definition.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = [
    "AC_REFERENCE",
    "INS_NAMES",
    "SW",
    "AcType",
    "Apdu",
    "ApduError",
    "ResponseApdu",
    "describe_sw",
    "external_authenticate",
    "generate_ac",
    "get_challenge",
    "get_data",
    "get_processing_options",
    "get_response",
    "internal_authenticate",
    "read_record",
    "select",
    "verify",
]


class ApduError(ValueError):
    """Bytes that are not a well-formed command or response APDU."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        where = f" at byte {position}" if position is not None else ""
        super().__init__(f"invalid APDU{where}: {reason}")
        self.reason = reason
        self.position = position


#: Instruction bytes used by EMV (Book 3 §6.5, Book 2 §9 issuer script commands).
INS_NAMES: dict[int, str] = {
    0x1E: "APPLICATION BLOCK",
    0x18: "APPLICATION UNBLOCK",
    0x16: "CARD BLOCK",
    0x82: "EXTERNAL AUTHENTICATE",
    0xAE: "GENERATE AC",
    0x84: "GET CHALLENGE",
    0xCA: "GET DATA",
    0xA8: "GET PROCESSING OPTIONS",
    0xC0: "GET RESPONSE",
    0x88: "INTERNAL AUTHENTICATE",
    0x24: "PIN CHANGE/UNBLOCK",
    0xDA: "PUT DATA",
    0xB2: "READ RECORD",
    0xA4: "SELECT",
    0x20: "VERIFY",
    0xDC: "UPDATE RECORD",
}


class SW:
    """Status words as cards return them (ISO 7816-4 §5.1.3, EMV Book 3 Annex F)."""

    OK = 0x9000
    WARNING_SELECTED_FILE_INVALIDATED = 0x6283  # application blocked (SELECT)
    AUTHENTICATION_FAILED = 0x6300  # EXTERNAL AUTHENTICATE: ARPC wrong
    WRONG_LENGTH = 0x6700
    SECURITY_STATUS_NOT_SATISFIED = 0x6982  # secure messaging MAC wrong
    AUTH_METHOD_BLOCKED = 0x6983  # PIN try limit reached
    REFERENCED_DATA_INVALIDATED = 0x6984
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED = 0x6986
    SM_DATA_INCORRECT = 0x6988
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81  # card blocked (SELECT)
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    INCORRECT_P1_P2 = 0x6A86
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_P1_P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    UNKNOWN = 0x6F00


_SW_TEXT: dict[int, str] = {
    0x9000: "success",
    0x6283: "selected file invalidated (application blocked)",
    0x6300: "authentication failed",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6982: "security status not satisfied",
    0x6983: "authentication method blocked",
    0x6984: "referenced data invalidated",
    0x6985: "conditions of use not satisfied",
    0x6986: "command not allowed",
    0x6988: "secure messaging data objects incorrect",
    0x6A80: "incorrect parameters in the data field",
    0x6A81: "function not supported (card blocked)",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A86: "incorrect parameters P1-P2",
    0x6A88: "referenced data not found",
    0x6B00: "wrong parameters P1-P2",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}


def describe_sw(sw1: int, sw2: int) -> str:
    """Human meaning of a status word, e.g. ``63C2`` -> ``wrong PIN, 2 tries left``."""
    sw = (sw1 << 8) | sw2
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return f"verification failed, {sw2 & 0x0F} tries left"
    if sw1 == 0x61:
        return f"{sw2 or 256} response bytes still available"
    if sw1 == 0x6C:
        return f"wrong Le, exact length is {sw2 or 256}"
    return _SW_TEXT.get(sw, f"status {sw:04X}")


@dataclasses.dataclass(frozen=True, slots=True)
class Apdu:
    """A command APDU. ``le`` None means no Le byte; 0 means Le='00' (up to 256 bytes)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ApduError(f"{name.upper()} {value} does not fit a byte")
        if len(self.data) > 255:
            raise ApduError(f"command data of {len(self.data)} bytes needs extended APDUs")
        if self.le is not None and not 0 <= self.le <= 0xFF:
            raise ApduError(f"Le {self.le} does not fit a byte")

    @property
    def name(self) -> str:
        return INS_NAMES.get(self.ins, f"INS {self.ins:02X}")

    def to_bytes(self) -> bytes:
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([self.le])
        return out

    @classmethod
    def parse(cls, raw: bytes) -> Apdu:
        """Parse a short command APDU (cases 1, 2, 3 and 4)."""
        if len(raw) < 4:
            raise ApduError(f"{len(raw)} bytes, a command has at least CLA INS P1 P2")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0])
        lc = body[0]
        if lc == 0:
            raise ApduError("Lc of 0 (extended length is not supported)", 4)
        if len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, bytes(body[1:]))
        if len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, bytes(body[1:-1]), le=body[-1])
        raise ApduError(f"Lc says {lc} data bytes but {len(body) - 1} follow", 4)

    def __repr__(self) -> str:  # command data may hold PIN blocks: show sizes only
        return (
            f"Apdu({self.name}, {self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X}, "
            f"<{len(self.data)} bytes>, le={self.le})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ResponseApdu:
    """A response APDU: data followed by SW1 SW2."""

    data: bytes
    sw1: int
    sw2: int

    @classmethod
    def parse(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise ApduError(f"{len(raw)} bytes, a response ends with SW1 SW2")
        return cls(bytes(raw[:-2]), raw[-2], raw[-1])

    @classmethod
    def status(cls, sw: int, data: bytes = b"") -> ResponseApdu:
        return cls(data, sw >> 8, sw & 0xFF)

    def to_bytes(self) -> bytes:
        return self.data + bytes([self.sw1, self.sw2])

    @property
    def sw(self) -> int:
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        return self.sw == SW.OK

    @property
    def meaning(self) -> str:
        return describe_sw(self.sw1, self.sw2)

    def __repr__(self) -> str:  # data may hold track 2 / PAN
        return f"ResponseApdu(<{len(self.data)} bytes>, sw={self.sw:04X})"


# Command builders --------------------------------------------------------------------------

AcType = Literal["AAC", "TC", "ARQC"]
#: Reference control parameter, GENERATE AC P1 bits 8-7 (Book 3 Table 12).
AC_REFERENCE: dict[str, int] = {"AAC": 0x00, "TC": 0x40, "ARQC": 0x80}


def select(name: bytes, *, next_occurrence: bool = False) -> Apdu:
    """SELECT by DF name (P1=04); P2=02 asks for the next application matching a partial name."""
    return Apdu(0x00, 0xA4, 0x04, 0x02 if next_occurrence else 0x00, name, le=0)


def get_processing_options(pdol_data: bytes) -> Apdu:
    """GET PROCESSING OPTIONS with the command template '83' around the PDOL data."""
    return Apdu(0x80, 0xA8, 0x00, 0x00, bytes([0x83, len(pdol_data)]) + pdol_data, le=0)


def read_record(sfi: int, record: int) -> Apdu:
    if not 1 <= sfi <= 30:
        raise ApduError(f"SFI {sfi} outside 1-30")
    return Apdu(0x00, 0xB2, record, (sfi << 3) | 0x04, le=0)


def get_data(tag: str) -> Apdu:
    """GET DATA for a two-byte tag such as 9F36 (ATC) or 9F17 (PIN try counter)."""
    raw = bytes.fromhex(tag)
    if len(raw) != 2:
        raise ApduError(f"GET DATA needs a two-byte tag, got {tag}")
    return Apdu(0x80, 0xCA, raw[0], raw[1], le=0)


def verify(pin_data: bytes, *, enciphered: bool) -> Apdu:
    """VERIFY: P2=80 plaintext PIN block, P2=88 PIN enciphered under the ICC key."""
    return Apdu(0x00, 0x20, 0x00, 0x88 if enciphered else 0x80, pin_data)


def get_challenge() -> Apdu:
    return Apdu(0x00, 0x84, 0x00, 0x00, le=0)


def internal_authenticate(ddol_data: bytes) -> Apdu:
    return Apdu(0x00, 0x88, 0x00, 0x00, ddol_data, le=0)


def generate_ac(ac_type: AcType, cdol_data: bytes, *, cda: bool = False) -> Apdu:
    """GENERATE AC; ``cda`` sets P1 bit 5 (combined DDA/application cryptogram generation)."""
    p1 = AC_REFERENCE[ac_type] | (0x10 if cda else 0x00)
    return Apdu(0x80, 0xAE, p1, 0x00, cdol_data, le=0)


def external_authenticate(issuer_authentication_data: bytes) -> Apdu:
    return Apdu(0x00, 0x82, 0x00, 0x00, issuer_authentication_data)


def get_response(length: int) -> Apdu:
    """GET RESPONSE after SW1=61 (T=0 cards)."""
    return Apdu(0x00, 0xC0, 0x00, 0x00, le=length)
