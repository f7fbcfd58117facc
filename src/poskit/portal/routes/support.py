"""Support: contact details from the acquirer and tickets (merchant opens, staff answers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from poskit.portal.accounts import PortalUser
from poskit.portal.audit import audit
from poskit.portal.data.support import (
    CATEGORIES,
    TicketError,
    add_message,
    contact_details,
    get_ticket,
    list_tickets,
    open_ticket,
    save_contact_details,
    set_ticket_status,
    ticket_messages_of,
)
from poskit.portal.permissions import Permission, can, require
from poskit.portal.scope import get_transaction
from poskit.portal.web import (
    RecordId,
    csrf_guard,
    flash,
    page_user,
    portal_state,
    render,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])


@router.get("/support")
def support_page(
    request: Request, status: str | None = None, user: PortalUser = Depends(page_user)
) -> Response:
    with portal_state(request).read() as conn:
        contacts = contact_details(conn, int(user.acquirer_id or 0)) if user.acquirer_id else None
        tickets = list_tickets(
            conn, user, status=status if status in ("open", "answered", "closed") else None
        )
    return render(
        request,
        "support.html",
        {
            "contacts": contacts,
            "tickets": tickets,
            "categories": CATEGORIES,
            "status": status,
            "transaction": request.query_params.get("transaction", ""),
        },
    )


@router.post("/support/tickets")
def ticket_open(
    request: Request,
    subject: str = Form(..., max_length=120),
    category: str = Form("general", max_length=24),
    body: str = Form(..., max_length=4000),
    transaction: str = Form("", max_length=12),
    user: PortalUser = Depends(page_user),
) -> Response:
    require(user, Permission.OPEN_TICKET)
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    try:
        with portal.write() as conn:
            txn_id = None
            if transaction.strip().isdigit() and len(transaction.strip()) <= 9:
                txn_id = int(get_transaction(conn, user, int(transaction))["id"])
            ticket_id = open_ticket(
                conn, user, subject=subject, category=category, body=body, now=now, transaction_id=txn_id
            )
            audit(
                conn,
                actor=user.username,
                action="ticket.opened",
                subject=f"ticket:{ticket_id}",
                at=now,
                category=category,
            )
    except TicketError as exc:
        flash(
            request, "error", loc.gettext("Ticket not sent: {reason}").format(reason=loc.gettext(exc.reason))
        )
        return RedirectResponse("/support", status_code=303)
    flash(
        request,
        "ok",
        loc.gettext("Ticket #{id} sent. We answer within one working day.").format(id=ticket_id),
    )
    return RedirectResponse(f"/support/tickets/{ticket_id}", status_code=303)


@router.get("/support/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: RecordId, user: PortalUser = Depends(page_user)) -> Response:
    with portal_state(request).read() as conn:
        ticket = get_ticket(conn, user, ticket_id)
        messages = ticket_messages_of(conn, ticket_id)
    return render(request, "ticket.html", {"ticket": ticket, "messages": messages})


@router.post("/support/tickets/{ticket_id}/reply")
def ticket_reply(
    request: Request,
    ticket_id: RecordId,
    body: str = Form(..., max_length=4000),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    try:
        with portal.write() as conn:
            ticket = get_ticket(conn, user, ticket_id)
            if not (can(user, Permission.ANSWER_TICKET) or can(user, Permission.OPEN_TICKET)):
                require(user, Permission.ANSWER_TICKET)
            add_message(conn, user, ticket, body, now=now)
            audit(
                conn,
                actor=user.username,
                action="ticket.answered" if user.is_acquirer else "ticket.replied",
                subject=f"ticket:{ticket_id}",
                at=now,
            )
    except TicketError as exc:
        flash(request, "error", loc.gettext(exc.reason))
    return RedirectResponse(f"/support/tickets/{ticket_id}", status_code=303)


@router.post("/support/tickets/{ticket_id}/status")
def ticket_status(
    request: Request,
    ticket_id: RecordId,
    status: str = Form(..., pattern="^(open|closed)$"),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    now = portal.clock()
    with portal.write() as conn:
        ticket = get_ticket(conn, user, ticket_id)
        set_ticket_status(conn, ticket, status, now=now)
        audit(
            conn,
            actor=user.username,
            action=f"ticket.{'closed' if status == 'closed' else 'reopened'}",
            subject=f"ticket:{ticket_id}",
            at=now,
        )
    return RedirectResponse(f"/support/tickets/{ticket_id}", status_code=303)


@router.post("/support/contacts")
def contacts_save(
    request: Request,
    phone: str = Form(..., max_length=40),
    email: str = Form("", max_length=120),
    hours: str = Form("", max_length=120),
    complaints_phone: str = Form("", max_length=40),
    address: str = Form("", max_length=200),
    user: PortalUser = Depends(page_user),
) -> Response:
    require(user, Permission.ADMIN)
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    values = {
        "phone": phone,
        "email": email,
        "hours": hours,
        "complaints_phone": complaints_phone,
        "address": address,
    }
    try:
        with portal.write() as conn:
            save_contact_details(conn, int(user.acquirer_id or 0), values, now=now)
            audit(
                conn,
                actor=user.username,
                action="support.contacts_changed",
                subject=f"acquirer:{user.acquirer_id}",
                at=now,
                **values,
            )
    except TicketError as exc:
        flash(request, "error", loc.gettext(exc.reason))
        return RedirectResponse("/support", status_code=303)
    flash(request, "ok", loc.gettext("Contact details saved."))
    return RedirectResponse("/support", status_code=303)
