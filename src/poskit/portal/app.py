"""The merchant portal: FastAPI + Jinja2 pages (htmx for interaction) and the JSON API.

``create_app`` builds the ASGI application over a host database engine. Pages only
ever show masked card numbers; a merchant user sees only their own merchant's data
and gets 404 for anything else; acquirer staff see the merchants of their acquirer.
The JSON API lives under ``/api/v1`` (OpenAPI at ``/openapi.json``, docs at ``/docs``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from poskit import __version__
from poskit.iso8583.response_codes import response_text
from poskit.portal import api
from poskit.portal.errors import event_details, validation_problems
from poskit.portal.routes import (
    account,
    acquirer,
    dashboard,
    disputes,
    finance,
    merchant,
    receipts,
    support,
    terminals,
    transactions,
)
from poskit.portal.web import PortalState, locale_for, render, safe_next, session_user
from poskit.tms.alerts import NO_POLICY, FleetPolicy

__all__ = ["API_DESCRIPTION", "PORTAL_VERSION", "create_app"]

_HERE = Path(__file__).parent
PORTAL_VERSION = __version__  # the package's, not a second number
API_DESCRIPTION = (
    "The poskit merchant portal's data for scripts. Authenticate with a bearer token created "
    "on the portal's Account page (`Authorization: Bearer pk_...`). A token acts as its user: "
    "same role, same merchant. Records of other merchants do not exist for it (404). Amounts "
    "are integers in minor units (fen for CNY) with an ISO 4217 currency code; times are UTC."
)

_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
_CSP_DOCS = _CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
_JSON_PREFIXES = ("/api/", "/pos", "/openapi.json", "/static/", "/healthz")
_PAGE_ROUTERS = (
    account,
    dashboard,
    receipts,
    transactions,
    finance,
    disputes,
    merchant,
    terminals,
    support,
    acquirer,
)


class SecurityHeaders:
    """Defensive response headers; a strict CSP on the portal's own pages (not on /pos)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not path.startswith("/pos"):
                    csp = _CSP_DOCS if path.startswith("/docs") else _CSP
                    extra.append((b"content-security-policy", csp.encode()))
                if path.startswith("/api/"):
                    extra.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.autoescape = True
    templates.env.globals["version"] = PORTAL_VERSION
    templates.env.globals["event_details"] = event_details
    # field 39 in the reader's language, from the one table (the host's English reason stays in its log)
    templates.env.globals["response_text"] = response_text
    return templates


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(_JSON_PREFIXES) or "application/json" in request.headers.get(
        "accept", ""
    )


def _install_error_pages(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        location = headers.get("Location")
        if location and 300 <= exc.status_code < 400:
            if request.headers.get("hx-request") == "true":
                return Response(status_code=204, headers={"HX-Redirect": location})
            return RedirectResponse(location, status_code=exc.status_code)
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers or None)
        if not hasattr(request.state, "user"):
            user = session_user(request)
            request.state.user = user
            request.state.locale = locale_for(request, user)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
        )

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _wants_json(request):
            return JSONResponse({"detail": _jsonable(exc.errors())}, status_code=422)
        # A page shows each field by its label and what it must be, in the reader's language.
        if not hasattr(request.state, "user"):
            user = session_user(request)
            request.state.user = user
            request.state.locale = locale_for(request, user)
        referer = request.headers.get("referer", "")
        back = urlsplit(referer)
        same_site = back.netloc == request.url.netloc and back.path.startswith("/")
        return render(
            request,
            "error.html",
            {
                "status": 422,
                "detail": "",
                "problems": validation_problems(request.state.locale, exc.errors()),
                "back": safe_next(back.path + (f"?{back.query}" if back.query else ""), "")
                if same_site
                else "",
            },
            status_code=422,
        )

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    path = request.url.path
    methods: set[str] = set()
    for module in (*_PAGE_ROUTERS, api):
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.path_regex.match(path):
                methods |= set(route.methods or ())
    return sorted(methods)


def _jsonable(errors: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors, custom_encoder={Exception: str})


def create_app(
    engine: Engine,
    *,
    session_secret: str,
    secure_cookies: bool = True,
    now: Callable[[], datetime] | None = None,
    fleet_policy: FleetPolicy | None = None,
) -> FastAPI:
    """The portal application over ``engine`` (``now``: injectable clock returning aware UTC)."""
    clock: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
    app = FastAPI(
        title="poskit portal API",
        version=PORTAL_VERSION,
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret,
        session_cookie="poskit_session",
        max_age=8 * 3600,
        same_site="lax",
        https_only=secure_cookies,
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.state.engine = engine
    app.state.portal = PortalState(
        engine=engine, clock=clock, templates=_templates(), fleet_policy=fleet_policy or NO_POLICY
    )
    _install_error_pages(app)

    for module in _PAGE_ROUTERS:
        app.include_router(module.router)
    app.include_router(api.router)
    from poskit.portal.pos import router as pos_router  # the browser POS (enabled by configure_pos)

    app.include_router(pos_router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        portal: PortalState = app.state.portal
        page: HTMLResponse = portal.templates.TemplateResponse(request, "docs.html", {"title": app.title})
        return page

    return app
