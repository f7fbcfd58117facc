"""Operators at the counter: sign in, sign out, the supervisor password, lock-outs.

A POS is shared by cashiers; every transaction carries the signed-in operator's code
(field 63) and receipts print it. Voids, refunds and settings need the supervisor
(operator 00) password. After ``MAX_ATTEMPTS`` wrong passwords an operator is locked
for ``LOCK_MINUTES``; the lock survives restarts (it lives in the terminal store).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, tzinfo

from poskit.i18n import tries_left_text
from poskit.passwords import verify_password
from poskit.terminal.store import TerminalStore

__all__ = ["LOCK_MINUTES", "MAX_ATTEMPTS", "SUPERVISOR", "OperatorCheck", "check_operator_password"]

SUPERVISOR = "00"
MAX_ATTEMPTS = 3
LOCK_MINUTES = 30


@dataclasses.dataclass(frozen=True, slots=True)
class OperatorCheck:
    ok: bool
    message: str
    role: str | None = None


def check_operator_password(
    store: TerminalStore, code: str, password: str, *, now: datetime, zone: tzinfo = UTC
) -> OperatorCheck:
    """Verify an operator's password, counting failures and locking after MAX_ATTEMPTS.

    The lock is stored in UTC and told in the terminal's zone (``zone``), named.
    """
    operator = store.operator(code)
    if operator is None:
        return OperatorCheck(False, f"no operator {code} on this terminal")
    locked_until = operator["locked_until"]
    if locked_until is not None and locked_until > now:
        return OperatorCheck(
            False,
            f"operator {code} is locked until {locked_until.astimezone(zone):%H:%M %Z} after "
            f"{MAX_ATTEMPTS} wrong passwords; ask the supervisor or wait",
        )
    if not verify_password(operator["password_hash"], password):
        failures = int(operator["failed_attempts"]) + 1
        if failures >= MAX_ATTEMPTS:
            store.update_operator(code, failed_attempts=0, locked_until=now + timedelta(minutes=LOCK_MINUTES))
            return OperatorCheck(
                False, f"wrong password: operator {code} is now locked for {LOCK_MINUTES} minutes"
            )
        store.update_operator(code, failed_attempts=failures)
        return OperatorCheck(False, f"wrong password ({tries_left_text(MAX_ATTEMPTS - failures)})")
    store.update_operator(code, failed_attempts=0, locked_until=None)
    return OperatorCheck(True, "ok", str(operator["role"]))
