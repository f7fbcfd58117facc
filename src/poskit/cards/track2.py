"""Track 2 (ISO/IEC 7813) equivalent data: PAN, expiry, service code, discretionary data."""

from __future__ import annotations

import dataclasses

from poskit.cards.pan import PanError, validate_pan

__all__ = ["ServiceCode", "Track2", "Track2Error"]


class Track2Error(ValueError):
    """Track 2 data that cannot be parsed; carries the position of the problem."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"invalid track 2{where}: {reason}")
        self.reason = reason
        self.position = position


@dataclasses.dataclass(frozen=True, slots=True)
class ServiceCode:
    """The three-digit magstripe service code (ISO/IEC 7813)."""

    code: str

    def __post_init__(self) -> None:
        if len(self.code) != 3 or not self.code.isdigit():
            raise Track2Error(f"service code {self.code!r} must be 3 digits")

    @property
    def chip_card(self) -> bool:
        """Digit 1 is 2 or 6: the card has a chip and must be inserted where a chip reader works."""
        return self.code[0] in "26"

    @property
    def international(self) -> bool:
        return self.code[0] in "12"

    @property
    def pin_required(self) -> bool:
        """Digit 3 is 0, 3 or 5: PIN required."""
        return self.code[2] in "035"

    @property
    def pin_if_pin_pad(self) -> bool:
        """Digit 3 is 6 or 7: prompt for the PIN when a PIN pad is present."""
        return self.code[2] in "67"

    @property
    def online_only(self) -> bool:
        """Digit 2 is 2: authorise online."""
        return self.code[1] == "2"


@dataclasses.dataclass(frozen=True, slots=True)
class Track2:
    """Parsed track 2 equivalent data. ``str()`` gives the ``=``-separated form."""

    pan: str
    expiry: str  # YYMM
    service_code: str
    discretionary: str = ""

    @classmethod
    def parse(cls, text: str) -> Track2:
        """Parse ``PAN=YYMMSSSDDD`` (``D`` accepted for ``=``; trailing ``F`` padding ignored)."""
        raw = text.strip().upper().rstrip("F").replace("D", "=")
        if raw.startswith(";"):
            raw = raw[1:]
        if raw.endswith("?"):
            raw = raw[:-1]
        sep = raw.find("=")
        if sep < 0:
            raise Track2Error("no field separator '=' (or 'D')")
        pan = raw[:sep]
        try:
            validate_pan(pan)
        except PanError as exc:
            raise Track2Error(exc.reason, exc.position) from None
        rest = raw[sep + 1 :]
        if len(rest) < 7:
            raise Track2Error("expiry and service code missing after the separator", sep + 2)
        for i, ch in enumerate(rest):
            if not ch.isdigit():
                raise Track2Error(f"{ch!r} is not a digit", sep + 2 + i)
        expiry, service = rest[:4], rest[4:7]
        month = int(expiry[2:])
        if not 1 <= month <= 12:
            raise Track2Error(f"expiry month {expiry[2:]} is not 01-12", sep + 4)
        return cls(pan=pan, expiry=expiry, service_code=service, discretionary=rest[7:])

    def __str__(self) -> str:
        return f"{self.pan}={self.expiry}{self.service_code}{self.discretionary}"

    def to_field35(self) -> str:
        """ISO 8583 field 35 nibbles: ``=`` becomes ``D``."""
        return str(self).replace("=", "D")

    @property
    def service(self) -> ServiceCode:
        return ServiceCode(self.service_code)

    def __repr__(self) -> str:  # never print the track in clear
        return f"Track2(pan=<{len(self.pan)} digits>, expiry=<hidden>, service_code={self.service_code})"
