"""A terminal's authentication state as operators see it: its keys and open security flags.

Read by ``poskit keys status``, ``poskit terminals show`` and the portal's terminal page; the host
writes the flags (``authentication_failures``: five failed MACs within an hour;
``duplicate_mismatch``: other content under a stored request's key; ``reversal_mismatch``: a
reversal that does not describe its original) and the pending keys (a sign-on not yet proven by
a MAC).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.store.schema import terminals
from poskit.store.schema_ledger import flags

__all__ = ["SECURITY_FLAG_KINDS", "SecurityFlag", "TerminalSecurity", "terminal_security"]

#: Flags that say someone may be attacking the terminal's identity or replaying its messages.
SECURITY_FLAG_KINDS = ("authentication_failures", "duplicate_mismatch", "reversal_mismatch")


@dataclasses.dataclass(frozen=True, slots=True)
class SecurityFlag:
    id: int
    kind: str
    severity: str
    summary: str


@dataclasses.dataclass(frozen=True)
class TerminalSecurity:
    terminal_id: str
    #: summaries of the open ``authentication_failures`` flags, newest first
    authentication_flags: tuple[str, ...]
    #: a sign-on issued keys the terminal has not yet used with a good MAC
    keys_pending: bool
    #: ``in_force`` (working keys the host accepts), ``pending`` (also keys of a newer sign-on that
    #: wait for the terminal's first MAC under them) or ``none`` (the terminal must sign on)
    keys: str = "none"
    #: every open security flag of the terminal (SECURITY_FLAG_KINDS), newest first
    flags: tuple[SecurityFlag, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "authentication_flags": list(self.authentication_flags),
            "keys_pending": self.keys_pending,
            "keys": self.keys,
            "security_flags": [dataclasses.asdict(f) for f in self.flags],
        }


def terminal_security(conn: Connection, terminal_id: str) -> TerminalSecurity:
    row = conn.execute(
        select(terminals.c.mak, terminals.c.pending_mak, terminals.c.sign_on_required).where(
            terminals.c.terminal_id == terminal_id
        )
    ).first()
    open_flags = tuple(
        SecurityFlag(r.id, r.kind, r.severity, r.summary)
        for r in conn.execute(
            select(flags.c.id, flags.c.kind, flags.c.severity, flags.c.summary)
            .where(
                flags.c.terminal_id == terminal_id,
                flags.c.status == "open",
                flags.c.kind.in_(SECURITY_FLAG_KINDS),
            )
            .order_by(flags.c.id.desc())
        )
    )
    pending = row is not None and row.pending_mak is not None
    if row is None or row.sign_on_required or (row.mak is None and row.pending_mak is None):
        keys = "none"
    else:
        keys = "pending" if pending else "in_force"
    return TerminalSecurity(
        terminal_id,
        tuple(f.summary for f in open_flags if f.kind == "authentication_failures"),
        pending,
        keys,
        open_flags,
    )
