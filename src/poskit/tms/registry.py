"""The terminal registry: registering a terminal, provisioning its own store and pushing operator updates."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection

from poskit import __version__
from poskit.config import Settings
from poskit.host.security import (
    inject_terminal_master_key,
    open_host_database,
)
from poskit.iso8583.dialects import DIALECT_NAMES
from poskit.store.db import WRITE
from poskit.store.schema import (
    acquirers,
    merchants,
    operators,
    terminals,
)
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore

__all__ = [
    "MAC_METHODS",
    "MARKET_LANGUAGE",
    "provision_terminal_store",
    "register_terminal",
    "sync_operators",
]

#: The message MAC methods a terminal can use (docs/protocol.md §7.1).
MAC_METHODS = ("cups-ecb", "x919")
#: The language a market's terminals speak; China follows the operator's locale setting.
MARKET_LANGUAGE = {"566": "en"}


def provision_terminal_store(settings: Settings, conn: Connection, terminal_id: str) -> TerminalStore:
    """Create or refresh a terminal's own store from the host's registry."""
    row = (
        conn.execute(
            select(
                terminals,
                merchants.c.merchant_no,
                merchants.c.name.label("merchant_name"),
                merchants.c.name_en.label("merchant_name_en"),
                merchants.c.currency,
                merchants.c.id.label("mid"),
                merchants.c.timezone.label("merchant_timezone"),
                merchants.c.language.label("merchant_language"),
                acquirers.c.name.label("acquirer_name"),
                acquirers.c.country,
                acquirers.c.support_phone,
                acquirers.c.timezone,
            )
            .select_from(terminals.join(merchants).join(acquirers))
            .where(terminals.c.terminal_id == terminal_id)
        )
        .mappings()
        .one()
    )
    store_path, _ = terminal_files(settings, terminal_id)
    store = TerminalStore.open(store_path)
    if not store.is_provisioned():
        store.provision(
            terminal_id=terminal_id,
            merchant_no=row["merchant_no"],
            merchant_name=row["merchant_name"],
            merchant_name_en=row["merchant_name_en"],
            acquirer_name=row["acquirer_name"],
            currency=row["currency"],
            country=row["country"],
            dialect=row["dialect"],
            mac_algorithm=row["mac_algorithm"],
            key_scheme=row["key_scheme"],
            host_address=f"{settings.host_bind}:{settings.host_port}",
            portal_url=f"http://{settings.portal_bind}:{settings.portal_port}",
            support_phone=row["support_phone"],
            language=row["merchant_language"] or MARKET_LANGUAGE.get(row["country"], settings.locale),
            operator="01",
            software_version=f"poskit-{__version__}",
            params={
                "timezone": row["merchant_timezone"] or row["timezone"],
                "response_timeout": 30,
                "reversal_retries": 3,
                "qps_limit": 100000,
                "contactless_limit": 500000,
                "floor_limit": 0,
            },
        )
        ops = conn.execute(select(operators).where(operators.c.merchant_id == row["mid"])).mappings()
        store.set_operators(
            [
                {"code": o["code"], "name": o["name"], "role": o["role"], "password_hash": o["password_hash"]}
                for o in ops
            ]
        )
    return store


def sync_operators(settings: Settings, engine: Engine, *, merchant_id: int | None = None) -> int:
    """Parameter update: copy the merchant's active operators into each of its terminals' stores.

    Operators are managed in the portal (host table ``operators``); a terminal authenticates them
    locally, so each change is pushed to the terminals' own stores. Returns how many were updated.
    """
    updated = 0
    with engine.connect() as conn:
        query = select(terminals.c.terminal_id, terminals.c.merchant_id)
        if merchant_id is not None:
            query = query.where(terminals.c.merchant_id == merchant_id)
        rows = conn.execute(query).all()
        for tid, mid in rows:
            store_path, _ = terminal_files(settings, tid)
            if not store_path.exists():
                continue
            ops = (
                conn.execute(
                    select(operators).where(operators.c.merchant_id == mid, operators.c.status == "active")
                )
                .mappings()
                .all()
            )
            store = TerminalStore.open(store_path)
            try:
                rows_out = []
                for o in ops:
                    before = store.operator(o["code"])
                    # a lock-out survives a parameter update, unless the password itself was changed
                    same = before is not None and before["password_hash"] == o["password_hash"]
                    rows_out.append(
                        {
                            "code": o["code"],
                            "name": o["name"],
                            "role": o["role"],
                            "password_hash": o["password_hash"],
                            "failed_attempts": before["failed_attempts"] if same and before else 0,
                            "locked_until": before["locked_until"] if same and before else None,
                        }
                    )
                store.set_operators(rows_out)
                kept = {o["code"] for o in ops}
                profile = store.profile()
                if profile.operator is not None and profile.operator not in kept:
                    store.update_profile(operator=None)  # the signed-in operator was disabled: sign out
            finally:
                store.close()
            updated += 1
    return updated


def register_terminal(
    settings: Settings,
    terminal_id: str,
    merchant_no: str,
    *,
    dialect: str = "cups",
    mac_algorithm: str = "cups-ecb",
    model: str = "poskit virtual P1",
    location: str = "",
    serial_number: str | None = None,
    capabilities: str = "",
    now: datetime | None = None,
) -> str:
    """Register a new terminal for a merchant, create its store and inject its TMK.

    Returns the TMK check value. Raises ValueError for a bad or duplicate terminal ID, an
    unknown dialect or MAC method, a serial number already in use, or an unknown merchant.
    """
    if len(terminal_id) != 8 or not terminal_id.isalnum():
        raise ValueError(f"terminal ID {terminal_id!r} must be 8 letters or digits")
    if dialect not in DIALECT_NAMES:
        raise ValueError(f"dialect {dialect!r}: choose one of {', '.join(DIALECT_NAMES)}")
    if mac_algorithm not in MAC_METHODS:
        raise ValueError(f"MAC method {mac_algorithm!r}: choose one of {', '.join(MAC_METHODS)}")
    serial = serial_number or f"PK{terminal_id}"
    at = now or datetime.now(UTC)
    engine, hsm, _keys = open_host_database(settings)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            if conn.execute(select(terminals.c.id).where(terminals.c.terminal_id == terminal_id)).first():
                raise ValueError(f"terminal {terminal_id} is already registered")
            mid = conn.execute(select(merchants.c.id).where(merchants.c.merchant_no == merchant_no)).scalar()
            if mid is None:
                raise ValueError(f"no merchant {merchant_no}")
            if conn.execute(
                select(terminals.c.terminal_id).where(terminals.c.serial_number == serial)
            ).first():
                raise ValueError(f"serial number {serial} belongs to another terminal")
            conn.execute(
                insert(terminals).values(
                    terminal_id=terminal_id,
                    merchant_id=mid,
                    dialect=dialect,
                    mac_algorithm=mac_algorithm,
                    model=model,
                    location=location,
                    serial_number=serial,
                    capabilities=capabilities,
                    software_version=f"poskit-{__version__}",
                    created_at=at,
                )
            )
        with engine.connect() as conn:
            store = provision_terminal_store(settings, conn, terminal_id)
        _, key_file = terminal_files(settings, terminal_id)
        element = SecureElement.open(key_file, store, create=True, mac_algorithm=mac_algorithm)
        kcv = inject_terminal_master_key(hsm, engine, terminal_id, element)
        store.close()
        return kcv
    finally:
        engine.dispose()
