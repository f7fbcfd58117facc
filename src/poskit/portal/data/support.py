"""Support: the acquirer's contact details and tickets (merchant opens, acquirer staff answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from poskit.portal.accounts import PortalUser
from poskit.portal.scope import NotFound, merchant_filter
from poskit.store.db import inserted_id
from poskit.store.schema import acquirers, merchants, portal_users
from poskit.store.schema_portal import support_contacts, support_tickets, ticket_messages

__all__ = [
    "CATEGORIES",
    "TicketError",
    "add_message",
    "contact_details",
    "get_ticket",
    "list_tickets",
    "open_ticket",
    "save_contact_details",
    "set_ticket_status",
    "ticket_messages_of",
]

CATEGORIES = ("general", "fees", "settlement", "terminal", "signature", "account")
_MAX_BODY = 4000


class TicketError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"ticket {field}: {reason}")
        self.field = field
        self.reason = reason


def contact_details(conn: Connection, acquirer_id: int) -> dict[str, Any]:
    """The acquirer's support contacts; the registry's support phone when none were entered."""
    row = (
        conn.execute(select(support_contacts).where(support_contacts.c.acquirer_id == acquirer_id))
        .mappings()
        .first()
    )
    acquirer = conn.execute(select(acquirers).where(acquirers.c.id == acquirer_id)).mappings().one()
    if row is None:
        return {
            "acquirer": acquirer["name"],
            "phone": acquirer["support_phone"],
            "email": "",
            "hours": "",
            "complaints_phone": "",
            "address": "",
            "updated_at": None,
        }
    return {"acquirer": acquirer["name"], **dict(row)}


def save_contact_details(
    conn: Connection, acquirer_id: int, values: dict[str, str], *, now: datetime
) -> None:
    clean = {
        k: values.get(k, "").strip()[:n]
        for k, n in (
            ("phone", 40),
            ("email", 120),
            ("hours", 120),
            ("complaints_phone", 40),
            ("address", 200),
        )
    }
    if not clean["phone"]:
        raise TicketError("phone", "a support phone number is required")
    exists = conn.execute(
        select(support_contacts.c.id).where(support_contacts.c.acquirer_id == acquirer_id)
    ).first()
    if exists:
        conn.execute(
            update(support_contacts)
            .where(support_contacts.c.acquirer_id == acquirer_id)
            .values(updated_at=now, **clean)
        )
    else:
        conn.execute(insert(support_contacts).values(acquirer_id=acquirer_id, updated_at=now, **clean))


def list_tickets(conn: Connection, user: PortalUser, *, status: str | None = None) -> list[dict[str, Any]]:
    t = support_tickets.c
    last = (
        select(func.max(ticket_messages.c.created_at))
        .where(ticket_messages.c.ticket_id == t.id)
        .scalar_subquery()
    )
    count = select(func.count()).where(ticket_messages.c.ticket_id == t.id).scalar_subquery()
    query = (
        select(
            support_tickets,
            merchants.c.merchant_no,
            merchants.c.name.label("merchant_name"),
            last.label("last_message_at"),
            count.label("messages"),
        )
        .select_from(support_tickets.join(merchants, t.merchant_id == merchants.c.id))
        .where(merchant_filter(user, t.merchant_id))
        .order_by(t.updated_at.desc(), t.id.desc())
    )
    if status:
        query = query.where(t.status == status)
    return [dict(r) for r in conn.execute(query).mappings()]


def get_ticket(conn: Connection, user: PortalUser, ticket_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(
                support_tickets,
                merchants.c.merchant_no,
                merchants.c.name.label("merchant_name"),
                portal_users.c.username.label("opened_by_name"),
            )
            .select_from(
                support_tickets.join(merchants, support_tickets.c.merchant_id == merchants.c.id).join(
                    portal_users, support_tickets.c.opened_by == portal_users.c.id
                )
            )
            .where(support_tickets.c.id == ticket_id, merchant_filter(user, support_tickets.c.merchant_id))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("ticket")
    return dict(row)


def ticket_messages_of(conn: Connection, ticket_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(ticket_messages, portal_users.c.username.label("author"))
        .select_from(ticket_messages.join(portal_users, ticket_messages.c.author_id == portal_users.c.id))
        .where(ticket_messages.c.ticket_id == ticket_id)
        .order_by(ticket_messages.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise TicketError("body", "write a message")
    if len(body) > _MAX_BODY:
        raise TicketError("body", f"keep it under {_MAX_BODY} characters")
    return body


def open_ticket(
    conn: Connection,
    user: PortalUser,
    *,
    subject: str,
    category: str,
    body: str,
    now: datetime,
    transaction_id: int | None = None,
) -> int:
    if user.merchant_id is None:
        raise TicketError("merchant", "only merchant users open tickets")
    subject = subject.strip()
    if not subject or len(subject) > 120:
        raise TicketError("subject", "give a subject of up to 120 characters")
    if category not in CATEGORIES:
        raise TicketError("category", "unknown category")
    text = _body(body)
    ticket_id = inserted_id(
        conn.execute(
            insert(support_tickets).values(
                merchant_id=user.merchant_id,
                opened_by=user.id,
                subject=subject,
                category=category,
                status="open",
                transaction_id=transaction_id,
                created_at=now,
                updated_at=now,
            )
        )
    )
    conn.execute(
        insert(ticket_messages).values(
            ticket_id=ticket_id, author_id=user.id, from_acquirer=False, body=text, created_at=now
        )
    )
    return ticket_id


def add_message(
    conn: Connection, user: PortalUser, ticket: dict[str, Any], body: str, *, now: datetime
) -> None:
    """A reply: from acquirer staff it marks the ticket answered, from the merchant open again."""
    if ticket["status"] == "closed":
        raise TicketError("status", "the ticket is closed; open a new one")
    text = _body(body)
    conn.execute(
        insert(ticket_messages).values(
            ticket_id=ticket["id"],
            author_id=user.id,
            from_acquirer=user.is_acquirer,
            body=text,
            created_at=now,
        )
    )
    conn.execute(
        update(support_tickets)
        .where(support_tickets.c.id == ticket["id"])
        .values(status="answered" if user.is_acquirer else "open", updated_at=now)
    )


def set_ticket_status(conn: Connection, ticket: dict[str, Any], status: str, *, now: datetime) -> None:
    if status not in ("open", "closed"):
        raise TicketError("status", "open or closed")
    conn.execute(
        update(support_tickets)
        .where(support_tickets.c.id == ticket["id"])
        .values(status=status, updated_at=now)
    )
