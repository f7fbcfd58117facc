"""A terminal's authentication state as operators see it: open failure flags and pending keys.

Read by ``poskit keys status`` (and for ``poskit terminals show``); the host writes the flags
(five failed MACs within an hour) and the pending keys (a sign-on not yet proven by a MAC).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.ledger.monitoring import list_flags
from poskit.store.schema import terminals

__all__ = ["TerminalSecurity", "terminal_security"]


@dataclasses.dataclass(frozen=True)
class TerminalSecurity:
    terminal_id: str
    #: summaries of the open ``authentication_failures`` flags, newest first
    authentication_flags: tuple[str, ...]
    #: a sign-on issued keys the terminal has not yet used with a good MAC
    keys_pending: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "authentication_flags": list(self.authentication_flags),
            "keys_pending": self.keys_pending,
        }


def terminal_security(conn: Connection, terminal_id: str) -> TerminalSecurity:
    pending = conn.execute(
        select(terminals.c.pending_mak).where(terminals.c.terminal_id == terminal_id)
    ).scalar_one_or_none()
    flagged = [
        f.summary for f in list_flags(conn, kind="authentication_failures") if f.terminal_id == terminal_id
    ]
    return TerminalSecurity(terminal_id, tuple(flagged), pending is not None)
