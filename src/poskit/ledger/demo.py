"""Demo data for the ledger side of ``poskit up``: terminal sites, a notified schedule change,
and a pending merchant change request, so the portal has history to show."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Connection

from poskit.ledger.fees import FeeRule, create_schedule
from poskit.ledger.merchant_changes import request_change
from poskit.ledger.monitoring import register_terminal_site

__all__ = ["DEMO_SCHEDULE_V2", "DEMO_SITES", "seed_demo_ledger"]

#: terminal id -> (latitude, longitude, address): where each demo terminal is registered to stand.
DEMO_SITES: dict[str, tuple[float, float, str]] = {
    "10000001": (31.2335, 121.4680, "上海市静安区南京西路88号"),
    "10000002": (31.2335, 121.4680, "上海市静安区南京西路88号"),
    "20000001": (31.1920, 121.4367, "上海市徐汇区漕溪北路201号"),
}

#: Version 2 of the demo contract: same card rates, plus a SIM/data fee within the usual 36-68 CNY a year.
DEMO_SCHEDULE_V2 = [
    FeeRule("domestic_debit", "percent", "CNY", rate=Decimal("0.50"), cap=2000),
    FeeRule("domestic_credit", "percent", "CNY", rate=Decimal("0.60")),
    FeeRule("foreign", "percent", "CNY", rate=Decimal("2.50")),
    FeeRule("d0_settlement", "fixed", "CNY", fixed=200),
    FeeRule("sim_data", "periodic", "CNY", fixed=500, period="monthly"),
]


def seed_demo_ledger(conn: Connection, *, merchant_ids: Mapping[str, int], at: datetime) -> None:
    """Seed once, with the demo world (called by provisioning when it creates the world)."""
    for terminal_id, (lat, lon, address) in DEMO_SITES.items():
        register_terminal_site(
            conn, terminal_id=terminal_id, latitude=lat, longitude=lon, address=address, now=at
        )
    for merchant_id in merchant_ids.values():
        create_schedule(
            conn,
            merchant_id=merchant_id,
            version=2,
            effective_from=at + timedelta(days=45),
            notified_at=at,
            rules=DEMO_SCHEDULE_V2,
            now=at,
            description="v2: adds SIM/data 5.00 CNY a month; card rates unchanged (notified 45 days ahead)",
        )
    noodle = merchant_ids.get("898310058140002")
    if noodle is not None:
        request_change(
            conn,
            merchant_id=noodle,
            field="settlement_account",
            new_value="31050161393600000022",
            effective_from=at + timedelta(days=3),
            requested_by="noodle",
            reason="new business account at Bank of Shanghai",
            now=at,
        )
