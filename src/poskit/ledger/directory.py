"""Who is who for the ledger: merchants, their acquirer, its time zone and business days.

Every acquirer closes its day at midnight in its own time zone (``acquirers.timezone``);
a *business date* is a calendar date in that zone and its *window* is the UTC interval
``[start, end)`` it covers. Cut-offs, payouts and statements all use these windows.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.store.schema import acquirers, merchants

__all__ = [
    "AcquirerInfo",
    "MerchantInfo",
    "UnknownMerchantError",
    "acquirer_info",
    "all_acquirers",
    "business_date_of",
    "business_window",
    "merchant_info",
    "parse_business_date",
]


class UnknownMerchantError(LookupError):
    """No merchant with that id or merchant number."""

    def __init__(self, ref: int | str) -> None:
        super().__init__(f"no merchant {ref!r}")
        self.ref = ref


@dataclasses.dataclass(frozen=True, slots=True)
class AcquirerInfo:
    id: int
    code: str
    name: str
    currency: str
    timezone: str  # the business day is cut off in this zone
    support_phone: str = ""  # the line a merchant's customers call (printed on slips, statements)


@dataclasses.dataclass(frozen=True, slots=True)
class MerchantInfo:
    id: int
    merchant_no: str
    name: str
    name_en: str
    mcc: str
    address: str
    currency: str
    status: str
    settlement_account: str
    settlement_bank: str
    acquirer: AcquirerInfo
    timezone: str = ""  # where the merchant's times are shown: its own zone, else the acquirer's

    @property
    def local_zone(self) -> str:
        return self.timezone or self.acquirer.timezone


def _acquirer(row: object) -> AcquirerInfo:
    m = row._mapping  # type: ignore[attr-defined]
    return AcquirerInfo(m["id"], m["code"], m["name"], m["currency"], m["timezone"], m["support_phone"] or "")


def acquirer_info(conn: Connection, acquirer_id: int) -> AcquirerInfo:
    row = conn.execute(select(acquirers).where(acquirers.c.id == acquirer_id)).first()
    if row is None:
        raise LookupError(f"no acquirer {acquirer_id}")
    return _acquirer(row)


def all_acquirers(conn: Connection) -> list[AcquirerInfo]:
    return [_acquirer(r) for r in conn.execute(select(acquirers).order_by(acquirers.c.id))]


def merchant_info(conn: Connection, ref: int | str) -> MerchantInfo:
    """A merchant by id (int) or merchant number (str of 15 digits)."""
    cond = merchants.c.id == ref if isinstance(ref, int) else merchants.c.merchant_no == ref
    row = conn.execute(select(merchants).where(cond)).mappings().first()
    if row is None:
        raise UnknownMerchantError(ref)
    return MerchantInfo(
        id=row["id"],
        merchant_no=row["merchant_no"],
        name=row["name"],
        name_en=row["name_en"],
        mcc=row["mcc"],
        address=row["address"],
        currency=row["currency"],
        status=row["status"],
        settlement_account=row["settlement_account"],
        settlement_bank=row["settlement_bank"],
        acquirer=acquirer_info(conn, row["acquirer_id"]),
        timezone=row["timezone"] or "",
    )


def parse_business_date(text: str) -> date:
    """``YYYY-MM-DD``; raises ValueError with the offending text."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid business date {text!r}: expected YYYY-MM-DD") from None


def business_window(business_date: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC interval ``[start, end)`` of one business date in ``timezone``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(business_date, time(0), tzinfo=zone)
    end = datetime.combine(business_date + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def business_date_of(at: datetime, timezone: str) -> date:
    """The business date that contains the instant ``at``."""
    return at.astimezone(ZoneInfo(timezone)).date()
