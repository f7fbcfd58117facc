"""Terminal Verification Results (tag 95) and Transaction Status Information (tag 9B).

EMV Book 3 Annex C5 and C6. Both are bit fields the kernel sets while it works; the TVR
goes to the card in GENERATE AC and to the issuer in field 55, the TSI records which
steps were performed.
"""

from __future__ import annotations

import enum

__all__ = ["Tsi", "TsiBit", "Tvr", "TvrBit"]


class TvrBit(enum.Enum):
    """(byte index, mask, meaning) of each TVR bit."""

    ODA_NOT_PERFORMED = (0, 0x80, "Offline data authentication was not performed")
    SDA_FAILED = (0, 0x40, "SDA failed")
    ICC_DATA_MISSING = (0, 0x20, "ICC data missing")
    EXCEPTION_FILE = (0, 0x10, "Card appears on terminal exception file")
    DDA_FAILED = (0, 0x08, "DDA failed")
    CDA_FAILED = (0, 0x04, "CDA failed")
    SDA_SELECTED = (0, 0x02, "SDA selected")
    VERSIONS_DIFFER = (1, 0x80, "ICC and terminal have different application versions")
    EXPIRED = (1, 0x40, "Expired application")
    NOT_YET_EFFECTIVE = (1, 0x20, "Application not yet effective")
    SERVICE_NOT_ALLOWED = (1, 0x10, "Requested service not allowed for card product")
    NEW_CARD = (1, 0x08, "New card")
    CVM_FAILED = (2, 0x80, "Cardholder verification was not successful")
    UNRECOGNISED_CVM = (2, 0x40, "Unrecognised CVM")
    PIN_TRY_LIMIT_EXCEEDED = (2, 0x20, "PIN Try Limit exceeded")
    PIN_PAD_MISSING = (2, 0x10, "PIN entry required and PIN pad not present or not working")
    PIN_NOT_ENTERED = (2, 0x08, "PIN entry required, PIN pad present, but PIN was not entered")
    ONLINE_PIN_ENTERED = (2, 0x04, "Online PIN entered")
    FLOOR_LIMIT_EXCEEDED = (3, 0x80, "Transaction exceeds floor limit")
    LCOL_EXCEEDED = (3, 0x40, "Lower consecutive offline limit exceeded")
    UCOL_EXCEEDED = (3, 0x20, "Upper consecutive offline limit exceeded")
    RANDOM_SELECTED = (3, 0x10, "Transaction selected randomly for online processing")
    MERCHANT_FORCED_ONLINE = (3, 0x08, "Merchant forced transaction online")
    DEFAULT_TDOL_USED = (4, 0x80, "Default TDOL used")
    ISSUER_AUTH_FAILED = (4, 0x40, "Issuer authentication failed")
    SCRIPT_FAILED_BEFORE_AC = (4, 0x20, "Script processing failed before final GENERATE AC")
    SCRIPT_FAILED_AFTER_AC = (4, 0x10, "Script processing failed after final GENERATE AC")


class TsiBit(enum.Enum):
    ODA_PERFORMED = (0, 0x80, "Offline data authentication was performed")
    CVM_PERFORMED = (0, 0x40, "Cardholder verification was performed")
    CARD_RISK_MANAGEMENT = (0, 0x20, "Card risk management was performed")
    ISSUER_AUTHENTICATION = (0, 0x10, "Issuer authentication was performed")
    TERMINAL_RISK_MANAGEMENT = (0, 0x08, "Terminal risk management was performed")
    SCRIPT_PROCESSING = (0, 0x04, "Script processing was performed")


class _Bits:
    _size = 0
    _enum: type[enum.Enum] = enum.Enum

    def __init__(self, value: bytes | None = None) -> None:
        raw = bytes(self._size) if value is None else bytes(value)
        if len(raw) != self._size:
            raise ValueError(f"{type(self).__name__} is {self._size} bytes, got {len(raw)}")
        self._value = bytearray(raw)

    def set(self, bit: enum.Enum) -> None:
        index, mask, _ = bit.value
        self._value[index] |= mask

    def clear(self, bit: enum.Enum) -> None:
        index, mask, _ = bit.value
        self._value[index] &= ~mask & 0xFF

    def __contains__(self, bit: object) -> bool:
        if not isinstance(bit, self._enum):
            return False
        index, mask, _ = bit.value
        return bool(self._value[index] & mask)

    def to_bytes(self) -> bytes:
        return bytes(self._value)

    def hex(self) -> str:
        return self._value.hex().upper()

    def names(self) -> list[str]:
        return [bit.name for bit in self._enum if bit in self]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_bytes() == self.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hex()}: {', '.join(self.names()) or 'none'})"


class Tvr(_Bits):
    """Mutable TVR: ``tvr.set(TvrBit.EXPIRED)``, ``TvrBit.EXPIRED in tvr``, ``tvr.to_bytes()``."""

    _size = 5
    _enum = TvrBit


class Tsi(_Bits):
    _size = 2
    _enum = TsiBit
