"""The portal's JSON API for scripts: ``/api/v1``, bearer-token auth, the pages' tenant isolation.

A token (created on the Account page, ``Authorization: Bearer pk_...``) acts as the user
who created it. Every record of another merchant is a 404 here exactly as on the
pages; a missing permission is a 403. The API takes no cookies, so it needs no CSRF
token: a browser cannot be tricked into sending a bearer token.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from poskit.ledger.disputes import DisputeError
from poskit.ledger.fees import FeeSchedule
from poskit.ledger.merchant_changes import ChangeRequestError, list_changes
from poskit.portal.accounts import PortalUser, get_user_by_id
from poskit.portal.api_models import (
    ChangeIn,
    ChangeOut,
    DashboardOut,
    DisputeIn,
    DisputeOut,
    ErrorOut,
    FeesOut,
    FiguresOut,
    FindingOut,
    FlagOut,
    MerchantOut,
    MessageIn,
    OperatorOut,
    PayoutDetailOut,
    PayoutOut,
    ReceiptOut,
    ScheduleOut,
    SettlementDayOut,
    SignatureIn,
    SignedOut,
    StatementOut,
    TerminalOut,
    TicketIn,
    TicketOut,
    TxnDetailOut,
    TxnOut,
    TxnPageOut,
    UserOut,
)
from poskit.portal.audit import audit
from poskit.portal.data.dashboard import dashboard, terminal_health
from poskit.portal.data.disputes import get_visible_dispute, visible_disputes
from poskit.portal.data.emv import emv_rows
from poskit.portal.data.finance import (
    fee_overview,
    get_payout,
    merchant_param,
    payout_items,
    settlement_days,
    visible_payouts,
)
from poskit.portal.data.merchants import acquirer_of, merchant_locale
from poskit.portal.data.receipts import receipt_for, receipt_text
from poskit.portal.data.review import visible_flags
from poskit.portal.data.signatures import (
    SignatureExists,
    SignatureImageError,
    SignatureNotNeeded,
    signature_record,
    unsigned_clause,
)
from poskit.portal.data.statements import statement_for_period
from poskit.portal.data.support import (
    TicketError,
    add_message,
    get_ticket,
    list_tickets,
    open_ticket,
    ticket_messages_of,
)
from poskit.portal.data.terminals import list_operators
from poskit.portal.data.transactions import FilterError, TxnFilter, list_transactions, transaction_detail
from poskit.portal.decisions import open_merchant_dispute, request_merchant_change
from poskit.portal.i18n import portal_locale
from poskit.portal.permissions import ROLE_PERMISSIONS, Permission, require
from poskit.portal.routes.transactions import sign_transaction
from poskit.portal.scope import NotFound, get_merchant, get_terminal, get_transaction, visible_merchants
from poskit.portal.tokens import resolve_token, touch_token
from poskit.portal.web import MAX_ID, RecordId, TerminalId, portal_state

__all__ = ["api_user", "router"]

_bearer = HTTPBearer(auto_error=False, description="an API token from the portal's Account page")

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no valid bearer token"},
    403: {"model": ErrorOut, "description": "your role may not do this"},
    404: {"model": ErrorOut, "description": "no such record, or not yours"},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    400: {"model": ErrorOut, "description": "the request cannot be carried out as asked"},
    409: {"model": ErrorOut, "description": "conflicts with the record's state"},
}


def api_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> PortalUser:
    """Dependency: the user a valid bearer token acts for (401 otherwise)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status_code=401, detail="send Authorization: Bearer <token>", headers=challenge)
    portal = portal_state(request)
    now = portal.clock()
    with portal.read() as conn:
        found = resolve_token(conn, credentials.credentials, now=now)
        user = get_user_by_id(conn, found[1]) if found else None
    if found is None or user is None:
        raise HTTPException(
            status_code=401, detail="the token is unknown, revoked or expired", headers=challenge
        )
    if found[2]:
        with portal.write() as conn:
            touch_token(conn, found[0], now=now)
    request.state.user = user
    return user


def _query_names(dependant: Any) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def reject_unknown_query(request: Request) -> None:
    """Router dependency: a query parameter the operation does not define is a 422, not silently ignored
    (a misspelt filter must not return everything)."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "unknown query parameter",
                    "input": None,
                }
                for name in unknown
            ]
        )


User = Annotated[PortalUser, Depends(api_user)]
router = APIRouter(prefix="/api/v1", responses=_ERRORS, dependencies=[Depends(reject_unknown_query)])
_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _tz(user: PortalUser) -> Any:
    return portal_locale(user.locale, user.timezone).tz


# --- who and what --------------------------------------------------------------------------
@router.get("/me", response_model=UserOut, tags=["account"], summary="The token's user")
def me(user: User) -> UserOut:
    return UserOut(
        username=user.username,
        role=user.role,
        merchant_id=user.merchant_id,
        merchant_no=user.merchant_no,
        merchant_name=user.merchant_name,
        locale=user.locale,
        timezone=user.timezone,
        permissions=sorted(p.value for p in ROLE_PERMISSIONS.get(user.role, frozenset())),
    )


@router.get(
    "/merchants", response_model=list[MerchantOut], tags=["merchants"], summary="Merchants you may see"
)
def merchants_list(request: Request, user: User) -> list[MerchantOut]:
    with portal_state(request).read() as conn:
        return [MerchantOut.model_validate(m) for m in visible_merchants(conn, user)]


@router.get("/merchants/{merchant_id}", response_model=MerchantOut, tags=["merchants"])
def merchant_get(request: Request, merchant_id: RecordId, user: User) -> MerchantOut:
    with portal_state(request).read() as conn:
        return MerchantOut.model_validate(get_merchant(conn, user, merchant_id))


@router.get(
    "/dashboard",
    response_model=DashboardOut,
    tags=["dashboard"],
    summary="Today's and this month's volume, count, fees, net and approval rate",
)
def dashboard_get(
    request: Request, user: User, merchant_id: int | None = Query(None, ge=1, le=MAX_ID)
) -> DashboardOut:
    portal = portal_state(request)
    with portal.read() as conn:
        if merchant_id is not None:
            get_merchant(conn, user, merchant_id)
        board = dashboard(
            conn,
            user,
            now=portal.clock(),
            tz=_tz(user),
            merchant_id=merchant_id,
            policy=portal.fleet_policy,
        )
    return DashboardOut(
        business_date=board.business_date,
        today=FiguresOut(**board.today.as_json()),
        month=FiguresOut(**board.month.as_json()),
        terminals=[TerminalOut(**t.as_json()) for t in board.terminals],
    )


# --- transactions --------------------------------------------------------------------------
def _filter(
    date_from: str | None = Query(None, pattern=_DATE, description="first business day (acquirer time zone)"),
    date_to: str | None = Query(None, pattern=_DATE, description="last business day, inclusive"),
    terminal: str | None = Query(None, pattern="^[A-Za-z0-9]{1,8}$"),
    result: str | None = Query(
        None, pattern="^[a-z_]{1,16}$", description="approved | declined | reversed ..."
    ),
    last4: str | None = Query(None, pattern="^[0-9]{4}$"),
    amount_min: str | None = Query(
        None, pattern=r"^\d{1,12}(\.\d{1,2})?$", description="major units, e.g. 12.50"
    ),
    amount_max: str | None = Query(None, pattern=r"^\d{1,12}(\.\d{1,2})?$"),
    rrn: str | None = Query(None, pattern="^[0-9A-Za-z]{1,12}$"),
    merchant_id: int | None = Query(None, ge=1, le=MAX_ID),
    txn_type: str | None = Query(None, alias="type", pattern="^[a-z_]{1,16}$"),
) -> TxnFilter:
    params = {
        "date_from": date_from,
        "date_to": date_to,
        "terminal": terminal,
        "result": result,
        "last4": last4,
        "amount_min": amount_min,
        "amount_max": amount_max,
        "rrn": rrn,
        "merchant": str(merchant_id) if merchant_id is not None else None,
        "type": txn_type,
    }
    try:
        return TxnFilter.parse(params)
    except FilterError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


@router.get(
    "/transactions",
    response_model=TxnPageOut,
    tags=["transactions"],
    responses={400: {"model": ErrorOut, "description": "a filter value cannot be used"}},
)
def transactions_list(
    request: Request,
    user: User,
    flt: Annotated[TxnFilter, Depends(_filter)],
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(50, ge=1, le=500),
) -> TxnPageOut:
    with portal_state(request).read() as conn:
        if flt.merchant_id is not None:
            get_merchant(conn, user, flt.merchant_id)
        result = list_transactions(conn, user, flt, tz=_tz(user), page=page, page_size=page_size)
    return TxnPageOut(
        total=result.total,
        page=result.page,
        page_size=result.page_size,
        items=[TxnOut.model_validate(r) for r in result.rows],
    )


@router.get(
    "/unsigned",
    response_model=TxnPageOut,
    tags=["transactions"],
    summary="Approved payments still waiting for the cardholder's signature (补签)",
)
def unsigned_list(
    request: Request,
    user: User,
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(50, ge=1, le=500),
) -> TxnPageOut:
    with portal_state(request).read() as conn:
        result = list_transactions(
            conn, user, TxnFilter(), tz=_tz(user), page=page, page_size=page_size, extra=[unsigned_clause()]
        )
    return TxnPageOut(
        total=result.total,
        page=result.page,
        page_size=result.page_size,
        items=[TxnOut.model_validate(r) for r in result.rows],
    )


@router.get("/transactions/{txn_id}", response_model=TxnDetailOut, tags=["transactions"])
def transaction_get(request: Request, txn_id: RecordId, user: User) -> TxnDetailOut:
    with portal_state(request).read() as conn:
        detail = transaction_detail(conn, user, txn_id)
        signature = signature_record(conn, txn_id)
    txn = detail["txn"]
    return TxnDetailOut(
        **TxnOut.model_validate(txn).model_dump(),
        fee_lines=detail["fees"],
        related=detail["related"],
        signature=signature,
        emv=emv_rows(txn),
    )


@router.get(
    "/transactions/{txn_id}/receipt",
    response_model=ReceiptOut,
    tags=["transactions"],
    summary="The receipt (签购单) as text, rebuilt from the host record",
)
def transaction_receipt(request: Request, txn_id: RecordId, user: User) -> ReceiptOut:
    with portal_state(request).read() as conn:
        detail = transaction_detail(conn, user, txn_id)
        txn = detail["txn"]
        if detail["merchant"] is None:
            raise NotFound("receipt")
        acquirer = acquirer_of(conn, txn["merchant_id"])
        where = merchant_locale(conn, txn["merchant_id"])
        original = None
        if txn["original_id"] is not None:
            original = get_transaction(conn, user, txn["original_id"])
    receipt = receipt_for(
        txn,
        merchant=detail["merchant"],
        acquirer_name=acquirer["name"],
        support_phone=acquirer["support_phone"],
        tz=_tz(user),
        original=original,
        signed=txn["signed"],
        language=where.language,
        country=where.country,
        signature_required=bool(txn["signature_required"]),
    )
    return ReceiptOut(transaction_id=txn_id, text=receipt_text(receipt))


@router.post(
    "/transactions/{txn_id}/signature",
    response_model=SignedOut,
    status_code=201,
    tags=["transactions"],
    responses=_WRITE_ERRORS,
    summary="Store the cardholder's signature (补签) as a PNG data URL",
)
def transaction_sign(request: Request, txn_id: RecordId, body: SignatureIn, user: User) -> SignedOut:
    try:
        code = sign_transaction(request, user, txn_id, body.image)
    except SignatureImageError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    except (SignatureExists, SignatureNotNeeded) as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return SignedOut(transaction_id=txn_id, feature_code=code)


# --- terminals -----------------------------------------------------------------------------
@router.get("/terminals", response_model=list[TerminalOut], tags=["terminals"])
def terminals_list(request: Request, user: User) -> list[TerminalOut]:
    portal = portal_state(request)
    with portal.read() as conn:
        return [
            TerminalOut(**t.as_json())
            for t in terminal_health(conn, user, now=portal.clock(), policy=portal.fleet_policy)
        ]


@router.get("/terminals/{terminal_id}", response_model=TerminalOut, tags=["terminals"])
def terminal_get(request: Request, terminal_id: TerminalId, user: User) -> TerminalOut:
    portal = portal_state(request)
    with portal.read() as conn:
        terminal = get_terminal(conn, user, terminal_id)
        health = terminal_health(
            conn, user, now=portal.clock(), merchant_id=terminal["merchant_id"], policy=portal.fleet_policy
        )
    [found] = [t for t in health if t.terminal_id == terminal_id]
    return TerminalOut(**found.as_json())


@router.get("/operators", response_model=list[OperatorOut], tags=["terminals"])
def operators_list(request: Request, user: User) -> list[OperatorOut]:
    with portal_state(request).read() as conn:
        return [OperatorOut.model_validate(o) for o in list_operators(conn, user)]


# --- money ---------------------------------------------------------------------------------
@router.get("/settlements", response_model=list[SettlementDayOut], tags=["money"])
def settlements_list(
    request: Request, user: User, merchant_id: int | None = Query(None, ge=1, le=MAX_ID)
) -> list[SettlementDayOut]:
    with portal_state(request).read() as conn:
        mid = merchant_param(conn, user, merchant_id)
        require(user, Permission.VIEW_FINANCE)
        return [SettlementDayOut.model_validate(d) for d in settlement_days(conn, user, mid)]


@router.get("/payouts", response_model=list[PayoutOut], tags=["money"])
def payouts_list(
    request: Request, user: User, merchant_id: int | None = Query(None, ge=1, le=MAX_ID)
) -> list[PayoutOut]:
    with portal_state(request).read() as conn:
        mid = merchant_param(conn, user, merchant_id)
        require(user, Permission.VIEW_FINANCE)
        return [PayoutOut.model_validate(dataclasses.asdict(p)) for p in visible_payouts(conn, user, mid)]


@router.get("/payouts/{payout_id}", response_model=PayoutDetailOut, tags=["money"])
def payout_get(request: Request, payout_id: RecordId, user: User) -> PayoutDetailOut:
    with portal_state(request).read() as conn:
        payout = get_payout(conn, user, payout_id)
        require(user, Permission.VIEW_FINANCE)
        items = payout_items(conn, user, payout_id)
    return PayoutDetailOut(**PayoutOut.model_validate(payout).model_dump(), items=items)


def _schedule(s: FeeSchedule, binding: Any) -> ScheduleOut:
    return ScheduleOut(
        id=s.id,
        version=s.version,
        description=s.description,
        notified_at=s.notified_at,
        effective_from=s.effective_from,
        effective_to=s.effective_to,
        binding_from=binding,
        rules=[
            {**dataclasses.asdict(r), "rate": str(r.rate) if r.rate is not None else None} for r in s.rules
        ],
    )


@router.get(
    "/merchants/{merchant_id}/fees",
    response_model=FeesOut,
    tags=["money"],
    summary="The contract in force, its version history with notice dates, and the fee audit",
)
def fees_get(request: Request, merchant_id: RecordId, user: User) -> FeesOut:
    portal = portal_state(request)
    with portal.read() as conn:
        get_merchant(conn, user, merchant_id)
        require(user, Permission.VIEW_FINANCE)
        overview = fee_overview(conn, merchant_id, now=portal.clock())
    start = overview["lawful_start"]
    in_force = overview["in_force"]
    return FeesOut(
        merchant_id=merchant_id,
        in_force=_schedule(in_force, start.get(in_force.id)) if in_force else None,
        versions=[_schedule(v, start.get(v.id)) for v in overview["versions"]],
        lines_checked=overview["lines_checked"],
        findings=[FindingOut.model_validate(dataclasses.asdict(f)) for f in overview["findings"]],
    )


@router.get(
    "/merchants/{merchant_id}/statements/{period}",
    response_model=StatementOut,
    tags=["money"],
    summary="A monthly statement (period YYYY-MM); PDF and CSV downloads are on the portal's pages",
)
def statement_get(
    request: Request,
    merchant_id: RecordId,
    period: Annotated[str, Path(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")],
    user: User,
) -> StatementOut:
    with portal_state(request).read() as conn:
        get_merchant(conn, user, merchant_id)
        require(user, Permission.VIEW_FINANCE)
        st = statement_for_period(conn, merchant_id, period)
    return StatementOut(
        merchant_no=st.merchant.merchant_no,
        period=period,
        start=st.start,
        end=st.end,
        currency=st.currency,
        opening=st.opening,
        closing=st.closing,
        totals=st.totals,
        lines=[dataclasses.asdict(line) for line in st.lines],
        fee_lines=[{**dataclasses.asdict(f), "charged_at": f.charged_at.isoformat()} for f in st.fee_lines],
    )


# --- disputes ------------------------------------------------------------------------------
def _dispute(d: Any) -> DisputeOut:
    data = dataclasses.asdict(d)
    return DisputeOut.model_validate(data)


@router.get("/disputes", response_model=list[DisputeOut], tags=["disputes"])
def disputes_list(
    request: Request, user: User, status: str | None = Query(None, pattern="^[a-z_]{1,24}$")
) -> list[DisputeOut]:
    with portal_state(request).read() as conn:
        return [_dispute(d) for d in visible_disputes(conn, user, status=status)]


@router.get("/disputes/{dispute_id}", response_model=DisputeOut, tags=["disputes"])
def dispute_get(request: Request, dispute_id: RecordId, user: User) -> DisputeOut:
    with portal_state(request).read() as conn:
        return _dispute(get_visible_dispute(conn, user, dispute_id))


def _open(
    request: Request, user: PortalUser, body: DisputeIn, *, txn_id: int | None, fee_line_id: int | None
) -> DisputeOut:
    portal = portal_state(request)
    now = portal.clock()
    try:
        with portal.write() as conn:
            dispute = open_merchant_dispute(
                conn,
                user,
                reason=body.reason,
                fee_line_id=fee_line_id,
                transaction_id=txn_id,
                amount=body.amount,
                via="api",
                now=now,
            )
    except DisputeError as exc:
        raise HTTPException(status_code=409, detail=exc.reason) from None
    return _dispute(dispute)


@router.post(
    "/transactions/{txn_id}/disputes",
    response_model=DisputeOut,
    status_code=201,
    tags=["disputes"],
    responses=_WRITE_ERRORS,
    summary="Dispute a transaction",
)
def dispute_transaction(request: Request, txn_id: RecordId, body: DisputeIn, user: User) -> DisputeOut:
    return _open(request, user, body, txn_id=txn_id, fee_line_id=None)


@router.post(
    "/fee-lines/{fee_line_id}/disputes",
    response_model=DisputeOut,
    status_code=201,
    tags=["disputes"],
    responses=_WRITE_ERRORS,
    summary="Dispute one fee line (乱扣费追回)",
)
def dispute_fee_line(request: Request, fee_line_id: RecordId, body: DisputeIn, user: User) -> DisputeOut:
    return _open(request, user, body, txn_id=None, fee_line_id=fee_line_id)


# --- merchant changes ----------------------------------------------------------------------
@router.get(
    "/change-requests",
    response_model=list[ChangeOut],
    tags=["merchants"],
    summary="Merchant change requests (变更商户)",
)
def changes_list(request: Request, user: User) -> list[ChangeOut]:
    with portal_state(request).read() as conn:
        ids = {m["id"] for m in visible_merchants(conn, user)}
        rows = [c for c in list_changes(conn) if c.merchant_id in ids]
    return [ChangeOut.model_validate(dataclasses.asdict(c)) for c in reversed(rows)]


@router.post(
    "/merchants/{merchant_id}/change-requests",
    response_model=ChangeOut,
    status_code=201,
    tags=["merchants"],
    responses=_WRITE_ERRORS,
    summary="Request a change of the merchant's details (变更商户), reviewed by acquirer staff",
)
def change_create(request: Request, merchant_id: RecordId, body: ChangeIn, user: User) -> ChangeOut:
    portal = portal_state(request)
    now = portal.clock()
    try:
        with portal.write() as conn:
            change = request_merchant_change(
                conn,
                user,
                merchant_id=merchant_id,
                field=body.field,
                new_value=body.new_value,
                effective=body.effective_from,
                reason=body.reason,
                now=now,
            )
    except ChangeRequestError as exc:
        raise HTTPException(status_code=400, detail=exc.reason) from None
    return ChangeOut.model_validate(dataclasses.asdict(change))


# --- support -------------------------------------------------------------------------------
def _ticket(row: dict[str, Any], messages: list[dict[str, Any]] | None = None) -> TicketOut:
    return TicketOut.model_validate({**row, "messages": messages or []})


@router.get("/tickets", response_model=list[TicketOut], tags=["support"])
def tickets_list(request: Request, user: User) -> list[TicketOut]:
    with portal_state(request).read() as conn:
        return [_ticket(t) for t in list_tickets(conn, user)]


@router.get("/tickets/{ticket_id}", response_model=TicketOut, tags=["support"])
def ticket_get(request: Request, ticket_id: RecordId, user: User) -> TicketOut:
    with portal_state(request).read() as conn:
        return _ticket(get_ticket(conn, user, ticket_id), ticket_messages_of(conn, ticket_id))


@router.post("/tickets", response_model=TicketOut, status_code=201, tags=["support"], responses=_WRITE_ERRORS)
def ticket_create(request: Request, body: TicketIn, user: User) -> TicketOut:
    portal = portal_state(request)
    now = portal.clock()
    try:
        with portal.write() as conn:
            if body.transaction_id is not None:
                get_transaction(conn, user, body.transaction_id)
            require(user, Permission.OPEN_TICKET)
            ticket_id = open_ticket(
                conn,
                user,
                subject=body.subject,
                category=body.category,
                body=body.body,
                now=now,
                transaction_id=body.transaction_id,
            )
            audit(
                conn,
                actor=user.username,
                action="ticket.opened",
                subject=f"ticket:{ticket_id}",
                at=now,
                via="api",
            )
            row = get_ticket(conn, user, ticket_id)
            messages = ticket_messages_of(conn, ticket_id)
    except TicketError as exc:
        raise HTTPException(status_code=400, detail=exc.reason) from None
    return _ticket(row, messages)


@router.post(
    "/tickets/{ticket_id}/messages",
    response_model=TicketOut,
    status_code=201,
    tags=["support"],
    responses=_WRITE_ERRORS,
    summary="Reply to a ticket",
)
def ticket_reply(request: Request, ticket_id: RecordId, body: MessageIn, user: User) -> TicketOut:
    portal = portal_state(request)
    now = portal.clock()
    try:
        with portal.write() as conn:
            ticket = get_ticket(conn, user, ticket_id)
            add_message(conn, user, ticket, body.body, now=now)
            audit(
                conn,
                actor=user.username,
                action="ticket.answered" if user.is_acquirer else "ticket.replied",
                subject=f"ticket:{ticket_id}",
                at=now,
                via="api",
            )
            row = get_ticket(conn, user, ticket_id)
            messages = ticket_messages_of(conn, ticket_id)
    except TicketError as exc:
        raise HTTPException(status_code=409, detail=exc.reason) from None
    return _ticket(row, messages)


# --- acquirer ------------------------------------------------------------------------------
@router.get(
    "/flags",
    response_model=list[FlagOut],
    tags=["acquirer"],
    summary="Compliance flags: MCC mismatch, terminal/merchant mismatch, location",
)
def flags_list(
    request: Request, user: User, status: str | None = Query("open", pattern="^(open|cleared)$")
) -> list[FlagOut]:
    require(user, Permission.REVIEW)
    with portal_state(request).read() as conn:
        return [
            FlagOut.model_validate(dataclasses.asdict(f)) for f in visible_flags(conn, user, status=status)
        ]
