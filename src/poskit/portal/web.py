"""Web plumbing shared by every portal page: state, the logged-in user, CSRF, rendering.

Pages depend on :func:`page_user` (redirects to the login page when there is no live
session) and their routers on :func:`csrf_guard` (every unsafe request must carry the
session's CSRF token, as a form field ``csrf`` or an ``X-CSRF-Token`` header, which
is how htmx sends it). :func:`render` fills in what every template needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, MutableMapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from poskit.portal.accounts import PortalUser, get_user_by_id
from poskit.portal.i18n import LANGUAGE_NAMES, PortalLocale, portal_locale
from poskit.portal.permissions import can
from poskit.portal.security import check_csrf, csrf_token
from poskit.portal.sessions import resolve_session, touch_session
from poskit.store.db import WRITE
from poskit.tms.alerts import NO_POLICY, FleetPolicy

__all__ = [
    "MAX_ID",
    "UNSAFE_METHODS",
    "LoginRequired",
    "MerchantQuery",
    "PageQuery",
    "PortalState",
    "RecordId",
    "RecordQuery",
    "TerminalId",
    "csrf_guard",
    "flash",
    "locale_for",
    "page_user",
    "portal_state",
    "render",
    "render_block",
    "safe_next",
    "session_user",
    "user_for_session",
]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Record ids are 32-bit integer keys: a larger number names nothing and never reaches the database.
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
RecordQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
TerminalId = Annotated[str, Path(pattern="^[A-Za-z0-9]{1,8}$")]
MerchantQuery = RecordQuery
PageQuery = Annotated[int, Query(ge=1, le=100_000)]


@dataclasses.dataclass
class PortalState:
    """What every request handler needs: the database, the clock and the templates."""

    engine: Engine
    clock: Callable[[], datetime]
    templates: Jinja2Templates
    fleet_policy: FleetPolicy = NO_POLICY  # judges the terminals' software versions

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn


def portal_state(request: Request) -> PortalState:
    state: PortalState = request.app.state.portal
    return state


class LoginRequired(HTTPException):
    def __init__(self, target: str) -> None:
        super().__init__(status_code=303, headers={"Location": "/login?next=" + quote(target, safe="/")})


def user_for_session(
    engine: Engine, session: MutableMapping[str, Any], *, now: datetime
) -> PortalUser | None:
    """The user of a live portal session, from a request's or a WebSocket's ``session``.

    Read-only (no last-seen update), for callers outside the page dependencies such
    as the browser POS WebSocket.
    """
    token = session.get("sid")
    if not token:
        return None
    with engine.connect() as conn:
        live = resolve_session(conn, str(token), now=now)
        return get_user_by_id(conn, live.user_id) if live else None


def session_user(request: Request) -> PortalUser | None:
    """The user of the request's live session, or None."""
    token = request.session.get("sid")
    if not token:
        return None
    portal = portal_state(request)
    now = portal.clock()
    with portal.read() as conn:
        live = resolve_session(conn, str(token), now=now)
        user = get_user_by_id(conn, live.user_id) if live else None
    if live is None or user is None:
        request.session.clear()
        return None
    if live.needs_touch:
        with portal.write() as conn:
            touch_session(conn, live.id, now=now)
    return user


def locale_for(request: Request, user: PortalUser | None) -> PortalLocale:
    if user is not None:
        return portal_locale(user.locale, user.timezone)
    chosen = request.session.get("locale")
    if not chosen:
        header = request.headers.get("accept-language", "")
        chosen = "zh_CN" if header.lower().startswith("zh") else "en"
    return portal_locale(str(chosen))


def page_user(request: Request) -> PortalUser:
    """Dependency: the logged-in user (or a redirect to the login page)."""
    user = session_user(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.user = user
    request.state.locale = locale_for(request, user)
    return user


async def csrf_guard(request: Request) -> None:
    """Router dependency: unsafe methods need the session's CSRF token (form field or header).

    Form text with NUL characters is refused here too: no database stores them.
    """
    if request.method not in UNSAFE_METHODS:
        return
    submitted = request.headers.get("x-csrf-token")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        if not submitted:
            value = form.get("csrf")
            submitted = value if isinstance(value, str) else None
        check_csrf(request, submitted)
        if any(isinstance(v, str) and "\x00" in v for v in form.values()):
            raise HTTPException(status_code=400, detail="NUL characters are not allowed")
        return
    check_csrf(request, submitted)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never an open redirect to another host."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def flash(request: Request, kind: str, message: str) -> None:
    """A one-time message shown on the next page (already translated)."""
    messages = list(request.session.get("flash", []))
    messages.append([kind, message])
    request.session["flash"] = messages[-5:]


def _context(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    user: PortalUser | None = getattr(request.state, "user", None)
    loc: PortalLocale = getattr(request.state, "locale", None) or locale_for(request, user)
    context: dict[str, Any] = {
        "request": request,
        "user": user,
        "L": loc,
        "_": loc.gettext,
        "languages": LANGUAGE_NAMES,
        "csrf": csrf_token(request),
        "can": (lambda perm: can(user, perm)) if user else (lambda _perm: False),
        "flashes": request.session.pop("flash", []),
        "path": request.url.path,
        "htmx": request.headers.get("hx-request") == "true",
    }
    context.update(values)
    return context


def render(
    request: Request, template: str, values: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    portal = portal_state(request)
    context = _context(request, values or {})
    response = portal.templates.TemplateResponse(request, template, context, status_code=status_code)
    return response


def render_block(
    request: Request, template: str, block: str, values: dict[str, Any] | None = None
) -> HTMLResponse:
    """One ``{% block %}`` of a page, for an htmx partial update."""
    portal = portal_state(request)
    tmpl = portal.templates.env.get_template(template)
    context = tmpl.new_context(_context(request, values or {}))
    html = "".join(tmpl.blocks[block](context))
    return HTMLResponse(html)
