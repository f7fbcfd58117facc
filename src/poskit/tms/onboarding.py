"""Merchant onboarding (商户入网): a new merchant of an acquirer, audited.

Country, time zone and terminal language default to the acquirer's (and its market's); a
merchant abroad or across a time-zone line sets its own, which its terminals then use.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from poskit.money import currency as iso_currency
from poskit.store.db import inserted_id
from poskit.store.schema import acquirers, audit_log, merchants

__all__ = ["LANGUAGES", "OnboardingError", "add_merchant"]

#: The languages a terminal can speak to its operators.
LANGUAGES = ("zh", "en")


class OnboardingError(ValueError):
    """A merchant cannot be onboarded; the message names the bad value."""


def _check(
    merchant_no: str,
    mcc: str,
    currency_code: str,
    country: str | None,
    timezone: str | None,
    language: str | None,
) -> None:
    if len(merchant_no) != 15 or not merchant_no.isdigit():
        raise OnboardingError(f"merchant number {merchant_no!r} must be 15 digits (field 42)")
    if len(mcc) != 4 or not mcc.isdigit():
        raise OnboardingError(f"MCC {mcc!r} must be 4 digits")
    try:
        if not currency_code.isalpha():
            raise ValueError(currency_code)
        iso_currency(currency_code)
    except ValueError:
        raise OnboardingError(f"currency {currency_code!r} is not an ISO 4217 code") from None
    if country is not None and (len(country) != 3 or not country.isdigit()):
        raise OnboardingError(f"country {country!r} must be an ISO 3166 numeric code (3 digits)")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise OnboardingError(
                f"time zone {timezone!r} is not an IANA zone (e.g. Asia/Shanghai)"
            ) from None
    if language is not None and language not in LANGUAGES:
        raise OnboardingError(f"language {language!r}: choose one of {', '.join(LANGUAGES)}")


def add_merchant(
    conn: Connection,
    *,
    acquirer_code: str,
    merchant_no: str,
    name: str,
    name_en: str,
    mcc: str,
    address: str,
    city: str,
    settlement_account: str,
    settlement_bank: str,
    currency_code: str,
    country: str | None,
    timezone: str | None,
    language: str | None,
    actor: str,
    now: datetime,
) -> int:
    """Insert the merchant (run in a write transaction); returns its id."""
    _check(merchant_no, mcc, currency_code, country, timezone, language)
    acquirer_id = conn.execute(select(acquirers.c.id).where(acquirers.c.code == acquirer_code)).scalar()
    if acquirer_id is None:
        raise OnboardingError(f"no acquirer {acquirer_code}")
    if conn.execute(select(merchants.c.id).where(merchants.c.merchant_no == merchant_no)).first():
        raise OnboardingError(f"merchant {merchant_no} already exists")
    merchant_id = int(
        inserted_id(
            conn.execute(
                insert(merchants).values(
                    acquirer_id=acquirer_id,
                    merchant_no=merchant_no,
                    name=name,
                    name_en=name_en,
                    mcc=mcc,
                    address=address,
                    city=city,
                    settlement_account=settlement_account,
                    settlement_bank=settlement_bank,
                    currency=currency_code.upper(),
                    country=country,
                    timezone=timezone,
                    language=language,
                    created_at=now,
                )
            )
        )
    )
    details = {"acquirer": acquirer_code, "mcc": mcc, "currency": currency_code.upper(), "country": country}
    details.update(timezone=timezone, language=language)
    conn.execute(
        insert(audit_log).values(
            at=now, actor=actor, action="merchant.add", subject=merchant_no, details=details
        )
    )
    return merchant_id
