"""Tenant scope: which merchants' data a portal user may see.

A merchant user sees exactly one merchant; acquirer staff see the merchants of
their own acquirer. Every query for merchant data goes through :func:`merchant_filter`
and every lookup of one record by id through a function here that raises
:class:`NotFound` both when the record does not exist and when it belongs to
someone else, so no URL or API call can tell the two apart (404, never 403).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import KeyedColumnElement

from poskit.portal.accounts import PortalUser
from poskit.store.schema import merchants, terminals, transactions

__all__ = [
    "NotFound",
    "get_merchant",
    "get_terminal",
    "get_transaction",
    "merchant_filter",
    "owns_merchant",
    "visible_merchant_ids",
    "visible_merchants",
]


class NotFound(HTTPException):
    """The record does not exist or is not yours (deliberately indistinguishable)."""

    def __init__(self, what: str) -> None:
        super().__init__(status_code=404, detail=f"{what} not found")
        self.what = what


def _acquirer_merchants(user: PortalUser) -> Select[Any]:
    return select(merchants.c.id).where(merchants.c.acquirer_id == user.acquirer_id)


def merchant_filter(user: PortalUser, column: KeyedColumnElement[Any]) -> ColumnElement[bool]:
    """A WHERE clause limiting ``column`` (a merchant id) to what ``user`` may see."""
    if user.is_acquirer:
        if user.acquirer_id is None:
            return false()
        return column.in_(_acquirer_merchants(user))
    if user.merchant_id is None:
        return false()
    return column == user.merchant_id


def visible_merchants(conn: Connection, user: PortalUser) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(merchants).where(merchant_filter(user, merchants.c.id)).order_by(merchants.c.merchant_no)
    ).mappings()
    return [dict(r) for r in rows]


def visible_merchant_ids(conn: Connection, user: PortalUser) -> list[int]:
    return [
        int(r[0]) for r in conn.execute(select(merchants.c.id).where(merchant_filter(user, merchants.c.id)))
    ]


def owns_merchant(conn: Connection, user: PortalUser, merchant_id: int | None) -> bool:
    if merchant_id is None:
        return False
    if not user.is_acquirer:
        return merchant_id == user.merchant_id
    found = conn.execute(
        select(merchants.c.id).where(merchants.c.id == merchant_id, merchant_filter(user, merchants.c.id))
    ).first()
    return found is not None


def _one(conn: Connection, query: Select[Any], what: str) -> dict[str, Any]:
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(what)
    return dict(row)


def get_merchant(conn: Connection, user: PortalUser, merchant_id: int) -> dict[str, Any]:
    return _one(
        conn,
        select(merchants).where(merchants.c.id == merchant_id, merchant_filter(user, merchants.c.id)),
        "merchant",
    )


def get_transaction(conn: Connection, user: PortalUser, txn_id: int) -> dict[str, Any]:
    return _one(
        conn,
        select(transactions).where(
            transactions.c.id == txn_id, merchant_filter(user, transactions.c.merchant_id)
        ),
        "transaction",
    )


def get_terminal(conn: Connection, user: PortalUser, terminal_id: str) -> dict[str, Any]:
    return _one(
        conn,
        select(terminals).where(
            terminals.c.terminal_id == terminal_id, merchant_filter(user, terminals.c.merchant_id)
        ),
        "terminal",
    )
