"""Primary account numbers: Luhn check, masking and validation."""

from __future__ import annotations

__all__ = ["PanError", "last4", "luhn_check_digit", "luhn_valid", "mask_pan", "validate_pan"]


class PanError(ValueError):
    """A PAN that is not 12-19 digits or fails the Luhn check."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"invalid PAN{where}: {reason}")
        self.reason = reason
        self.position = position


def luhn_check_digit(body: str) -> str:
    """The Luhn (mod 10) check digit for ``body`` (the PAN without its last digit)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(pan: str) -> bool:
    return len(pan) >= 2 and pan.isdigit() and luhn_check_digit(pan[:-1]) == pan[-1]


def validate_pan(pan: str) -> str:
    """Return ``pan`` if it is 12-19 digits with a valid check digit, else raise :class:`PanError`."""
    for i, ch in enumerate(pan):
        if not ch.isdigit():
            raise PanError(f"{ch!r} is not a digit", position=i + 1)
    if not 12 <= len(pan) <= 19:
        raise PanError(f"length {len(pan)}, expected 12 to 19 digits")
    if not luhn_valid(pan):
        raise PanError("check digit does not match (Luhn)", position=len(pan))
    return pan


def mask_pan(pan: str) -> str:
    """Show the first 6 and last 4 digits only: ``622202*********6789``."""
    if len(pan) < 11:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def last4(pan: str) -> str:
    return pan[-4:]
