"""Compliance monitoring: MCC jumping (跳码), one terminal one merchant (一机一户), terminal location.

Since PBOC 银发〔2021〕259号 a terminal is bound to one merchant and its registered
place; transactions routed under another merchant category (usually a cheaper one)
or from a terminal used for another merchant or far from its site are flagged for
acquirer staff. Flags are idempotent by key, so re-checking never duplicates them.

Hooks (call inside the same write transaction as the event):

* host, after recording an authorisation: :func:`check_authorization` with the terminal ID
  and merchant number from the request (fields 41/42) and the MCC it carried (field 18 where
  the dialect has one; otherwise digits 8-11 of a CUPS merchant number are used);
* host or TMS, when a terminal reports its position (call-home, base station, GPS):
  :func:`check_terminal_location`;
* cut-off: :func:`scan_transactions` re-checks a day in bulk (set-based SQL).

Portal helper API: :func:`list_flags`, :func:`clear_flag`, :func:`register_terminal_site`.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, and_, cast, func, insert, literal, select, update
from sqlalchemy.engine import Connection

from poskit.store.db import inserted_id
from poskit.store.schema import merchants, terminals, transactions
from poskit.store.schema_ledger import flags, terminal_sites

__all__ = [
    "DEFAULT_SITE_RADIUS_M",
    "Flag",
    "check_authorization",
    "check_terminal_location",
    "clear_flag",
    "distance_m",
    "list_flags",
    "mcc_from_merchant_no",
    "raise_flag",
    "register_terminal_site",
    "scan_transactions",
]

#: How far a terminal may be from its registered site before it is flagged.
DEFAULT_SITE_RADIUS_M = 500


@dataclasses.dataclass(frozen=True, slots=True)
class Flag:
    id: int
    key: str
    kind: str  # mcc_mismatch | terminal_merchant_mismatch | terminal_location | frequent_account_change
    severity: str
    status: str
    merchant_id: int | None
    terminal_id: str | None
    transaction_id: int | None
    summary: str
    details: dict[str, Any]
    created_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dataclasses.asdict(self).items()
        }


def _flag(row: Any) -> Flag:
    return Flag(**{f.name: row[f.name] for f in dataclasses.fields(Flag)})


def raise_flag(
    conn: Connection,
    *,
    key: str,
    kind: str,
    severity: str,
    summary: str,
    details: dict[str, Any],
    now: datetime,
    merchant_id: int | None = None,
    terminal_id: str | None = None,
    transaction_id: int | None = None,
) -> Flag:
    """Record a flag once (by ``key``); raising it again returns the existing one."""
    row = conn.execute(select(flags).where(flags.c.key == key)).mappings().first()
    if row is None:
        flag_id = inserted_id(
            conn.execute(
                insert(flags).values(
                    key=key,
                    kind=kind,
                    severity=severity,
                    status="open",
                    merchant_id=merchant_id,
                    terminal_id=terminal_id,
                    transaction_id=transaction_id,
                    summary=summary[:200],
                    details=details,
                    created_at=now,
                )
            )
        )
        row = conn.execute(select(flags).where(flags.c.id == flag_id)).mappings().one()
    return _flag(row)


def mcc_from_merchant_no(merchant_no: str) -> str | None:
    """Digits 8-11 of a 15-digit CUPS merchant number are its MCC (how receipts reveal 跳码)."""
    text = merchant_no.strip()
    return text[7:11] if len(text) == 15 and text.isdigit() else None


def check_authorization(
    conn: Connection,
    *,
    terminal_id: str,
    merchant_no: str,
    mcc: str | None = None,
    transaction_id: int | None = None,
    now: datetime | None = None,
) -> list[Flag]:
    """Flag a request whose merchant or MCC differs from the terminal's registered merchant."""
    at = now or datetime.now(UTC)
    row = conn.execute(
        select(terminals.c.merchant_id, merchants.c.merchant_no, merchants.c.mcc)
        .select_from(terminals.join(merchants))
        .where(terminals.c.terminal_id == terminal_id)
    ).first()
    if row is None:
        return []
    subject = f"txn:{transaction_id}" if transaction_id is not None else f"at:{at.isoformat()}"
    raised: list[Flag] = []
    if merchant_no.strip() != row.merchant_no:
        raised.append(
            raise_flag(
                conn,
                key=f"terminal_merchant_mismatch:{terminal_id}:{subject}",
                kind="terminal_merchant_mismatch",
                severity="high",
                merchant_id=row.merchant_id,
                terminal_id=terminal_id,
                transaction_id=transaction_id,
                summary=f"terminal {terminal_id} of {row.merchant_no} used for {merchant_no.strip()}",
                details={"registered_merchant": row.merchant_no, "submitted_merchant": merchant_no.strip()},
                now=at,
            )
        )
    submitted = mcc or mcc_from_merchant_no(merchant_no)
    if submitted is not None and submitted != row.mcc:
        raised.append(
            raise_flag(
                conn,
                key=f"mcc_mismatch:{terminal_id}:{subject}",
                kind="mcc_mismatch",
                severity="high",
                merchant_id=row.merchant_id,
                terminal_id=terminal_id,
                transaction_id=transaction_id,
                summary=f"MCC {submitted} submitted; merchant {row.merchant_no} is registered as {row.mcc}",
                details={"registered_mcc": row.mcc, "submitted_mcc": submitted},
                now=at,
            )
        )
    return raised


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def register_terminal_site(
    conn: Connection,
    *,
    terminal_id: str,
    latitude: float,
    longitude: float,
    radius_m: int = DEFAULT_SITE_RADIUS_M,
    address: str = "",
    now: datetime | None = None,
) -> None:
    """Record (or move) where a terminal is registered to stand."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError(f"invalid position {latitude},{longitude}: latitude -90..90, longitude -180..180")
    values = {
        "latitude_e6": round(latitude * 1_000_000),
        "longitude_e6": round(longitude * 1_000_000),
        "radius_m": radius_m,
        "address": address[:200],
        "updated_at": now or datetime.now(UTC),
    }
    found = conn.execute(
        select(terminal_sites.c.id).where(terminal_sites.c.terminal_id == terminal_id)
    ).first()
    if found:
        conn.execute(update(terminal_sites).where(terminal_sites.c.id == found.id).values(**values))
    else:
        conn.execute(insert(terminal_sites).values(terminal_id=terminal_id, **values))


def check_terminal_location(
    conn: Connection,
    *,
    terminal_id: str,
    latitude: float,
    longitude: float,
    source: str = "gps",
    now: datetime | None = None,
) -> Flag | None:
    """Flag a terminal reporting a position outside its registered site's radius."""
    at = now or datetime.now(UTC)
    site = conn.execute(select(terminal_sites).where(terminal_sites.c.terminal_id == terminal_id)).first()
    if site is None:
        return None
    lat0, lon0 = site.latitude_e6 / 1_000_000, site.longitude_e6 / 1_000_000
    metres = distance_m(lat0, lon0, latitude, longitude)
    if metres <= site.radius_m:
        return None
    merchant_id = conn.execute(
        select(terminals.c.merchant_id).where(terminals.c.terminal_id == terminal_id)
    ).scalar()
    return raise_flag(
        conn,
        key=f"terminal_location:{terminal_id}:{at.date().isoformat()}",  # one per terminal per day
        kind="terminal_location",
        severity="warning",
        merchant_id=int(merchant_id) if merchant_id is not None else None,
        terminal_id=terminal_id,
        summary=f"terminal {terminal_id} reported {metres / 1000:.1f} km from its site ({site.address})",
        details={
            "registered": [lat0, lon0],
            "reported": [latitude, longitude],
            "distance_m": round(metres),
            "radius_m": site.radius_m,
            "source": source,
        },
        now=at,
    )


def scan_transactions(conn: Connection, *, start: datetime | None, end: datetime, now: datetime) -> int:
    """Flag, in bulk, transactions in ``[start, end)`` whose MCC or merchant is not the terminal's.

    Set-based: one INSERT ... SELECT per rule; already-flagged transactions are skipped.
    """
    total = 0
    window = [transactions.c.received_at < end]
    if start is not None:
        window.append(transactions.c.received_at >= start)
    term_merchant = merchants.alias("term_merchant")
    rules = [
        (
            "mcc_mismatch",
            transactions.c.mcc != merchants.c.mcc,
            literal("MCC ") + transactions.c.mcc + literal(" submitted; registered ") + merchants.c.mcc,
            transactions.join(merchants, merchants.c.id == transactions.c.merchant_id),
        ),
        (
            "terminal_merchant_mismatch",
            terminals.c.merchant_id != transactions.c.merchant_id,
            literal("terminal ")
            + transactions.c.terminal_id
            + literal(" belongs to ")
            + term_merchant.c.merchant_no,
            transactions.join(terminals, terminals.c.terminal_id == transactions.c.terminal_id).join(
                term_merchant, term_merchant.c.id == terminals.c.merchant_id
            ),
        ),
    ]
    for kind, condition, summary, source in rules:
        key = (
            literal(f"{kind}:")
            + transactions.c.terminal_id
            + literal(":txn:")
            + cast(transactions.c.id, String)
        )
        query = (
            select(
                key,
                literal(kind),
                literal("high"),
                literal("open"),
                transactions.c.merchant_id,
                transactions.c.terminal_id,
                transactions.c.id,
                func.substr(summary, 1, 200),
                literal({}, type_=flags.c.details.type),
                literal(now, type_=flags.c.created_at.type),
            )
            .select_from(source)
            .where(
                and_(*window, condition, transactions.c.mcc.is_not(None)),
                ~select(flags.c.id).where(flags.c.key == key).exists(),
            )
        )
        before = int(conn.execute(select(func.count()).select_from(flags)).scalar_one())
        conn.execute(
            insert(flags).from_select(
                [
                    "key",
                    "kind",
                    "severity",
                    "status",
                    "merchant_id",
                    "terminal_id",
                    "transaction_id",
                    "summary",
                    "details",
                    "created_at",
                ],
                query,
            )
        )
        total += int(conn.execute(select(func.count()).select_from(flags)).scalar_one()) - before
    return total


def list_flags(
    conn: Connection,
    *,
    merchant_id: int | None = None,
    status: str | None = "open",
    kind: str | None = None,
    limit: int = 500,
) -> list[Flag]:
    query = select(flags).order_by(flags.c.id.desc()).limit(limit)
    if merchant_id is not None:
        query = query.where(flags.c.merchant_id == merchant_id)
    if status is not None:
        query = query.where(flags.c.status == status)
    if kind is not None:
        query = query.where(flags.c.kind == kind)
    return [_flag(r) for r in conn.execute(query).mappings()]


def clear_flag(conn: Connection, flag_id: int, *, actor: str, note: str, now: datetime | None = None) -> Flag:
    """Close a flag after review, keeping who cleared it and why."""
    result = conn.execute(
        update(flags)
        .where(flags.c.id == flag_id, flags.c.status == "open")
        .values(status="cleared", cleared_at=now or datetime.now(UTC), cleared_by=actor, note=note[:200])
    )
    row = conn.execute(select(flags).where(flags.c.id == flag_id)).mappings().first()
    if row is None or (not result.rowcount and row["status"] != "cleared"):
        raise LookupError(f"no open flag {flag_id}")
    return _flag(row)
