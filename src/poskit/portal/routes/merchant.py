"""The merchant's profile and its change requests (变更商户); acquirer staff see any of theirs."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from poskit.ledger.merchant_changes import CHANGEABLE_FIELDS, ChangeRequestError, list_changes
from poskit.portal.accounts import PortalUser
from poskit.portal.data.dashboard import terminal_health
from poskit.portal.data.merchants import acquirer_of
from poskit.portal.decisions import request_merchant_change
from poskit.portal.errors import refusal_text
from poskit.portal.scope import get_merchant
from poskit.portal.web import (
    MAX_ID,
    RecordId,
    csrf_guard,
    flash,
    page_user,
    portal_state,
    render,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])


def _profile_values(request: Request, user: PortalUser, merchant_id: RecordId) -> dict[str, Any]:
    portal = portal_state(request)
    with portal.read() as conn:
        merchant = get_merchant(conn, user, merchant_id)
        changes = list_changes(conn, merchant_id=merchant_id)
        acquirer = acquirer_of(conn, merchant_id)
        terminals = terminal_health(
            conn, user, now=portal.clock(), merchant_id=merchant_id, policy=portal.fleet_policy
        )
    today = portal.clock().astimezone(request.state.locale.tz).date()
    return {
        "merchant": merchant,
        "changes": list(reversed(changes)),
        "acquirer": acquirer,
        "terminals": terminals,
        "fields": list(CHANGEABLE_FIELDS),
        "today": today.isoformat(),
    }


@router.get("/merchant")
def merchant_page(request: Request, user: PortalUser = Depends(page_user)) -> Response:
    if user.is_acquirer or user.merchant_id is None:
        return RedirectResponse("/merchants", status_code=303)
    return render(request, "merchant.html", _profile_values(request, user, user.merchant_id))


@router.get("/merchants/{merchant_id}")
def merchant_detail(
    request: Request, merchant_id: RecordId, user: PortalUser = Depends(page_user)
) -> Response:
    return render(request, "merchant.html", _profile_values(request, user, merchant_id))


@router.post("/merchant/changes")
def change_request(
    request: Request,
    field: str = Form(..., max_length=24),
    new_value: str = Form(..., max_length=200),
    effective_from: date = Form(...),
    reason: str = Form("", max_length=200),
    merchant: int | None = Form(None, ge=1, le=MAX_ID),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    merchant_id = user.merchant_id if not user.is_acquirer else merchant
    target = "/merchant"
    try:
        with portal.write() as conn:
            if merchant_id is None:
                raise ChangeRequestError("choose a merchant")
            change = request_merchant_change(
                conn,
                user,
                merchant_id=merchant_id,
                field=field,
                new_value=new_value,
                effective=effective_from,
                reason=reason,
                now=now,
            )
    except ChangeRequestError as exc:
        flash(
            request,
            "error",
            loc.gettext("Change not requested: {reason}").format(reason=refusal_text(loc, exc)),
        )
        return RedirectResponse(target, status_code=303)
    flash(request, "ok", loc.gettext("Change request #{id} sent for review.").format(id=change.id))
    return RedirectResponse(target, status_code=303)
