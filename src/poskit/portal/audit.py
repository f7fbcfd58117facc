"""The audit log: who did what to which record, and when (append-only).

Every state-changing action in the portal and the API writes one row inside the
same database transaction as the change itself, so a change without its audit
entry cannot exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from poskit.store.schema import audit_log

__all__ = ["AuditEntry", "audit", "recent_entries"]

AuditEntry = dict[str, Any]


def audit(
    conn: Connection, *, actor: str, action: str, subject: str = "", at: datetime, **details: Any
) -> None:
    """Record one action; ``details`` must be JSON-serialisable and free of secrets."""
    conn.execute(
        insert(audit_log).values(at=at, actor=actor, action=action, subject=subject[:120], details=details)
    )


def recent_entries(
    conn: Connection, *, limit: int = 200, actor: str | None = None, action: str | None = None
) -> list[AuditEntry]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action.like(f"{action}%"))
    return [dict(r) for r in conn.execute(query).mappings()]
