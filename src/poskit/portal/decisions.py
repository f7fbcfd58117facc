"""Decisions recorded in a user's name: the one rule set the portal and the CLI both run.

Each function takes the authenticated :class:`PortalUser`, checks tenant scope first
(another merchant's record is :class:`NotFound`, exactly as in the portal), then the
role's permission (:class:`PermissionDenied`), then lets the ledger apply its own rules
(four eyes, states, amounts), and records the action under the user's name. The portal's
routes and the ``poskit`` commands call these and only translate the outcome (a page, a
status code, an exit code), so a rule cannot hold in one and not the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.ledger.disputes import Dispute, DisputeError, open_dispute, represent, resolve, review
from poskit.ledger.merchant_changes import (
    ChangeRequest,
    ChangeRequestError,
    effective_start,
    get_change,
    request_change,
    review_change,
)
from poskit.ledger.monitoring import Flag, clear_flag
from poskit.ledger.payouts import Payout, request_d0_payout
from poskit.money import Amount
from poskit.portal.accounts import PortalUser
from poskit.portal.audit import audit
from poskit.portal.data.disputes import finding_for, get_fee_line, get_visible_dispute
from poskit.portal.data.review import flag_visible
from poskit.portal.permissions import Permission, require
from poskit.portal.scope import NotFound, get_merchant, get_terminal, get_transaction, owns_merchant
from poskit.store.schema import acquirers
from poskit.tms.inventory import move_terminal, retire_terminal

__all__ = [
    "act_on_dispute",
    "authorize_onboarding",
    "clear_merchant_flag",
    "move_terminal_as",
    "open_merchant_dispute",
    "represent_dispute",
    "request_instant_payout",
    "request_merchant_change",
    "resolve_dispute",
    "retire_terminal_as",
    "review_dispute",
    "review_merchant_change",
]


# --- merchant change requests (变更商户) -------------------------------------------------------
def request_merchant_change(
    conn: Connection,
    user: PortalUser,
    *,
    merchant_id: int,
    field: str,
    new_value: str,
    effective: date,
    reason: str = "",
    now: datetime,
) -> ChangeRequest:
    """File a change of one field from business date ``effective`` (never a past date)."""
    get_merchant(conn, user, merchant_id)
    require(user, Permission.REQUEST_CHANGE)
    return request_change(
        conn,
        merchant_id=merchant_id,
        field=field,
        new_value=new_value,
        effective_from=effective_start(conn, merchant_id, effective, now=now),
        requested_by=user.username,
        reason=reason,
        now=now,
    )


def review_merchant_change(
    conn: Connection, user: PortalUser, change_id: int, *, approve: bool, note: str = "", now: datetime
) -> ChangeRequest:
    """Approve or reject a change: acquirer staff of the merchant's acquirer, never the requester."""
    try:
        change = get_change(conn, change_id)
    except ChangeRequestError:
        raise NotFound("change request") from None
    if not owns_merchant(conn, user, change.merchant_id):
        raise NotFound("change request")
    require(user, Permission.REVIEW)
    return review_change(conn, change_id, reviewer=user.username, approve=approve, note=note, now=now)


# --- compliance flags --------------------------------------------------------------------------
def clear_merchant_flag(
    conn: Connection, user: PortalUser, flag_id: int, *, note: str, now: datetime
) -> Flag:
    """Clear a flag after review, in the reviewer's name."""
    if not flag_visible(conn, user, flag_id):
        raise NotFound("flag")
    require(user, Permission.REVIEW)
    try:
        flag = clear_flag(conn, flag_id, actor=user.username, note=note, now=now)
    except LookupError:
        raise NotFound("flag") from None
    audit(conn, actor=user.username, action="flag.cleared", subject=f"flag:{flag_id}", at=now, note=note)
    return flag


# --- instant settlement (D0 / 秒到) -------------------------------------------------------------
def request_instant_payout(
    conn: Connection, user: PortalUser, merchant_id: int, *, request_key: str | None, now: datetime
) -> Payout:
    """The merchant's owner asks for today's unsettled sales now, paying the contract's D0 fee."""
    get_merchant(conn, user, merchant_id)
    require(user, Permission.REQUEST_PAYOUT)
    payout = request_d0_payout(
        conn, merchant_id, now=now, request_key=request_key, requested_by=user.username
    )
    audit(
        conn,
        actor=user.username,
        action="payout.d0_requested",
        subject=f"payout:{payout.id}",
        at=now,
        amount=payout.amount,
        fee=payout.fee,
        currency=payout.currency,
    )
    return payout


# --- disputes (乱扣费追回) and chargebacks -------------------------------------------------------
def open_merchant_dispute(
    conn: Connection,
    user: PortalUser,
    *,
    reason: str,
    fee_line_id: int | None = None,
    transaction_id: int | None = None,
    amount: str | int | None = None,
    finding: str = "",
    via: str = "",
    now: datetime,
) -> Dispute:
    """A merchant owner disputes one of its fee lines or transactions.

    ``amount`` is the claim as typed in the merchant's currency ("12.50") or in minor units (an
    int, as the API takes it); blank or None claims all of it, or what the audit ``finding``
    says is owed. ``via`` names the channel in the audit log when it is not the portal's pages.
    """
    if fee_line_id is not None:
        line = get_fee_line(conn, user, fee_line_id)
        merchant_id, currency = int(line["merchant_id"]), str(line["currency"])
    elif transaction_id is not None:
        txn = get_transaction(conn, user, transaction_id)
        merchant_id, currency = int(txn["merchant_id"]), str(txn["currency"])
    else:
        raise DisputeError("name a fee line or a transaction")
    require(user, Permission.OPEN_DISPUTE)
    if isinstance(amount, int):
        claimed: int | None = amount
    else:
        claimed = Amount.parse(amount, currency).minor if amount and amount.strip() else None
    found = finding_for(conn, merchant_id, finding) if finding and fee_line_id is not None else None
    if found is not None and found.fee_line_id != fee_line_id:
        found = None
    dispute = open_dispute(
        conn,
        merchant_id=merchant_id,
        reason=reason,
        opened_by=user.username,
        fee_line_id=fee_line_id,
        transaction_id=None if fee_line_id is not None else transaction_id,
        amount=claimed if claimed is not None else (found.owed if found else None),
        finding_key=found.key if found else None,
        evidence={"finding": {"kind": found.kind, "key": found.key}} if found else None,
        now=now,
    )
    audit(
        conn,
        actor=user.username,
        action="dispute.opened",
        subject=f"dispute:{dispute.id}",
        at=now,
        **({"via": via} if via else {}),
        kind=dispute.kind,
        amount=dispute.amount,
        currency=dispute.currency,
    )
    return dispute


def act_on_dispute(
    conn: Connection,
    user: PortalUser,
    dispute_id: int,
    action: str,
    apply: Callable[[Dispute], Dispute],
    *,
    staff: bool,
    now: datetime,
) -> Dispute:
    """One step on a dispute: not found unless visible, then (``staff``) the review permission,
    then the ledger step, audited as ``dispute.<action>``."""
    current = get_visible_dispute(conn, user, dispute_id)
    if staff:
        require(user, Permission.REVIEW)
    result = apply(current)
    audit(conn, actor=user.username, action=f"dispute.{action}", subject=f"dispute:{dispute_id}", at=now)
    return result


def review_dispute(
    conn: Connection, user: PortalUser, dispute_id: int, *, note: str = "", now: datetime
) -> Dispute:
    """Acquirer staff take a merchant dispute under review."""
    return act_on_dispute(
        conn,
        user,
        dispute_id,
        "under_review",
        lambda _: review(conn, dispute_id, reviewer=user.username, note=note, now=now),
        staff=True,
        now=now,
    )


def resolve_dispute(
    conn: Connection,
    user: PortalUser,
    dispute_id: int,
    *,
    uphold: bool,
    amount: str = "",
    note: str = "",
    now: datetime,
) -> Dispute:
    """Acquirer staff uphold (refund ``amount``, blank: all) or reject a merchant dispute."""

    def apply(current: Dispute) -> Dispute:
        refund = Amount.parse(amount, current.currency).minor if amount.strip() else None
        return resolve(
            conn, dispute_id, reviewer=user.username, upheld=uphold, amount=refund, note=note, now=now
        )

    return act_on_dispute(
        conn, user, dispute_id, "upheld" if uphold else "rejected", apply, staff=True, now=now
    )


def represent_dispute(
    conn: Connection, user: PortalUser, dispute_id: int, *, note: str = "", now: datetime
) -> Dispute:
    """Acquirer staff represent a chargeback with the evidence on record."""
    return act_on_dispute(
        conn,
        user,
        dispute_id,
        "represented",
        lambda _: represent(conn, dispute_id, actor=user.username, note=note, now=now),
        staff=True,
        now=now,
    )


# --- onboarding (入网) and terminal inventory ----------------------------------------------------
def authorize_onboarding(conn: Connection, user: PortalUser, *, acquirer_code: str) -> None:
    """May ``user`` onboard a merchant for ``acquirer_code``: an administrator of that acquirer."""
    acquirer_id = conn.execute(select(acquirers.c.id).where(acquirers.c.code == acquirer_code)).scalar()
    if acquirer_id is None or acquirer_id != user.acquirer_id or not user.is_acquirer:
        raise NotFound("acquirer")
    require(user, Permission.ONBOARD)


def move_terminal_as(
    conn: Connection, user: PortalUser, terminal_id: str, merchant_no: str, *, reason: str, now: datetime
) -> None:
    """Re-assign one of the user's acquirer's terminals to another of its merchants."""
    get_terminal(conn, user, terminal_id)
    require(user, Permission.ONBOARD)
    move_terminal(conn, terminal_id, merchant_no, actor=user.username, reason=reason, now=now)


def retire_terminal_as(
    conn: Connection, user: PortalUser, terminal_id: str, *, reason: str, now: datetime
) -> None:
    """Take one of the user's acquirer's terminals out of service for good."""
    get_terminal(conn, user, terminal_id)
    require(user, Permission.ONBOARD)
    retire_terminal(conn, terminal_id, actor=user.username, reason=reason, now=now)
