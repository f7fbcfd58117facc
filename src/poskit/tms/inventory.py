"""The terminal inventory: list, describe, move and retire registered terminals (each change audited).

Registering is :func:`poskit.tms.registry.register_terminal`. A retired terminal keeps its row
(its transactions still point at it) but loses its key blocks, and the host answers every
message from it with 97 (terminal not registered), as docs/protocol.md §9 states.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from poskit.config import Settings
from poskit.host.terminal_security import terminal_security
from poskit.ledger.monitoring import list_flags
from poskit.store.schema import audit_log, merchants, terminals, transactions
from poskit.terminal.runtime import terminal_files
from poskit.terminal.store import TerminalStore
from poskit.tms.alerts import TerminalAlert, heartbeat_state, terminal_alerts

__all__ = [
    "InventoryError",
    "TerminalDetails",
    "TerminalSummary",
    "follow_move_in_store",
    "list_terminals",
    "move_terminal",
    "retire_terminal",
    "terminal_details",
]


class InventoryError(ValueError):
    """An inventory change cannot be made; the message says why and what to do."""


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalSummary:
    """One line of ``poskit terminals list``."""

    terminal_id: str
    merchant_no: str
    model: str
    serial_number: str
    dialect: str
    mac_algorithm: str
    key_scheme: str
    status: str
    last_seen_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["last_seen_at"] = self.last_seen_at.isoformat() if self.last_seen_at else None
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalDetails:
    """What ``poskit terminals show`` prints: the registry row, its state and what it still owes."""

    summary: TerminalSummary
    merchant_name: str
    location: str
    capabilities: str
    software_version: str
    parameter_version: str | None  # from the heartbeat, else the terminal's store on this machine
    power_source: str | None
    battery_percent: int | None
    charging: bool | None
    network: str | None
    signed_on_at: datetime | None
    open_batch_no: int
    open_batch_transactions: int
    pending_reversals: int | None  # None: the terminal's store is not on this machine
    pending_uploads: int | None
    flags: list[dict[str, Any]]
    #: working keys: ``in_force`` | ``pending`` (a newer sign-on's keys await its first MAC) | ``none``
    keys: str = "none"
    #: open authentication_failures / duplicate_mismatch / reversal_mismatch flags, newest first
    security_flags: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: from the last heartbeat; None when never reported
    paper: str | None = None  # ok | low | out
    uptime_seconds: int | None = None
    storage_free_mb: int | None = None
    #: what is wrong and what the merchant should do (poskit.tms.alerts), in both languages
    alerts: list[TerminalAlert] = dataclasses.field(default_factory=list)

    def alert_lines(self, chinese: bool) -> list[str]:
        return [f"alert [{a.severity}] {a.code}: {a.text(chinese)}" for a in self.alerts]

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["summary"] = self.summary.to_json()
        data["signed_on_at"] = self.signed_on_at.isoformat() if self.signed_on_at else None
        return data


def _summary_query() -> Any:
    return select(
        terminals.c.terminal_id,
        merchants.c.merchant_no,
        terminals.c.model,
        terminals.c.serial_number,
        terminals.c.dialect,
        terminals.c.mac_algorithm,
        terminals.c.key_scheme,
        terminals.c.status,
        terminals.c.last_seen_at,
    ).select_from(terminals.join(merchants))


def list_terminals(
    conn: Connection, *, merchant_no: str | None = None, include_retired: bool = False
) -> list[TerminalSummary]:
    query = _summary_query().order_by(terminals.c.terminal_id)
    if merchant_no is not None:
        query = query.where(merchants.c.merchant_no == merchant_no)
    if not include_retired:
        query = query.where(terminals.c.status != "retired")
    return [TerminalSummary(**row) for row in conn.execute(query).mappings()]


def _row(conn: Connection, terminal_id: str) -> Any:
    row = (
        conn.execute(
            select(terminals, merchants.c.merchant_no, merchants.c.name.label("merchant_name"))
            .select_from(terminals.join(merchants))
            .where(terminals.c.terminal_id == terminal_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise InventoryError(f"terminal {terminal_id} is not registered: see `poskit terminals list`")
    return row


def _open_batch_count(conn: Connection, terminal_id: str, batch_no: int) -> int:
    """Host-side transactions of the terminal's open batch (they settle with the current merchant)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(transactions)
            .where(transactions.c.terminal_id == terminal_id, transactions.c.batch_no == batch_no)
        ).scalar_one()
    )


def terminal_details(
    settings: Settings, conn: Connection, terminal_id: str, *, now: datetime | None = None
) -> TerminalDetails:
    row = _row(conn, terminal_id)
    summary = TerminalSummary(**{f.name: row[f.name] for f in dataclasses.fields(TerminalSummary)})
    in_batch = _open_batch_count(conn, terminal_id, row["batch_no"])
    security = terminal_security(conn, terminal_id)
    flags = [
        f.to_json() for f in list_flags(conn, merchant_id=row["merchant_id"]) if f.terminal_id == terminal_id
    ]
    reversals: int | None = None
    uploads: int | None = None
    parameter_version: str | None = row["parameter_version"]
    store_path, _ = terminal_files(settings, terminal_id)
    if store_path.exists():
        store = TerminalStore.open(store_path)
        try:
            reversals = len(store.pending_reversals())
            uploads = len(store.pending_uploads())
            version = store.profile().params.get("parameter_version")
            if parameter_version is None and version is not None:
                parameter_version = str(version)
        finally:
            store.close()
    return TerminalDetails(
        summary=summary,
        merchant_name=row["merchant_name"],
        location=row["location"],
        capabilities=row["capabilities"],
        software_version=row["software_version"],
        parameter_version=parameter_version,
        power_source=row["power_source"],
        battery_percent=row["battery_percent"],
        charging=row["charging"],
        network=row["network"],
        signed_on_at=row["signed_on_at"],
        open_batch_no=row["batch_no"],
        open_batch_transactions=in_batch,
        pending_reversals=reversals,
        pending_uploads=uploads,
        flags=flags,
        keys=security.keys,
        security_flags=[dataclasses.asdict(f) for f in security.flags],
        paper=row["paper"],
        uptime_seconds=row["uptime_seconds"],
        storage_free_mb=row["storage_free_mb"],
        alerts=terminal_alerts(
            state=heartbeat_state(row["status"], row["last_seen_at"], now or datetime.now(UTC)),
            power_source=row["power_source"],
            battery_percent=row["battery_percent"],
            charging=row["charging"],
            paper=row["paper"],
            software_version=row["software_version"],
            policy=settings.fleet_policy(),
            authentication_failures=bool(security.authentication_flags),
        ),
    )


def _audit(
    conn: Connection, actor: str, action: str, terminal_id: str, details: dict[str, Any], at: datetime
) -> None:
    conn.execute(
        insert(audit_log).values(at=at, actor=actor, action=action, subject=terminal_id, details=details)
    )


def move_terminal(
    conn: Connection, terminal_id: str, merchant_no: str, *, actor: str, reason: str, now: datetime
) -> None:
    """Re-assign a terminal to another merchant of the same acquirer (run in a write transaction).

    Refused while its open batch holds transactions: they belong to the old merchant, so the
    terminal settles first. The terminal must sign on again and is re-provisioned from the host.
    """
    row = _row(conn, terminal_id)
    if row["status"] == "retired":
        raise InventoryError(f"terminal {terminal_id} is retired and cannot be moved")
    target = conn.execute(
        select(merchants.c.id, merchants.c.acquirer_id).where(merchants.c.merchant_no == merchant_no)
    ).first()
    if target is None:
        raise InventoryError(f"no merchant {merchant_no}")
    if target.id == row["merchant_id"]:
        raise InventoryError(f"terminal {terminal_id} already belongs to merchant {merchant_no}")
    source_acquirer = conn.execute(
        select(merchants.c.acquirer_id).where(merchants.c.id == row["merchant_id"])
    ).scalar_one()
    if target.acquirer_id != source_acquirer:
        raise InventoryError(f"merchant {merchant_no} belongs to another acquirer")
    in_batch = _open_batch_count(conn, terminal_id, row["batch_no"])
    if in_batch:
        raise InventoryError(
            f"terminal {terminal_id} has {in_batch} transactions in open batch {row['batch_no']}: "
            "settle first"
        )
    conn.execute(
        update(terminals)
        .where(terminals.c.id == row["id"])
        .values(merchant_id=target.id, sign_on_required=True, pik=None, mak=None, tdk=None)
    )
    _audit(
        conn,
        actor,
        "terminal.move",
        terminal_id,
        {"from": row["merchant_no"], "to": merchant_no, "reason": reason},
        now,
    )


def retire_terminal(conn: Connection, terminal_id: str, *, actor: str, reason: str, now: datetime) -> None:
    """Take a terminal out of service for good: its key blocks are erased (run in a write transaction)."""
    row = _row(conn, terminal_id)
    if row["status"] == "retired":
        raise InventoryError(f"terminal {terminal_id} is already retired")
    conn.execute(
        update(terminals)
        .where(terminals.c.id == row["id"])
        .values(status="retired", tmk=None, pik=None, mak=None, tdk=None, sign_on_required=True)
    )
    _audit(
        conn, actor, "terminal.retire", terminal_id, {"merchant": row["merchant_no"], "reason": reason}, now
    )


def follow_move_in_store(settings: Settings, conn: Connection, terminal_id: str) -> bool:
    """After a move, point the terminal's own store at its new merchant (when it lives here).

    Returns False when the store is elsewhere: that terminal learns its merchant at its next
    parameter download. Either way it must sign on again.
    """
    store_path, _ = terminal_files(settings, terminal_id)
    if not store_path.exists():
        return False
    row = _row(conn, terminal_id)
    names = conn.execute(select(merchants.c.name_en).where(merchants.c.id == row["merchant_id"])).scalar_one()
    store = TerminalStore.open(store_path)
    try:
        store.update_profile(
            merchant_no=row["merchant_no"],
            merchant_name=row["merchant_name"],
            merchant_name_en=names,
            sign_on_required=True,
        )
    finally:
        store.close()
    return True
