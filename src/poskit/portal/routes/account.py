"""Logging in and out, the language switch, and the user's own account (password, API tokens)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import insert

from poskit.i18n import LOCALES, normalise_locale
from poskit.portal.accounts import (
    PortalUser,
    WeakPasswordError,
    authenticate,
    change_password,
    set_locale,
)
from poskit.portal.audit import audit
from poskit.portal.i18n import PortalLocale
from poskit.portal.scope import NotFound
from poskit.portal.sessions import create_session, revoke_session, revoke_user_sessions
from poskit.portal.tokens import create_token, list_tokens, revoke_token
from poskit.portal.web import (
    RecordId,
    csrf_guard,
    flash,
    locale_for,
    page_user,
    portal_state,
    render,
    safe_next,
    session_user,
)
from poskit.store.schema_portal import login_events

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _lock_message(loc: PortalLocale, until: datetime, now: datetime) -> str:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    template = loc.gettext(
        "Too many wrong passwords. The account is locked until {time} (about {minutes} min). "
        "Wait, or ask your administrator to unlock it."
    )
    return template.format(time=loc.time(until), minutes=minutes)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    user = session_user(request)
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    request.state.user = None
    request.state.locale = locale_for(request, None)
    return render(request, "login.html", {"next": safe_next(next), "error": None, "username": ""})


@router.post("/login")
def login(
    request: Request,
    username: str = Form("", max_length=60),
    password: str = Form("", max_length=200),
    next: str = Form("/"),
) -> Response:
    portal = portal_state(request)
    now = portal.clock()
    name = username.strip()
    request.state.user = None
    loc = request.state.locale = locale_for(request, None)
    with portal.write() as conn:
        result = authenticate(conn, name, password, now=now)
        conn.execute(
            insert(login_events).values(
                at=now,
                username=name[:60],
                user_id=result.user.id if result.user else None,
                outcome=result.reason,
                remote_addr=_client(request),
            )
        )
        token = None
        if result.user is not None:
            token = create_session(
                conn,
                result.user.id,
                now=now,
                user_agent=request.headers.get("user-agent", ""),
                remote_addr=_client(request),
            )
    if result.user is None or token is None:
        if result.reason == "locked" and result.locked_until is not None:
            error = _lock_message(loc, result.locked_until, now)
        else:
            error = loc.gettext("Wrong user name or password.")
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "error": error, "username": name, "locked": result.reason == "locked"},
            status_code=401,
        )
    request.session.clear()  # a fresh session (and CSRF token) on login: no fixation
    request.session["sid"] = token
    # Older readers of the session (the browser POS) look for the user name; the server-side
    # session in "sid" is what decides.
    request.session["user"] = result.user.username
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    portal = portal_state(request)
    token = request.session.get("sid")
    user = session_user(request)
    if token:
        now = portal.clock()
        with portal.write() as conn:
            revoke_session(conn, str(token), now=now)
            if user is not None:
                conn.execute(
                    insert(login_events).values(
                        at=now,
                        username=user.username,
                        user_id=user.id,
                        outcome="logout",
                        remote_addr=_client(request),
                    )
                )
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/locale")
def switch_locale(request: Request, locale: str = Form(...), next: str = Form("/")) -> Response:
    chosen = normalise_locale(locale)
    if chosen not in LOCALES:  # pragma: no cover - normalise_locale only returns supported ones
        chosen = "en"
    user = session_user(request)
    if user is not None:
        with portal_state(request).write() as conn:
            set_locale(conn, user.id, chosen)
    request.session["locale"] = chosen
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/account")
def account_page(request: Request, user: PortalUser = Depends(page_user)) -> Response:
    with portal_state(request).read() as conn:
        tokens = list_tokens(conn, user.id)
    new_token = request.session.pop("new_token", None)
    return render(request, "account.html", {"tokens": tokens, "new_token": new_token})


@router.post("/account/password")
def account_password(
    request: Request,
    current: str = Form(..., max_length=200),
    new: str = Form(..., max_length=200),
    repeat: str = Form(..., max_length=200),
    user: PortalUser = Depends(page_user),
) -> Response:
    loc = request.state.locale
    portal = portal_state(request)
    if new != repeat:
        flash(request, "error", loc.gettext("The new passwords do not match."))
        return RedirectResponse("/account", status_code=303)
    try:
        with portal.write() as conn:
            changed = change_password(conn, user.id, current, new)
            if changed:
                now = portal.clock()
                revoke_user_sessions(conn, user.id, now=now)
                audit(
                    conn,
                    actor=user.username,
                    action="user.password_changed",
                    subject=f"user:{user.id}",
                    at=now,
                )
                token = create_session(
                    conn, user.id, now=now, user_agent=request.headers.get("user-agent", "")
                )
    except WeakPasswordError as exc:
        flash(
            request,
            "error",
            loc.gettext("Password rejected: {reason}").format(reason=loc.gettext(exc.reason)),
        )
        return RedirectResponse("/account", status_code=303)
    if not changed:
        flash(request, "error", loc.gettext("The current password is wrong."))
        return RedirectResponse("/account", status_code=303)
    request.session["sid"] = token  # other sessions of this user end; this one continues
    flash(request, "ok", loc.gettext("Password changed. Other sessions were logged out."))
    return RedirectResponse("/account", status_code=303)


@router.post("/account/tokens")
def account_new_token(
    request: Request,
    name: str = Form(..., max_length=60),
    days: int = Form(90, ge=0, le=3650),
    user: PortalUser = Depends(page_user),
) -> Response:
    portal = portal_state(request)
    loc = request.state.locale
    now = portal.clock()
    try:
        with portal.write() as conn:
            new = create_token(
                conn, user.id, name, now=now, expires_at=now + timedelta(days=days) if days else None
            )
            audit(
                conn,
                actor=user.username,
                action="token.created",
                subject=f"token:{new.id}",
                at=now,
                name=name,
            )
    except ValueError:
        flash(request, "error", loc.gettext("Give the token a name, e.g. the script that will use it."))
        return RedirectResponse("/account", status_code=303)
    request.session["new_token"] = new.secret  # shown once on the next page, then gone
    return RedirectResponse("/account#tokens", status_code=303)


@router.post("/account/tokens/{token_id}/revoke")
def account_revoke_token(
    request: Request, token_id: RecordId, user: PortalUser = Depends(page_user)
) -> Response:
    portal = portal_state(request)
    now = portal.clock()
    with portal.write() as conn:
        if not revoke_token(conn, user.id, token_id, now=now):
            raise NotFound("token")
        audit(conn, actor=user.username, action="token.revoked", subject=f"token:{token_id}", at=now)
    flash(request, "ok", request.state.locale.gettext("Token revoked."))
    return RedirectResponse("/account#tokens", status_code=303)
