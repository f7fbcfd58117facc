"""Terminals (status, battery, network, last seen, software, location) and operator management."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from poskit.host.terminal_security import terminal_security
from poskit.portal.accounts import PortalUser
from poskit.portal.audit import audit
from poskit.portal.data.dashboard import terminal_health
from poskit.portal.data.merchants import merchant_choices
from poskit.portal.data.terminals import (
    OperatorError,
    add_operator,
    get_operator,
    list_operators,
    recent_batches,
    set_operator_password,
    set_operator_status,
    terminal_summary,
)
from poskit.portal.data.transactions import TxnFilter, list_transactions
from poskit.portal.permissions import Permission, require
from poskit.portal.scope import get_merchant, get_terminal, visible_merchants
from poskit.portal.web import (
    MAX_ID,
    RecordId,
    TerminalId,
    csrf_guard,
    flash,
    page_user,
    portal_state,
    render,
    safe_next,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])


@router.get("/terminals")
def terminals_page(request: Request, user: PortalUser = Depends(page_user)) -> Response:
    portal = portal_state(request)
    with portal.read() as conn:
        health = terminal_health(conn, user, now=portal.clock(), policy=portal.fleet_policy)
        ops = list_operators(conn, user)
        merchants = merchant_choices(visible_merchants(conn, user)) if user.is_acquirer else []
    return render(request, "terminals.html", {"terminals": health, "operators": ops, "merchants": merchants})


@router.get("/terminals/{terminal_id}")
def terminal_page(
    request: Request, terminal_id: TerminalId, user: PortalUser = Depends(page_user)
) -> Response:
    portal = portal_state(request)
    loc = request.state.locale
    with portal.read() as conn:
        terminal = get_terminal(conn, user, terminal_id)
        [health] = [
            h
            for h in terminal_health(conn, user, now=portal.clock(), policy=portal.fleet_policy)
            if h.terminal_id == terminal_id
        ]
        recent = list_transactions(conn, user, TxnFilter(terminal=terminal_id), tz=loc.tz, page_size=10)
        ops = list_operators(conn, user, terminal["merchant_id"])
        summary = terminal_summary(conn, terminal_id)
        batches = recent_batches(conn, terminal_id)
        # keys and security flags are the acquirer's business (a merchant sees its flags elsewhere)
        security = terminal_security(conn, terminal_id) if user.is_acquirer else None
    return render(
        request,
        "terminal.html",
        {
            "terminal": terminal,
            "health": health,
            "recent": recent,
            "operators": ops,
            "summary": summary,
            "batches": batches,
            "security": security,
        },
    )


@router.post("/operators")
def operator_add(
    request: Request,
    code: str = Form(..., max_length=2),
    name: str = Form(..., max_length=60),
    password: str = Form(..., max_length=8),
    merchant: int | None = Form(None, ge=1, le=MAX_ID),
    next: str = Form("/terminals"),
    user: PortalUser = Depends(page_user),
) -> Response:
    require(user, Permission.MANAGE_OPERATORS)
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    merchant_id = merchant if user.is_acquirer else user.merchant_id
    try:
        with portal.write() as conn:
            if merchant_id is None:
                raise OperatorError("merchant", "choose a merchant")
            target = get_merchant(conn, user, merchant_id)
            operator_id = add_operator(
                conn, merchant_id=merchant_id, code=code, name=name, password=password, now=now
            )
            audit(
                conn,
                actor=user.username,
                action="operator.added",
                subject=f"operator:{operator_id}",
                at=now,
                merchant_no=target["merchant_no"],
                code=code,
            )
    except OperatorError as exc:
        flash(
            request,
            "error",
            loc.gettext("Operator not added: {reason}").format(reason=loc.gettext(exc.reason)),
        )
        return RedirectResponse(safe_next(next, "/terminals"), status_code=303)
    _push_to_terminals(request, merchant_id)
    flash(
        request,
        "ok",
        loc.gettext("Operator {code} added. Terminals pick it up at their next parameter update.").format(
            code=code
        ),
    )
    return RedirectResponse(safe_next(next, "/terminals"), status_code=303)


@router.post("/operators/{operator_id}/status")
def operator_status(
    request: Request,
    operator_id: RecordId,
    status: str = Form(..., pattern="^(active|disabled)$"),
    next: str = Form("/terminals"),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    try:
        with portal.write() as conn:
            operator = get_operator(conn, user, operator_id)  # 404 before 403: nothing leaks
            require(user, Permission.MANAGE_OPERATORS)
            set_operator_status(conn, operator, status)
            audit(
                conn,
                actor=user.username,
                action=f"operator.{'enabled' if status == 'active' else 'disabled'}",
                subject=f"operator:{operator_id}",
                at=now,
                code=operator["code"],
            )
    except OperatorError as exc:
        flash(request, "error", loc.gettext(exc.reason))
        return RedirectResponse(safe_next(next, "/terminals"), status_code=303)
    _push_to_terminals(request, operator.get("merchant_id"))
    flash(
        request,
        "ok",
        loc.gettext("Operator {code} is now {status}.").format(
            code=operator["code"], status=loc.gettext(status)
        ),
    )
    return RedirectResponse(safe_next(next, "/terminals"), status_code=303)


@router.post("/operators/{operator_id}/password")
def operator_password(
    request: Request,
    operator_id: RecordId,
    password: str = Form(..., max_length=8),
    next: str = Form("/terminals"),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    try:
        with portal.write() as conn:
            operator = get_operator(conn, user, operator_id)
            require(user, Permission.MANAGE_OPERATORS)
            set_operator_password(conn, operator, password)
            audit(
                conn,
                actor=user.username,
                action="operator.password_reset",
                subject=f"operator:{operator_id}",
                at=now,
                code=operator["code"],
            )
    except OperatorError as exc:
        flash(
            request,
            "error",
            loc.gettext("Password not changed: {reason}").format(reason=loc.gettext(exc.reason)),
        )
        return RedirectResponse(safe_next(next, "/terminals"), status_code=303)
    _push_to_terminals(request, operator.get("merchant_id"))
    flash(request, "ok", loc.gettext("New password set for operator {code}.").format(code=operator["code"]))
    return RedirectResponse(safe_next(next, "/terminals"), status_code=303)


def _push_to_terminals(request: Request, merchant_id: int | None) -> None:
    """Parameter update of the merchant's terminals (where the running services can reach them)."""
    push = getattr(request.app.state, "operators_changed", None)
    if push is not None and merchant_id is not None:
        push(int(merchant_id))
