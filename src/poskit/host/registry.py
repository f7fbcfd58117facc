"""What the host knows about a terminal: its merchant, acquirer, dialect and key blocks."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection

from poskit.store.schema import acquirers, merchants, terminals

__all__ = ["TerminalRecord", "home_timezone", "load_terminal", "load_terminals"]


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalRecord:
    id: int
    terminal_id: str
    merchant_id: int
    merchant_no: str
    merchant_name: str
    merchant_name_en: str
    mcc: str
    merchant_status: str
    currency: str
    acquirer_code: str
    acquirer_country: str
    timezone: str
    dialect: str
    mac_algorithm: str
    key_scheme: str
    tmk: str | None
    pik: str | None
    mak: str | None
    tdk: str | None
    pending_pik: str | None
    pending_mak: str | None
    pending_tdk: str | None
    pending_batch_no: int | None
    batch_no: int
    status: str
    sign_on_required: bool
    signed_on_at: datetime | None

    def __repr__(self) -> str:  # key blocks are wrapped, but keep logs short and boring
        return f"TerminalRecord({self.terminal_id!r}, merchant={self.merchant_no!r})"


def _terminal_query() -> Select[Any]:
    return select(
        terminals.c.id,
        terminals.c.terminal_id,
        terminals.c.merchant_id,
        merchants.c.merchant_no,
        merchants.c.name.label("merchant_name"),
        merchants.c.name_en.label("merchant_name_en"),
        merchants.c.mcc,
        merchants.c.status.label("merchant_status"),
        merchants.c.currency,
        acquirers.c.code.label("acquirer_code"),
        acquirers.c.country.label("acquirer_country"),
        acquirers.c.timezone,
        terminals.c.dialect,
        terminals.c.mac_algorithm,
        terminals.c.key_scheme,
        terminals.c.tmk,
        terminals.c.pik,
        terminals.c.mak,
        terminals.c.tdk,
        terminals.c.pending_pik,
        terminals.c.pending_mak,
        terminals.c.pending_tdk,
        terminals.c.pending_batch_no,
        terminals.c.batch_no,
        terminals.c.status,
        terminals.c.sign_on_required,
        terminals.c.signed_on_at,
    ).select_from(terminals.join(merchants).join(acquirers))


def load_terminal(conn: Connection, terminal_id: str) -> TerminalRecord | None:
    row = conn.execute(_terminal_query().where(terminals.c.terminal_id == terminal_id)).mappings().first()
    return TerminalRecord(**row) if row else None


def load_terminals(conn: Connection) -> dict[str, TerminalRecord]:
    """Every registered terminal by terminal id (the in-memory host loads them all at start)."""
    return {row["terminal_id"]: TerminalRecord(**row) for row in conn.execute(_terminal_query()).mappings()}


def home_timezone(conn: Connection) -> str:
    """The zone of the host's first configured acquirer (UTC when none is): the clock of answers to
    messages that name no registered terminal, and of decoding a request before its terminal is known."""
    zone = conn.execute(select(acquirers.c.timezone).order_by(acquirers.c.id).limit(1)).scalar()
    return str(zone) if zone else "UTC"
