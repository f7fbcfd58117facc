"""Merchants and their acquirer, as the portal shows them."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.store.schema import acquirers, merchants
from poskit.tms.registry import MARKET_LANGUAGE

__all__ = ["MerchantLocale", "acquirer_of", "merchant_choices", "merchant_locale"]


@dataclasses.dataclass(frozen=True, slots=True)
class MerchantLocale:
    """Where a merchant is: the zone its times are shown in, its language, whom its customers call."""

    timezone: str  # IANA zone: the merchant's own, else its acquirer's
    language: str  # portal locale code: zh_CN | en
    support_phone: str  # the acquirer's support line printed on the merchant's slips
    country: str = ""  # ISO 3166 numeric of the acquirer's market (its slips' convention)


def merchant_locale(conn: Connection, merchant_id: int) -> MerchantLocale:
    """The merchant's zone, language and support line, as its terminals are provisioned with them."""
    row = conn.execute(
        select(
            merchants.c.timezone.label("merchant_timezone"),
            merchants.c.language,
            acquirers.c.timezone,
            acquirers.c.country,
            acquirers.c.support_phone,
        )
        .select_from(merchants.join(acquirers, merchants.c.acquirer_id == acquirers.c.id))
        .where(merchants.c.id == merchant_id)
    ).one()
    language = row.language or MARKET_LANGUAGE.get(row.country, "zh")
    return MerchantLocale(
        timezone=row.merchant_timezone or row.timezone,
        language="zh_CN" if language.startswith("zh") else "en",
        support_phone=row.support_phone,
        country=row.country or "",
    )


def acquirer_of(conn: Connection, merchant_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(acquirers)
            .select_from(acquirers.join(merchants, merchants.c.acquirer_id == acquirers.c.id))
            .where(merchants.c.id == merchant_id)
        )
        .mappings()
        .one()
    )
    return dict(row)


def merchant_choices(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(id, "merchant_no name") for a merchant picker."""
    return [(int(r["id"]), f"{r['merchant_no']} {r['name']}") for r in rows]
