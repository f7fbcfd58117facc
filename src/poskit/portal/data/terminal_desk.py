"""The terminal app's support desk over the host database: the portal's contacts and tickets.

A ticket opened at the counter lands in the same ``support_tickets`` table the portal's
Support page lists, for the merchant and for the acquirer's staff. Tickets need an author
among the portal's users: each terminal files them as its own account, ``terminal-<id>``,
a staff account of the terminal's merchant whose password hash verifies nothing, so it
can never log in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from poskit.portal.accounts import get_user
from poskit.portal.data.support import CATEGORIES, TicketError, contact_details, open_ticket
from poskit.store.db import WRITE
from poskit.store.schema import merchants, portal_users, terminals
from poskit.terminal.support import SupportContact, SupportUnavailableError, TicketRequest

__all__ = ["NO_LOGIN_HASH", "PortalSupportDesk", "terminal_account"]

#: Not an argon2 hash: ``verify_password`` answers False for every password.
NO_LOGIN_HASH = "!terminal-account"


def _merchant_of(conn: Connection, terminal_id: str) -> tuple[int, int]:
    row = conn.execute(
        select(terminals.c.merchant_id, merchants.c.acquirer_id)
        .select_from(terminals.join(merchants, terminals.c.merchant_id == merchants.c.id))
        .where(terminals.c.terminal_id == terminal_id)
    ).first()
    if row is None:
        raise SupportUnavailableError(f"terminal {terminal_id} is not registered at the host")
    return int(row[0]), int(row[1])


def terminal_account(conn: Connection, terminal_id: str, *, now: datetime) -> str:
    """The username tickets from ``terminal_id`` are filed as (created on first use)."""
    merchant_id, acquirer_id = _merchant_of(conn, terminal_id)
    username = f"terminal-{terminal_id}"
    found = conn.execute(
        select(portal_users.c.merchant_id).where(portal_users.c.username == username)
    ).first()
    if found is None:
        conn.execute(
            insert(portal_users).values(
                username=username,
                password_hash=NO_LOGIN_HASH,
                role="merchant_staff",
                merchant_id=merchant_id,
                acquirer_id=acquirer_id,
                created_at=now,
            )
        )
    elif found[0] != merchant_id:
        # the terminal moved to another merchant: its old account must not file tickets for the new one
        raise SupportUnavailableError(f"account {username} belongs to another merchant")
    return username


class PortalSupportDesk:
    """:class:`~poskit.terminal.support.SupportDesk` over the host database the portal reads."""

    def __init__(
        self, engine: Engine, terminal_id: str, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.engine = engine
        self.terminal_id = terminal_id
        self.clock = clock or (lambda: datetime.now(UTC))

    def contact(self) -> SupportContact:
        try:
            with self.engine.connect() as conn:
                _merchant, acquirer_id = _merchant_of(conn, self.terminal_id)
                details = contact_details(conn, acquirer_id)
        except SQLAlchemyError as exc:
            raise SupportUnavailableError("the host database cannot be reached") from exc
        return SupportContact(
            name=str(details["acquirer"]),
            phone=str(details["phone"] or ""),
            hours=str(details["hours"] or ""),
            email=str(details["email"] or ""),
        )

    def open_ticket(self, request: TicketRequest) -> int:
        if request.category not in CATEGORIES:
            raise SupportUnavailableError(f"unknown ticket category {request.category!r}")
        now = self.clock()
        try:
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                user = get_user(conn, terminal_account(conn, self.terminal_id, now=now))
                assert user is not None  # just created or found
                return open_ticket(
                    conn,
                    user,
                    subject=request.subject[:120],
                    category=request.category,
                    body=request.body,
                    now=now,
                )
        except TicketError as exc:
            raise SupportUnavailableError(f"{exc.field}: {exc.reason}") from exc
        except SQLAlchemyError as exc:
            raise SupportUnavailableError("the host database cannot be reached") from exc
