"""Terminals and their operators (收银员) as the merchant manages them.

Operators belong to the merchant and sign in on any of its terminals; the supervisor
(code ``00``) approves voids and refunds. Passwords are short digit PINs typed on a
POS keypad, stored as argon2 hashes like every other password. The terminals read
the operator list from the host registry when they are provisioned or refreshed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from poskit.passwords import hash_password
from poskit.portal.accounts import PortalUser
from poskit.portal.scope import NotFound, merchant_filter
from poskit.store.db import inserted_id
from poskit.store.schema import operators, transactions
from poskit.store.schema_terminal_day import host_batches

__all__ = [
    "OperatorError",
    "add_operator",
    "get_operator",
    "list_operators",
    "recent_batches",
    "set_operator_password",
    "set_operator_status",
    "terminal_summary",
]


class OperatorError(ValueError):
    """An operator change that cannot be made (field says which input)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"operator {field}: {reason}")
        self.field = field
        self.reason = reason


def _check_pin(password: str, role: str) -> None:
    low = 6 if role == "supervisor" else 4
    if not password.isdigit() or not low <= len(password) <= 8:
        raise OperatorError("password", f"use {low} to 8 digits (it is typed on the POS keypad)")
    if len(set(password)) == 1:
        raise OperatorError("password", "do not repeat one digit")


def list_operators(
    conn: Connection, user: PortalUser, merchant_id: int | None = None
) -> list[dict[str, Any]]:
    query = (
        select(
            operators.c.id,
            operators.c.merchant_id,
            operators.c.code,
            operators.c.name,
            operators.c.role,
            operators.c.status,
            operators.c.created_at,
        )
        .where(merchant_filter(user, operators.c.merchant_id))
        .order_by(operators.c.merchant_id, operators.c.code)
    )
    if merchant_id is not None:
        query = query.where(operators.c.merchant_id == merchant_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def get_operator(conn: Connection, user: PortalUser, operator_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(
                operators.c.id,
                operators.c.merchant_id,
                operators.c.code,
                operators.c.name,
                operators.c.role,
                operators.c.status,
            ).where(operators.c.id == operator_id, merchant_filter(user, operators.c.merchant_id))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("operator")
    return dict(row)


def add_operator(
    conn: Connection, *, merchant_id: int, code: str, name: str, password: str, now: datetime
) -> int:
    code = code.strip()
    name = name.strip()
    if not (len(code) == 2 and code.isdigit() and code != "00"):
        raise OperatorError("code", "use two digits, 01 to 99 (00 is the supervisor)")
    if not name or len(name) > 60:
        raise OperatorError("name", "give a name of up to 60 characters")
    _check_pin(password, "operator")
    taken = conn.execute(
        select(func.count())
        .select_from(operators)
        .where(operators.c.merchant_id == merchant_id, operators.c.code == code)
    ).scalar_one()
    if taken:
        raise OperatorError("code", f"operator {code} already exists")
    return inserted_id(
        conn.execute(
            insert(operators).values(
                merchant_id=merchant_id,
                code=code,
                name=name,
                role="operator",
                password_hash=hash_password(password),
                status="active",
                created_at=now,
            )
        )
    )


def set_operator_status(conn: Connection, operator: dict[str, Any], status: str) -> None:
    if status not in ("active", "disabled"):
        raise OperatorError("status", "active or disabled")
    if operator["role"] == "supervisor" and status == "disabled":
        raise OperatorError("status", "the supervisor cannot be disabled; reset its password instead")
    conn.execute(update(operators).where(operators.c.id == operator["id"]).values(status=status))


def set_operator_password(conn: Connection, operator: dict[str, Any], password: str) -> None:
    _check_pin(password, operator["role"])
    conn.execute(
        update(operators)
        .where(operators.c.id == operator["id"])
        .values(password_hash=hash_password(password))
    )


def terminal_summary(conn: Connection, terminal_id: str) -> dict[str, Any]:
    """Counts for one terminal: transactions today-ish and in total, last transaction time."""
    row = conn.execute(
        select(func.count(), func.max(transactions.c.received_at)).where(
            transactions.c.terminal_id == terminal_id
        )
    ).one()
    return {"transactions": int(row[0]), "last_transaction_at": row[1]}


def recent_batches(conn: Connection, terminal_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The terminal's latest settlement batches as the host closed them."""
    rows = conn.execute(
        select(host_batches)
        .where(host_batches.c.terminal_id == terminal_id)
        .order_by(host_batches.c.batch_no.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
