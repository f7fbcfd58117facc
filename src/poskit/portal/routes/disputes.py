"""Disputes (乱扣费追回) and chargebacks: open on a fee or a transaction, follow the timeline, the outcome."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from poskit.ledger.disputes import (
    DisputeError,
    accept_chargeback,
    add_note,
    fulfil_retrieval,
)
from poskit.money import AmountError
from poskit.portal.accounts import PortalUser
from poskit.portal.data.disputes import (
    MERCHANT_OPEN,
    finding_for,
    get_fee_line,
    get_visible_dispute,
    visible_disputes,
)
from poskit.portal.data.transactions import fee_breakdown
from poskit.portal.decisions import (
    act_on_dispute,
    open_merchant_dispute,
    represent_dispute,
    resolve_dispute,
    review_dispute,
)
from poskit.portal.errors import refusal_text
from poskit.portal.permissions import Permission, require
from poskit.portal.scope import get_transaction
from poskit.portal.web import (
    MAX_ID,
    RecordId,
    RecordQuery,
    csrf_guard,
    flash,
    page_user,
    portal_state,
    render,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])

_STATUSES = (
    "open",
    "under_review",
    "upheld",
    "rejected",
    "retrieval_request",
    "retrieval_fulfilled",
    "chargeback",
    "represented",
    "won",
    "lost",
)


@router.get("/disputes")
def disputes_page(
    request: Request, status: str | None = None, user: PortalUser = Depends(page_user)
) -> Response:
    with portal_state(request).read() as conn:
        rows = visible_disputes(conn, user, status=status if status in _STATUSES else None)
    return render(
        request, "disputes.html", {"disputes": rows, "status": status, "statuses": _STATUSES, "queue": False}
    )


@router.get("/review/disputes")
def review_disputes_page(request: Request, user: PortalUser = Depends(page_user)) -> Response:
    require(user, Permission.REVIEW)
    with portal_state(request).read() as conn:
        rows = visible_disputes(conn, user, open_only=True)
    return render(
        request,
        "disputes.html",
        {
            "disputes": sorted(rows, key=lambda d: (d.due_at is None, d.due_at)),
            "status": None,
            "statuses": _STATUSES,
            "queue": True,
        },
    )


@router.get("/disputes/new")
def new_dispute_page(
    request: Request,
    transaction: RecordQuery = None,
    fee_line: RecordQuery = None,
    finding: str | None = None,
    user: PortalUser = Depends(page_user),
) -> Response:
    values: dict[str, Any] = {"txn": None, "fee": None, "finding": None, "fees": []}
    with portal_state(request).read() as conn:
        if fee_line is not None:
            values["fee"] = line = get_fee_line(conn, user, fee_line)
            if finding:
                values["finding"] = finding_for(conn, int(line["merchant_id"]), finding)
        elif transaction is not None:
            values["txn"] = get_transaction(conn, user, transaction)
            values["fees"] = fee_breakdown(conn, transaction)
        else:
            return RedirectResponse("/transactions", status_code=303)
    require(user, Permission.OPEN_DISPUTE)
    return render(request, "dispute_new.html", values)


@router.post("/disputes")
def dispute_open(
    request: Request,
    reason: str = Form(..., max_length=200),
    transaction: int | None = Form(None, ge=1, le=MAX_ID),
    fee_line: int | None = Form(None, ge=1, le=MAX_ID),
    finding: str = Form("", max_length=120),
    amount: str = Form("", max_length=20),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    back = f"/disputes/new?{'fee_line=' + str(fee_line) if fee_line else 'transaction=' + str(transaction)}"
    try:
        with portal.write() as conn:
            dispute = open_merchant_dispute(
                conn,
                user,
                reason=reason,
                fee_line_id=fee_line,
                transaction_id=transaction,
                amount=amount,
                finding=finding,
                now=now,
            )
    except (DisputeError, AmountError) as exc:
        flash(
            request,
            "error",
            loc.gettext("Dispute not opened: {reason}").format(reason=refusal_text(loc, exc)),
        )
        return RedirectResponse(back, status_code=303)
    flash(
        request,
        "ok",
        loc.gettext("Dispute #{id} opened. The acquirer answers within {days} days.").format(
            id=dispute.id, days=7
        ),
    )
    return RedirectResponse(f"/disputes/{dispute.id}", status_code=303)


@router.get("/disputes/{dispute_id}")
def dispute_page(request: Request, dispute_id: RecordId, user: PortalUser = Depends(page_user)) -> Response:
    with portal_state(request).read() as conn:
        dispute = get_visible_dispute(conn, user, dispute_id)
    return render(request, "dispute.html", {"d": dispute, "merchant_open": MERCHANT_OPEN})


def _run(request: Request, dispute_id: RecordId, fn: Any) -> Response:
    """Run one shared dispute decision; a refusal by the ledger is flashed on the dispute page."""
    portal = portal_state(request)
    loc = request.state.locale
    try:
        with portal.write() as conn:
            fn(conn, portal.clock())
    except (DisputeError, AmountError) as exc:
        flash(
            request,
            "error",
            loc.gettext("Not done: {reason}").format(reason=refusal_text(loc, exc)),
        )
    return RedirectResponse(f"/disputes/{dispute_id}", status_code=303)


def _act(
    request: Request, user: PortalUser, dispute_id: RecordId, action: str, fn: Any, *, staff: bool
) -> Response:
    """A dispute step without a shared function of its own, run under the same rules."""
    return _run(
        request,
        dispute_id,
        lambda conn, now: act_on_dispute(
            conn, user, dispute_id, action, lambda _: fn(conn, now), staff=staff, now=now
        ),
    )


@router.post("/disputes/{dispute_id}/note")
def dispute_note(
    request: Request,
    dispute_id: RecordId,
    note: str = Form(..., min_length=1, max_length=500),
    user: PortalUser = Depends(page_user),
) -> Response:
    return _act(
        request,
        user,
        dispute_id,
        "note",
        lambda conn, now: add_note(conn, dispute_id, actor=user.username, note=note, now=now),
        staff=False,
    )


@router.post("/disputes/{dispute_id}/review")
def dispute_review(
    request: Request,
    dispute_id: RecordId,
    note: str = Form("", max_length=500),
    user: PortalUser = Depends(page_user),
) -> Response:
    return _run(
        request,
        dispute_id,
        lambda conn, now: review_dispute(conn, user, dispute_id, note=note, now=now),
    )


@router.post("/disputes/{dispute_id}/resolve")
def dispute_resolve(
    request: Request,
    dispute_id: RecordId,
    decision: str = Form(..., pattern="^(uphold|reject)$"),
    amount: str = Form("", max_length=20),
    note: str = Form("", max_length=500),
    user: PortalUser = Depends(page_user),
) -> Response:
    return _run(
        request,
        dispute_id,
        lambda conn, now: resolve_dispute(
            conn, user, dispute_id, uphold=decision == "uphold", amount=amount, note=note, now=now
        ),
    )


@router.post("/disputes/{dispute_id}/fulfil")
def dispute_fulfil(request: Request, dispute_id: RecordId, user: PortalUser = Depends(page_user)) -> Response:
    return _act(
        request,
        user,
        dispute_id,
        "retrieval_fulfilled",
        lambda conn, now: fulfil_retrieval(conn, dispute_id, actor=user.username, now=now),
        staff=True,
    )


@router.post("/disputes/{dispute_id}/represent")
def dispute_represent(
    request: Request,
    dispute_id: RecordId,
    note: str = Form("", max_length=500),
    user: PortalUser = Depends(page_user),
) -> Response:
    return _run(
        request,
        dispute_id,
        lambda conn, now: represent_dispute(conn, user, dispute_id, note=note, now=now),
    )


@router.post("/disputes/{dispute_id}/accept")
def dispute_accept(request: Request, dispute_id: RecordId, user: PortalUser = Depends(page_user)) -> Response:
    def run(conn: Any, now: Any) -> None:
        require(user, Permission.OPEN_DISPUTE)
        accept_chargeback(conn, dispute_id, actor=user.username, now=now)

    return _act(request, user, dispute_id, "chargeback_accepted", run, staff=False)
