"""The e-signature 特征码 (feature code) shown on the signature pad and the e-receipt.

From the CUPS e-signature flow (china-pos-domain.md §1.12): take the 16 ASCII bytes
``settlement date (F15, MMDD) || retrieval reference number (F37, an12)`` and XOR the first
eight bytes with the last eight; the code is the eight results as uppercase hex, two digits
each. (Some terminal code formats each byte with ``%X`` and drops leading zeros, giving a
shorter and ambiguous code; poskit always zero-pads with ``%02X``.)
"""

from __future__ import annotations

__all__ = ["FeatureCodeError", "feature_code"]

# Days per month with February at 29: F15 carries no year, so 0229 must be accepted.
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class FeatureCodeError(ValueError):
    """An input to the feature code that is not a valid F15 / F37 value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid {field} for the feature code: {reason}")
        self.field = field
        self.reason = reason


def _check_settlement_date(settlement_date: str) -> None:
    if len(settlement_date) != 4 or not (settlement_date.isascii() and settlement_date.isdigit()):
        raise FeatureCodeError("settlement_date", f"{settlement_date!r} is not 4 digits MMDD (F15)")
    month, day = int(settlement_date[:2]), int(settlement_date[2:])
    if not 1 <= month <= 12:
        raise FeatureCodeError("settlement_date", f"month {month:02d} is not 01..12")
    if not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        raise FeatureCodeError("settlement_date", f"day {day:02d} does not exist in month {month:02d}")


def _check_rrn(rrn: str) -> None:
    if len(rrn) != 12 or not (rrn.isascii() and rrn.isalnum()):
        raise FeatureCodeError("rrn", f"{rrn!r} is not 12 alphanumeric characters (F37 an12)")


def feature_code(settlement_date: str, rrn: str) -> str:
    """Return the 16-hex-digit feature code for F15 ``settlement_date`` (MMDD) and F37 ``rrn``."""
    _check_settlement_date(settlement_date)
    _check_rrn(rrn)
    data = (settlement_date + rrn).encode("ascii")
    return "".join(f"{data[i] ^ data[i + 8]:02X}" for i in range(8))
