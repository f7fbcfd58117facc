"""Money: settlements (with batch reconciliation), payouts (T+1 and D0), statements, fees."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from poskit.ledger.payouts import D0NotAvailableError, NothingToPayError, d0_quote
from poskit.money import Amount
from poskit.portal.accounts import PortalUser
from poskit.portal.data.finance import (
    fee_overview,
    get_payout,
    merchant_param,
    payout_items,
    reconciliations,
    settlement_day_items,
    settlement_days,
    visible_payouts,
)
from poskit.portal.data.merchants import merchant_choices
from poskit.portal.data.transactions import write_csv
from poskit.portal.decisions import request_instant_payout
from poskit.portal.permissions import Permission, require
from poskit.portal.scope import NotFound, visible_merchants
from poskit.portal.web import (
    MerchantQuery,
    RecordId,
    csrf_guard,
    flash,
    page_user,
    portal_state,
    render,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])


def _choices(conn: Any, user: PortalUser) -> list[tuple[int, str]]:
    return merchant_choices(visible_merchants(conn, user)) if user.is_acquirer else []


@router.get("/settlements")
def settlements_page(
    request: Request, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    with portal_state(request).read() as conn:
        merchant_id = merchant_param(conn, user, merchant)
        require(user, Permission.VIEW_FINANCE)
        days = settlement_days(conn, user, merchant_id)
        recon = reconciliations(conn, user, merchant_id)
        choices = _choices(conn, user)
    return render(
        request,
        "settlements.html",
        {"days": days, "recon": recon, "merchants": choices, "merchant": merchant},
    )


@router.get("/settlements/{business_date}")
def settlement_day_page(
    request: Request,
    business_date: str,
    merchant: MerchantQuery = None,
    user: PortalUser = Depends(page_user),
) -> Response:
    with portal_state(request).read() as conn:
        merchant_id = merchant_param(conn, user, merchant)
        require(user, Permission.VIEW_FINANCE)
        items = settlement_day_items(conn, user, business_date, merchant_id)
    totals: dict[str, dict[str, int]] = {}
    for item in items:
        t = totals.setdefault(item["currency"], {"gross": 0, "fee": 0, "net": 0, "interchange": 0})
        for key in t:
            t[key] += int(item[key])
    return render(
        request, "settlement_day.html", {"business_date": business_date, "items": items, "totals": totals}
    )


@router.get("/payouts")
def payouts_page(
    request: Request, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    portal = portal_state(request)
    quote, d0_error = None, None
    with portal.read() as conn:
        merchant_id = merchant_param(conn, user, merchant)
        require(user, Permission.VIEW_FINANCE)
        rows = visible_payouts(conn, user, merchant_id)
        choices = _choices(conn, user)
        if not user.is_acquirer and merchant_id is not None:
            try:
                quote = d0_quote(conn, merchant_id, now=portal.clock())
            except D0NotAvailableError:
                d0_error = "no_d0"
    request.session["d0_key"] = key = secrets.token_hex(8)
    return render(
        request,
        "payouts.html",
        {
            "payouts": rows,
            "merchants": choices,
            "merchant": merchant,
            "quote": quote,
            "d0_error": d0_error,
            "d0_key": key,
        },
    )


@router.get("/payouts/export.csv")
def payouts_csv(
    request: Request, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    with portal_state(request).read() as conn:
        merchant_id = merchant_param(conn, user, merchant)
        require(user, Permission.EXPORT)
        require(user, Permission.VIEW_FINANCE)
        rows = visible_payouts(conn, user, merchant_id)
    header = [
        "payout_id",
        "kind",
        "business_date",
        "value_at",
        "currency",
        "amount",
        "d0_fee",
        "bank",
        "account_no",
        "status",
    ]
    lines: list[list[str]] = [header]
    for p in rows:
        lines.append(
            [
                str(p.id),
                p.kind,
                p.business_date,
                p.value_at.isoformat(),
                p.currency,
                Amount.of(p.amount, p.currency).plain(),
                Amount.of(p.fee, p.currency).plain(),
                p.bank,
                p.account_no,
                p.status,
            ]
        )
    return Response(
        "".join(write_csv(iter(lines))),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="payouts.csv"'},
    )


@router.get("/payouts/{payout_id}")
def payout_page(request: Request, payout_id: RecordId, user: PortalUser = Depends(page_user)) -> Response:
    with portal_state(request).read() as conn:
        payout = get_payout(conn, user, payout_id)
        require(user, Permission.VIEW_FINANCE)
        items = payout_items(conn, user, payout_id)
    return render(request, "payout.html", {"payout": payout, "items": items})


@router.post("/payouts/d0")
def payout_d0(
    request: Request, key: str = Form(..., max_length=32), user: PortalUser = Depends(page_user)
) -> Response:
    require(user, Permission.REQUEST_PAYOUT)
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    if user.merchant_id is None:  # pragma: no cover - acquirer roles lack the permission
        return RedirectResponse("/payouts", status_code=303)
    try:
        with portal.write() as conn:
            payout = request_instant_payout(
                conn, user, user.merchant_id, request_key=f"portal:{user.id}:{key}", now=now
            )
    except D0NotAvailableError:
        flash(request, "error", loc.gettext("Your contract has no instant (D0) settlement."))
        return RedirectResponse("/payouts", status_code=303)
    except NothingToPayError:
        flash(
            request,
            "error",
            loc.gettext("Nothing to pay out now: no unsettled sales today, or not enough to cover the fee."),
        )
        return RedirectResponse("/payouts", status_code=303)
    flash(
        request,
        "ok",
        loc.gettext("Instant payout of {amount} instructed (fee {fee}).").format(
            amount=loc.money(payout.amount, payout.currency), fee=loc.money(payout.fee, payout.currency)
        ),
    )
    return RedirectResponse(f"/payouts/{payout.id}", status_code=303)


@router.get("/fees")
def fees_page(
    request: Request, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    portal = portal_state(request)
    overview = None
    with portal.read() as conn:
        merchant_id = merchant_param(conn, user, merchant)
        require(user, Permission.VIEW_FINANCE)
        choices = _choices(conn, user)
        if merchant_id is not None:
            overview = fee_overview(conn, merchant_id, now=portal.clock())
    return render(request, "fees.html", {"overview": overview, "merchants": choices, "merchant": merchant})


# --- statements ------------------------------------------------------------------------------
def _statement_for(request: Request, user: PortalUser, period: str, merchant: int | None) -> Any:
    from poskit.portal.data.statements import statement_for_period

    with portal_state(request).read() as conn:
        merchant_id = merchant_param(conn, user, merchant)
        if merchant_id is None:
            raise NotFound("statement")
        require(user, Permission.VIEW_FINANCE)
        return statement_for_period(conn, merchant_id, period)


@router.get("/statements")
def statements_page(
    request: Request, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    from poskit.portal.data.statements import statement_periods

    portal = portal_state(request)
    with portal.read() as conn:
        merchant_id = merchant_param(conn, user, merchant)
        require(user, Permission.VIEW_FINANCE)
        choices = _choices(conn, user)
        periods = statement_periods(conn, merchant_id, now=portal.clock()) if merchant_id is not None else []
    return render(
        request, "statements.html", {"periods": periods, "merchants": choices, "merchant": merchant}
    )


@router.get("/statements/{period}.csv")
def statement_csv_download(
    request: Request, period: str, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    from poskit.ledger.statements import statement_csv

    st = _statement_for(request, user, period, merchant)
    return Response(
        "\ufeff" + statement_csv(st),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="statement-{st.merchant.merchant_no}-{period}.csv"'
        },
    )


@router.get("/statements/{period}.pdf")
def statement_pdf_download(
    request: Request, period: str, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    from poskit.ledger.statements import CjkFontMissingError, statement_pdf

    st = _statement_for(request, user, period, merchant)
    try:
        pdf = statement_pdf(st)
    except CjkFontMissingError:
        return Response(
            "PDF statements need a CJK font on the server (fonts-wqy-zenhei); the CSV works.",
            status_code=503,
            media_type="text/plain",
        )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="statement-{st.merchant.merchant_no}-{period}.pdf"'
        },
    )


@router.get("/statements/{period}")
def statement_page(
    request: Request, period: str, merchant: MerchantQuery = None, user: PortalUser = Depends(page_user)
) -> Response:
    from poskit.portal.data.statements import statement_summary

    st = _statement_for(request, user, period, merchant)
    return render(
        request,
        "statement.html",
        {"st": st, "period": period, "summary": statement_summary(st), "merchant": merchant},
    )
