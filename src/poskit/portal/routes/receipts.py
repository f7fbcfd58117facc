"""The cardholder's e-receipt: ``<portal>/r/<token>``, the link and QR code printed on the slip.

No account is needed: the 128-bit token is the key, so the page shows only what the
slip shows (card number masked first 6 / last 4) and nothing a merchant login adds
(fees, settlement, other transactions). Unknown and expired tokens get the same plain
404, in the receipt's language when the receipt is known. An RRN never opens it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.portal.data.merchants import acquirer_of, merchant_locale
from poskit.portal.data.receipts import receipt_for
from poskit.portal.data.signatures import signed_transaction_ids
from poskit.portal.i18n import portal_locale
from poskit.portal.web import locale_for, portal_state, render
from poskit.store.receipt_links import resolve_link
from poskit.store.schema import merchants, transactions
from poskit.terminal.receipt import render_text

__all__ = ["router"]

router = APIRouter(include_in_schema=False)  # an HTML page for the cardholder, not part of the JSON API

#: the token is in the URL: keep it out of caches, referrers and search engines
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


#: what may have happened to the transaction after its slip was printed
_LATER = ("voided", "reversed", "refunded")


def _original(conn: Connection, original_id: int | None) -> dict[str, Any] | None:
    if original_id is None:
        return None
    row = conn.execute(select(transactions).where(transactions.c.id == original_id)).mappings().first()
    return dict(row) if row else None


@router.get("/r/{token}")
def e_receipt(request: Request, token: str) -> HTMLResponse:
    """The receipt the token names, as the cardholder copy; a 404 for anything else."""
    portal = portal_state(request)
    request.state.user = None
    with portal.read() as conn:
        link = resolve_link(conn, token, now=portal.clock())
        txn = (
            conn.execute(select(transactions).where(transactions.c.id == link.transaction_id))
            .mappings()
            .first()
            if link is not None
            else None
        )
        merchant = (
            conn.execute(select(merchants).where(merchants.c.id == txn["merchant_id"])).mappings().first()
            if txn is not None and txn["merchant_id"] is not None
            else None
        )
        if link is None or txn is None or merchant is None:
            request.state.locale = locale_for(request, None)
            return _not_found(request)
        where = merchant_locale(conn, int(merchant["id"]))
        request.state.locale = portal_locale(where.language, where.timezone)
        if link.expired:
            return _not_found(request)
        acquirer = acquirer_of(conn, int(merchant["id"]))
        signed = bool(signed_transaction_ids(conn, [int(txn["id"])]))
        original = _original(conn, txn["original_id"])
    receipt = receipt_for(
        dict(txn),
        merchant=dict(merchant),
        acquirer_name=acquirer["name"],
        support_phone=where.support_phone,
        tz=request.state.locale.tz,
        original=original,
        signed=signed,
        signature_required=bool(txn["signature_required"]),
        remark="电子签购单 E-RECEIPT",
        language=where.language,
        country=where.country,
    )
    values = {
        "receipt": render_text(receipt, copy="cardholder"),
        "expires_at": link.expires_at,
        "zone": where.timezone,
        # the slip stays as printed; a later void, reversal or refund is said beside it
        "later": txn["status"] if txn["status"] in _LATER else None,
    }
    response = render(request, "e_receipt.html", values)
    response.headers.update(_PRIVATE)
    return response


def _not_found(request: Request) -> HTMLResponse:
    response = render(request, "e_receipt_missing.html", {}, status_code=404)
    response.headers.update(_PRIVATE)
    return response
