"""Dashboard figures: today's and this month's volume, count, fees, net and approval rate.

"Today" and "this month" are the acquirer's business day and month (its time zone),
the same calendar the daily cut-off uses. Volume counts approved payments still
standing (not reversed or voided); refunds are shown separately and reduce net.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.portal.accounts import PortalUser
from poskit.portal.data.transactions import PAYMENT_TYPES, REFUND_TYPES
from poskit.portal.scope import merchant_filter
from poskit.store.schema import merchants, terminals, transactions
from poskit.store.schema_ledger import flags
from poskit.tms.alerts import (
    LOW_BATTERY_PERCENT,
    NO_POLICY,
    SILENT_AFTER,
    FleetPolicy,
    TerminalAlert,
    heartbeat_state,
    terminal_alerts,
)

__all__ = [
    "HEALTH_OFFLINE_AFTER",
    "Dashboard",
    "Figures",
    "TerminalHealth",
    "dashboard",
    "terminal_health",
]

HEALTH_OFFLINE_AFTER = SILENT_AFTER


@dataclasses.dataclass
class Figures:
    currency: str
    volume: int = 0  # approved payments still standing, minor units
    count: int = 0
    refunds: int = 0
    fees: int = 0
    approved: int = 0  # authorisation attempts approved (whatever happened to them later)
    declined: int = 0

    @property
    def net(self) -> int:
        return self.volume - self.refunds - self.fees

    @property
    def approval_rate(self) -> Decimal | None:
        attempts = self.approved + self.declined
        return None if attempts == 0 else Decimal(self.approved) / Decimal(attempts)

    def add(self, row: Any) -> None:
        if row.txn_type in PAYMENT_TYPES or row.txn_type == "preauth":
            if row.status == "declined":
                self.declined += 1
            else:
                self.approved += 1
        if row.status != "approved":
            return
        if row.txn_type in PAYMENT_TYPES:
            self.volume += row.amount
            self.count += 1
            self.fees += row.fee
        elif row.txn_type in REFUND_TYPES:
            self.refunds += row.amount

    def as_json(self) -> dict[str, Any]:
        rate = self.approval_rate
        return {
            "currency": self.currency,
            "volume": self.volume,
            "count": self.count,
            "refunds": self.refunds,
            "fees": self.fees,
            "net": self.net,
            "approved": self.approved,
            "declined": self.declined,
            "approval_rate": float(rate) if rate is not None else None,
        }


@dataclasses.dataclass(frozen=True)
class TerminalHealth:
    terminal_id: str
    merchant_id: int
    merchant_no: str
    location: str
    status: str  # registry status: active | suspended | ...
    state: str  # online | offline | never_seen | suspended
    battery_percent: int | None  # None on mains power
    network: str | None
    last_seen_at: datetime | None
    software_version: str
    model: str
    serial_number: str
    signed_on_at: datetime | None
    power_source: str | None = None  # mains | battery; None before the first status upload
    charging: bool | None = None
    paper: str | None = None  # ok | low | out; None when the printer never reported it
    parameter_version: str | None = None
    uptime_seconds: int | None = None
    storage_free_mb: int | None = None
    authentication_failures: bool = False  # an open authentication_failures flag
    policy: FleetPolicy = NO_POLICY

    @property
    def on_mains(self) -> bool:
        return self.power_source == "mains"

    @property
    def low_battery(self) -> bool:
        return (
            not self.on_mains
            and not self.charging
            and self.battery_percent is not None
            and self.battery_percent < LOW_BATTERY_PERCENT
        )

    @property
    def alerts(self) -> list[TerminalAlert]:
        return terminal_alerts(
            state=self.state,
            power_source=self.power_source,
            battery_percent=self.battery_percent,
            charging=self.charging,
            paper=self.paper,
            software_version=self.software_version,
            policy=self.policy,
            authentication_failures=self.authentication_failures,
        )

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["policy"]  # the acquirer's setting, not the terminal's state
        data["low_battery"] = self.low_battery
        data["alerts"] = [dataclasses.asdict(a) for a in self.alerts]
        return data


@dataclasses.dataclass
class Dashboard:
    today: Figures
    month: Figures
    days: list[tuple[date, Figures]]  # the last 30 business days, oldest first
    hours: list[int]  # today's volume per hour 0..23
    by_entry: dict[str, int]  # this month's approved payment count by entry mode
    terminals: list[TerminalHealth]
    business_date: date


def _start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def dashboard(
    conn: Connection,
    user: PortalUser,
    *,
    now: datetime,
    tz: ZoneInfo,
    currency_code: str = "CNY",
    merchant_id: int | None = None,
    policy: FleetPolicy | None = None,
) -> Dashboard:
    today = now.astimezone(tz).date()
    month_start = today.replace(day=1)
    first_day = min(month_start, today - timedelta(days=29))
    c = transactions.c
    query = select(c.txn_type, c.status, c.amount, c.fee, c.received_at, c.entry_mode).where(
        merchant_filter(user, c.merchant_id),
        c.received_at >= _start(first_day, tz),
        c.currency == currency_code,
    )
    if merchant_id is not None:
        query = query.where(c.merchant_id == merchant_id)
    days: dict[date, Figures] = {today - timedelta(days=n): Figures(currency_code) for n in range(29, -1, -1)}
    today_figures, month_figures = Figures(currency_code), Figures(currency_code)
    hours = [0] * 24
    by_entry: dict[str, int] = {}
    for row in conn.execute(query):
        local = row.received_at.astimezone(tz)
        day = local.date()
        if day in days:
            days[day].add(row)
        if day >= month_start:
            month_figures.add(row)
            if row.status == "approved" and row.txn_type in PAYMENT_TYPES:
                key = row.entry_mode or "unknown"
                by_entry[key] = by_entry.get(key, 0) + 1
        if day == today:
            today_figures.add(row)
            if row.status == "approved" and row.txn_type in PAYMENT_TYPES:
                hours[local.hour] += row.amount
    return Dashboard(
        today=today_figures,
        month=month_figures,
        days=sorted(days.items()),
        hours=hours,
        by_entry=dict(sorted(by_entry.items(), key=lambda kv: -kv[1])),
        terminals=terminal_health(conn, user, now=now, merchant_id=merchant_id, policy=policy),
        business_date=today,
    )


def terminal_health(
    conn: Connection,
    user: PortalUser,
    *,
    now: datetime,
    merchant_id: int | None = None,
    policy: FleetPolicy | None = None,
) -> list[TerminalHealth]:
    t = terminals.c
    query = (
        select(terminals, merchants.c.merchant_no)
        .select_from(terminals.join(merchants, t.merchant_id == merchants.c.id))
        .where(merchant_filter(user, t.merchant_id))
        .order_by(merchants.c.merchant_no, t.terminal_id)
    )
    if merchant_id is not None:
        query = query.where(t.merchant_id == merchant_id)
    rows = list(conn.execute(query).mappings())
    failing = set(
        conn.execute(
            select(flags.c.terminal_id).where(
                flags.c.kind == "authentication_failures",
                flags.c.status == "open",
                flags.c.terminal_id.in_([r["terminal_id"] for r in rows]),
            )
        ).scalars()
    )
    return [_health(r, now, r["terminal_id"] in failing, policy or NO_POLICY) for r in rows]


def _health(r: Any, now: datetime, authentication_failures: bool, policy: FleetPolicy) -> TerminalHealth:
    return TerminalHealth(
        terminal_id=r["terminal_id"],
        merchant_id=r["merchant_id"],
        merchant_no=r["merchant_no"],
        location=r["location"],
        status=r["status"],
        state=heartbeat_state(r["status"], r["last_seen_at"], now),
        battery_percent=r["battery_percent"],
        network=r["network"],
        last_seen_at=r["last_seen_at"],
        software_version=r["software_version"],
        model=r["model"],
        serial_number=r["serial_number"],
        signed_on_at=r["signed_on_at"],
        power_source=r["power_source"],
        charging=r["charging"],
        paper=r["paper"],
        parameter_version=r["parameter_version"],
        uptime_seconds=r["uptime_seconds"],
        storage_free_mb=r["storage_free_mb"],
        authentication_failures=authentication_failures,
        policy=policy,
    )
