"""Acquirer staff views across merchants: merchants, review queues, flags, users and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from poskit.ledger.merchant_changes import ChangeRequestError, list_changes
from poskit.portal.accounts import PortalUser, WeakPasswordError, list_users, set_password, unlock_user
from poskit.portal.audit import audit, recent_entries
from poskit.portal.data.review import open_dispute_count, visible_flags
from poskit.portal.decisions import clear_merchant_flag, review_merchant_change
from poskit.portal.errors import refusal_text
from poskit.portal.permissions import Permission, require
from poskit.portal.scope import NotFound, visible_merchant_ids, visible_merchants
from poskit.portal.sessions import revoke_user_sessions
from poskit.portal.web import (
    RecordId,
    csrf_guard,
    flash,
    page_user,
    portal_state,
    render,
)
from poskit.store.schema import transactions
from poskit.store.schema_portal import login_events

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])


@router.get("/merchants")
def merchants_page(request: Request, user: PortalUser = Depends(page_user)) -> Response:
    if not user.is_acquirer:
        return RedirectResponse("/merchant", status_code=303)
    with portal_state(request).read() as conn:
        rows = visible_merchants(conn, user)
        counts: dict[int, int] = dict(
            conn.execute(
                select(transactions.c.merchant_id, func.count())
                .where(transactions.c.merchant_id.in_([r["id"] for r in rows]))
                .group_by(transactions.c.merchant_id)
            ).all()
        )
    return render(request, "merchants.html", {"merchants": rows, "counts": counts})


@router.get("/review")
def review_page(request: Request, user: PortalUser = Depends(page_user)) -> Response:
    require(user, Permission.REVIEW)
    with portal_state(request).read() as conn:
        ids = set(visible_merchant_ids(conn, user))
        changes = [c for c in list_changes(conn, status="pending") if c.merchant_id in ids]
        flags = visible_flags(conn, user, status="open")
        disputes = open_dispute_count(conn, user)
    return render(request, "review.html", {"changes": changes, "flags": flags, "disputes": disputes})


@router.get("/review/changes")
def review_changes_page(
    request: Request, status: str = "pending", user: PortalUser = Depends(page_user)
) -> Response:
    require(user, Permission.REVIEW)
    with portal_state(request).read() as conn:
        ids = set(visible_merchant_ids(conn, user))
        names = {m["id"]: m for m in visible_merchants(conn, user)}
        wanted = status if status in ("pending", "approved", "rejected", "applied") else None
        changes = [c for c in list_changes(conn, status=wanted) if c.merchant_id in ids]
    return render(
        request, "review_changes.html", {"changes": list(reversed(changes)), "names": names, "status": status}
    )


@router.post("/review/changes/{change_id}")
def review_change_post(
    request: Request,
    change_id: RecordId,
    decision: str = Form(..., pattern="^(approve|reject)$"),
    note: str = Form("", max_length=200),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    try:
        with portal.write() as conn:
            review_merchant_change(conn, user, change_id, approve=decision == "approve", note=note, now=now)
    except ChangeRequestError as exc:
        flash(request, "error", loc.gettext("Not reviewed: {reason}").format(reason=refusal_text(loc, exc)))
        return RedirectResponse("/review/changes", status_code=303)
    flash(
        request,
        "ok",
        loc.gettext("Change request #{id} {decision}.").format(
            id=change_id, decision=loc.gettext("approved" if decision == "approve" else "rejected")
        ),
    )
    return RedirectResponse("/review/changes", status_code=303)


@router.get("/review/flags")
def flags_page(
    request: Request, status: str = "open", kind: str | None = None, user: PortalUser = Depends(page_user)
) -> Response:
    require(user, Permission.REVIEW)
    wanted = status if status in ("open", "cleared") else None
    with portal_state(request).read() as conn:
        flags = visible_flags(conn, user, status=wanted, kind=kind)
        names = {m["id"]: m for m in visible_merchants(conn, user)}
    kinds = sorted({f.kind for f in flags})
    return render(
        request,
        "flags.html",
        {"flags": flags, "names": names, "status": status, "kind": kind, "kinds": kinds},
    )


@router.post("/review/flags/{flag_id}/clear")
def flag_clear(
    request: Request,
    flag_id: RecordId,
    note: str = Form(..., min_length=1, max_length=200),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    now = portal.clock()
    with portal.write() as conn:
        clear_merchant_flag(conn, user, flag_id, note=note, now=now)
    flash(request, "ok", request.state.locale.gettext("Flag cleared."))
    return RedirectResponse("/review/flags", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, user: PortalUser = Depends(page_user)) -> Response:
    require(user, Permission.ADMIN)
    with portal_state(request).read() as conn:
        ids = set(visible_merchant_ids(conn, user))
        users = [u for u in list_users(conn) if u.acquirer_id == user.acquirer_id or u.merchant_id in ids]
        events = [
            dict(r)
            for r in conn.execute(
                select(login_events).order_by(login_events.c.id.desc()).limit(50)
            ).mappings()
        ]
    names = {u.username for u in users}
    return render(
        request,
        "users.html",
        {
            "users": users,
            "events": [e for e in events if e["username"] in names],
            "now": portal_state(request).clock(),
        },
    )


def _managed_user(request: Request, user: PortalUser, user_id: RecordId) -> PortalUser:
    """A user the caller's tenant covers: acquirer staff see their acquirer's users, merchant users
    only their own merchant's (and then lack the permission: 403, not 404)."""
    with portal_state(request).read() as conn:
        ids = set(visible_merchant_ids(conn, user))
        for u in list_users(conn):
            if u.id != user_id:
                continue
            if u.merchant_id in ids or (user.is_acquirer and u.acquirer_id == user.acquirer_id):
                return u
    raise NotFound("user")


@router.post("/admin/users/{user_id}/unlock")
def user_unlock(request: Request, user_id: RecordId, user: PortalUser = Depends(page_user)) -> Response:
    target = _managed_user(request, user, user_id)
    require(user, Permission.ADMIN)
    portal = portal_state(request)
    now = portal.clock()
    with portal.write() as conn:
        unlock_user(conn, user_id)
        audit(conn, actor=user.username, action="user.unlocked", subject=f"user:{target.username}", at=now)
    flash(request, "ok", request.state.locale.gettext("{user} unlocked.").format(user=target.username))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/password")
def user_password(
    request: Request,
    user_id: RecordId,
    password: str = Form(..., max_length=200),
    user: PortalUser = Depends(page_user),
) -> Response:
    target = _managed_user(request, user, user_id)
    require(user, Permission.ADMIN)
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    try:
        with portal.write() as conn:
            set_password(conn, target.username, password)
            ended = revoke_user_sessions(conn, user_id, now=now)
            audit(
                conn,
                actor=user.username,
                action="user.password_reset",
                subject=f"user:{target.username}",
                at=now,
                sessions_ended=ended,
            )
    except WeakPasswordError as exc:
        flash(
            request,
            "error",
            loc.gettext("Password rejected: {reason}").format(reason=loc.gettext(exc.reason)),
        )
        return RedirectResponse("/admin/users", status_code=303)
    flash(
        request,
        "ok",
        loc.gettext("New password set for {user}; their sessions were ended.").format(user=target.username),
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/audit")
def audit_page(
    request: Request,
    actor: str | None = None,
    action: str | None = None,
    user: PortalUser = Depends(page_user),
) -> Response:
    require(user, Permission.ADMIN)
    with portal_state(request).read() as conn:
        entries: list[dict[str, Any]] = recent_entries(
            conn, limit=300, actor=actor or None, action=action or None
        )
    return render(request, "audit.html", {"entries": entries, "actor": actor or "", "action": action or ""})
