"""Processing restrictions (EMV Book 3 §10.4): application version, usage control, dates.

The checks never stop the transaction; they set TVR bits that terminal action analysis
weighs against the action codes.
"""

from __future__ import annotations

import datetime as dt

from poskit.emv.tvr import Tvr, TvrBit

__all__ = ["check_processing_restrictions", "emv_date", "usage_allowed"]


def emv_date(value: bytes | str) -> dt.date:
    """YYMMDD (n6) to a date; YY below 50 is 20YY (Book 4 §6.7.3), 99-12-31 style allowed."""
    text = value.hex() if isinstance(value, bytes | bytearray) else value
    if len(text) != 6 or not text.isdigit():
        raise ValueError(f"date {text!r} is not YYMMDD")
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    year = 2000 + yy if yy < 50 else 1900 + yy
    return dt.date(year, mm, dd)


def usage_allowed(auc: bytes, *, domestic: bool, transaction_type: str, atm: bool) -> bool:
    """Application Usage Control (9F07) check for one transaction (Book 3 §10.4.2)."""
    b1 = auc[0]
    b2 = auc[1] if len(auc) > 1 else 0
    if atm and not b1 & 0x02:
        return False
    if not atm and not b1 & 0x01:
        return False
    if transaction_type == "01":  # cash
        return bool(b1 & (0x80 if domestic else 0x40))
    if transaction_type == "09":  # purchase with cashback
        goods = b1 & (0x20 if domestic else 0x10)
        return bool(goods and b2 & (0x80 if domestic else 0x40))
    # goods or services: either bit is enough, the terminal cannot tell them apart
    return bool(b1 & ((0x20 | 0x08) if domestic else (0x10 | 0x04)))


def check_processing_restrictions(
    *,
    tvr: Tvr,
    today: dt.date,
    card_version: bytes | None,
    terminal_version: bytes,
    auc: bytes | None,
    issuer_country: bytes | None,
    terminal_country: bytes,
    transaction_type: str,
    terminal_type: str,
    effective_date: bytes | None,
    expiry_date: bytes,
) -> None:
    """Set TVR byte 2 bits: versions differ, service not allowed, not yet effective, expired."""
    if card_version is not None and card_version != terminal_version:
        tvr.set(TvrBit.VERSIONS_DIFFER)
    if auc is not None and issuer_country is not None:
        atm = terminal_type in ("14", "15", "16") and transaction_type == "01"
        domestic = issuer_country == terminal_country
        if not usage_allowed(auc, domestic=domestic, transaction_type=transaction_type, atm=atm):
            tvr.set(TvrBit.SERVICE_NOT_ALLOWED)
    if effective_date is not None:
        try:
            if emv_date(effective_date) > today:
                tvr.set(TvrBit.NOT_YET_EFFECTIVE)
        except ValueError:
            tvr.set(TvrBit.NOT_YET_EFFECTIVE)
    try:
        if emv_date(expiry_date) < today:
            tvr.set(TvrBit.EXPIRED)
    except ValueError:
        tvr.set(TvrBit.EXPIRED)
