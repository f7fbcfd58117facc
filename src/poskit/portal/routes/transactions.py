"""Transactions: the filtered list, CSV export, one transaction in full, and 补签 (signing later)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from poskit.ledger.views import describe_transaction
from poskit.portal.accounts import PortalUser
from poskit.portal.audit import audit
from poskit.portal.data.emv import emv_rows
from poskit.portal.data.merchants import acquirer_of, merchant_choices, merchant_locale
from poskit.portal.data.receipts import receipt_for, receipt_text
from poskit.portal.data.signatures import (
    SignatureExists,
    SignatureImageError,
    SignatureNotNeeded,
    needs_signature,
    normalise_signature_png,
    parse_png_data_url,
    signature_png,
    signature_record,
    store_signature,
    unsigned_clause,
)
from poskit.portal.data.transactions import (
    LISTED_TYPES,
    FilterError,
    TxnFilter,
    csv_rows,
    iter_transactions,
    list_transactions,
    transaction_detail,
    write_csv,
)
from poskit.portal.permissions import Permission, require
from poskit.portal.scope import NotFound, get_merchant, get_transaction, visible_merchants
from poskit.portal.web import (
    PageQuery,
    RecordId,
    csrf_guard,
    flash,
    page_user,
    portal_state,
    render,
    render_block,
)
from poskit.store.schema import transactions

__all__ = ["RESULTS", "router", "sign_transaction"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])

RESULTS = ("approved", "declined", "reversed", "voided", "refunded", "completed")
_FILTER_KEYS = (
    "date_from",
    "date_to",
    "terminal",
    "result",
    "last4",
    "amount_min",
    "amount_max",
    "rrn",
    "merchant",
    "type",
)


def _filter_from(request: Request, user: PortalUser) -> tuple[TxnFilter, FilterError | None]:
    params = {k: request.query_params.get(k) for k in _FILTER_KEYS}
    try:
        flt = TxnFilter.parse(params)
    except FilterError as exc:
        return TxnFilter(), exc
    if flt.merchant_id is not None:
        with portal_state(request).read() as conn:
            get_merchant(conn, user, flt.merchant_id)  # another merchant's: 404
    return flt, None


@router.get("/transactions")
def transactions_page(
    request: Request, page: PageQuery = 1, user: PortalUser = Depends(page_user)
) -> Response:
    require(user, Permission.VIEW_TRANSACTIONS)
    flt, error = _filter_from(request, user)
    loc = request.state.locale
    with portal_state(request).read() as conn:
        result = list_transactions(conn, user, flt, tz=loc.tz, page=max(1, min(page, 100_000)))
        merchants = merchant_choices(visible_merchants(conn, user)) if user.is_acquirer else []
    values: dict[str, Any] = {
        "result": result,
        "filter": flt,
        "raw": {k: request.query_params.get(k, "") for k in _FILTER_KEYS},
        "error": error,
        "results": RESULTS,
        "types": LISTED_TYPES,
        "merchants": merchants,
        "query": urlencode(flt.query_params()),
    }
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "results":
        return render_block(request, "transactions.html", "results", values)
    return render(request, "transactions.html", values)


@router.get("/transactions/export.csv")
def transactions_csv(request: Request, user: PortalUser = Depends(page_user)) -> Response:
    require(user, Permission.EXPORT)
    flt, error = _filter_from(request, user)
    if error is not None:
        return Response(str(error), status_code=400, media_type="text/plain")
    portal = portal_state(request)
    tz = request.state.locale.tz
    now = portal.clock().astimezone(tz)

    def body() -> Any:
        with portal.read() as conn:
            yield from write_csv(csv_rows(iter_transactions(conn, user, flt, tz=tz), tz))

    filename = f"transactions-{now:%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _detail_values(request: Request, user: PortalUser, txn_id: RecordId) -> dict[str, Any]:
    loc = request.state.locale
    with portal_state(request).read() as conn:
        detail = transaction_detail(conn, user, txn_id)
        txn = detail["txn"]
        acquirer = acquirer_of(conn, txn["merchant_id"]) if txn["merchant_id"] else None
        where = merchant_locale(conn, int(txn["merchant_id"])) if txn["merchant_id"] else None
        original = None
        if txn["original_id"] is not None:
            found = (
                conn.execute(select(transactions).where(transactions.c.id == txn["original_id"]))
                .mappings()
                .first()
            )
            original = dict(found) if found else None
        signature = signature_record(conn, txn_id)
        ledger = describe_transaction(conn, rrn=txn["rrn"]) if txn["rrn"] else None
    receipt = None
    slip_zone = ZoneInfo(where.timezone) if where else loc.tz  # the slip's time, as the terminal printed it
    if detail["merchant"] is not None and txn["txn_type"] in LISTED_TYPES:
        receipt = receipt_text(
            receipt_for(
                txn,
                merchant=detail["merchant"],
                acquirer_name=acquirer["name"] if acquirer else "",
                support_phone=where.support_phone if where else "",
                tz=slip_zone,
                language=where.language if where else "zh",
                country=where.country if where else "",
                original=original,
                signed=txn["signed"],
                signature_required=bool(txn["signature_required"]),
            )
        )
    detail.update(
        receipt=receipt,
        emv=emv_rows(txn),
        signature=signature,
        settlement=ledger["settlement"] if ledger else None,
        disputes=ledger["disputes"] if ledger else [],
        flags=ledger["flags"] if ledger and user.is_acquirer else [],
    )
    return detail


@router.get("/transactions/{txn_id}")
def transaction_page(request: Request, txn_id: RecordId, user: PortalUser = Depends(page_user)) -> Response:
    require(user, Permission.VIEW_TRANSACTIONS)
    return render(request, "transaction.html", _detail_values(request, user, txn_id))


@router.get("/transactions/{txn_id}/receipt.txt")
def transaction_receipt(
    request: Request, txn_id: RecordId, user: PortalUser = Depends(page_user)
) -> Response:
    require(user, Permission.VIEW_TRANSACTIONS)
    values = _detail_values(request, user, txn_id)
    if values["receipt"] is None:
        raise NotFound("receipt")
    return Response(values["receipt"], media_type="text/plain; charset=utf-8")


@router.get("/transactions/{txn_id}/signature.png")
def transaction_signature_image(
    request: Request, txn_id: RecordId, user: PortalUser = Depends(page_user)
) -> Response:
    require(user, Permission.VIEW_TRANSACTIONS)
    with portal_state(request).read() as conn:
        get_transaction(conn, user, txn_id)  # 404 unless it is yours
        png = signature_png(conn, txn_id)
    if png is None:
        raise NotFound("signature")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/unsigned")
def unsigned_page(request: Request, page: PageQuery = 1, user: PortalUser = Depends(page_user)) -> Response:
    require(user, Permission.VIEW_TRANSACTIONS)
    loc = request.state.locale
    with portal_state(request).read() as conn:
        result = list_transactions(
            conn, user, TxnFilter(), tz=loc.tz, page=max(1, page), extra=[unsigned_clause()]
        )
    return render(request, "unsigned.html", {"result": result})


@router.get("/transactions/{txn_id}/sign")
def sign_page(request: Request, txn_id: RecordId, user: PortalUser = Depends(page_user)) -> Response:
    values = _detail_values(request, user, txn_id)
    require(user, Permission.SIGN)
    return render(request, "sign.html", values)


def sign_transaction(request: Request, user: PortalUser, txn_id: RecordId, data_url: str) -> str:
    """Validate and store a signature for one of the user's transactions; returns the feature code.

    Raises NotFound (no such transaction, or not yours: checked first), PermissionDenied,
    SignatureImageError, SignatureExists, or SignatureNotNeeded.
    """
    portal = portal_state(request)
    with portal.read() as conn:
        get_transaction(conn, user, txn_id)
    require(user, Permission.SIGN)
    png = normalise_signature_png(parse_png_data_url(data_url.strip()))
    now = portal.clock()
    with portal.write() as conn:
        txn = get_transaction(conn, user, txn_id)
        if not needs_signature(txn):
            raise SignatureNotNeeded(txn_id)
        code = store_signature(conn, txn, png, now=now)
        audit(
            conn,
            actor=user.username,
            action="transaction.signed",
            subject=f"transaction:{txn_id}",
            at=now,
            feature_code=code,
            bytes=len(png),
        )
    return code


@router.post("/transactions/{txn_id}/signature")
def post_signature(
    request: Request,
    txn_id: RecordId,
    signature: str = Form(..., max_length=800_000),
    user: PortalUser = Depends(page_user),
) -> Response:
    loc = request.state.locale
    try:
        code = sign_transaction(request, user, txn_id, signature)
    except SignatureImageError as exc:
        return _sign_error(
            request,
            txn_id,
            loc.gettext("The signature could not be used: {reason}").format(reason=loc.gettext(exc.reason)),
            400,
        )
    except SignatureExists:
        return _sign_error(request, txn_id, loc.gettext("This transaction is already signed."), 409)
    except SignatureNotNeeded:
        return _sign_error(request, txn_id, loc.gettext("This transaction does not need a signature."), 409)
    flash(request, "ok", loc.gettext("Signature saved. Feature code {code}.").format(code=code))
    target = f"/transactions/{txn_id}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _sign_error(request: Request, txn_id: RecordId, message: str, status: int) -> Response:
    if request.headers.get("hx-request") == "true" or "application/json" in request.headers.get("accept", ""):
        return Response(message, status_code=status, media_type="text/plain; charset=utf-8")
    flash(request, "error", message)
    return RedirectResponse(f"/transactions/{txn_id}/sign", status_code=303)
