"""Helpers shared by the key-management flows: the host LMK, the host database and the audit trail."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.engine import Connection

from poskit.config import Settings
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.keys.errors import KeyManagementError
from poskit.store.db import make_engine
from poskit.store.migrate import upgrade
from poskit.store.schema import audit_log

__all__ = ["audit", "host_lmk", "now_or_utc", "open_host"]

_ACTOR = "poskit-cli"


def now_or_utc(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def audit(conn: Connection, action: str, subject: str, details: dict[str, Any], at: datetime) -> None:
    conn.execute(
        insert(audit_log).values(at=at, actor=_ACTOR, action=action, subject=subject, details=details)
    )


def host_lmk(settings: Settings) -> LocalMasterKey:
    """The host LMK, never created here (``poskit up`` creates it)."""
    env = os.environ.get("POSKIT_LMK")
    if env:
        return LocalMasterKey.from_hex(env, argument="POSKIT_LMK")
    path = settings.resolved_lmk_file
    if not path.exists():
        raise KeyManagementError(f"no LMK at {path}: run `poskit up` first (or set POSKIT_LMK)")
    return LocalMasterKey.load(path)


def open_host(settings: Settings) -> tuple[Engine, SoftHSM, LocalMasterKey]:
    lmk = host_lmk(settings)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    return engine, SoftHSM(lmk), lmk
