"""The merchant portal: FastAPI + Jinja2, server-rendered.

``create_app`` builds the ASGI application over a database engine. Pages only ever
show masked card numbers (first 6 / last 4); merchants see only their own data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, select
from starlette.middleware.sessions import SessionMiddleware

from poskit.money import Amount
from poskit.portal.accounts import PortalUser, authenticate, get_user
from poskit.portal.security import check_csrf, csrf_token
from poskit.store.db import WRITE
from poskit.store.schema import terminals, transactions

__all__ = ["create_app"]

_HERE = Path(__file__).parent


def create_app(
    engine: Engine, *, session_secret: str, secure_cookies: bool = True, now: Any = None
) -> FastAPI:
    """The portal application over ``engine``."""
    clock = now or (lambda: datetime.now(UTC))
    app = FastAPI(title="poskit portal", version="0.1.0", docs_url="/docs", redoc_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret,
        session_cookie="poskit_session",
        max_age=8 * 3600,
        same_site="lax",
        https_only=secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.globals["csrf_token"] = csrf_token
    app.state.engine = engine

    def current_user(request: Request) -> PortalUser:
        username = request.session.get("user")
        if username:
            with engine.connect() as conn:
                user = get_user(conn, str(username))
            if user is not None:
                return user
            request.session.clear()
        raise HTTPException(status_code=303, headers={"Location": "/login?next=" + quote(request.url.path)})

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/transactions", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/transactions") -> Response:
        return templates.TemplateResponse(request, "login.html", {"next": next, "error": None})

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(
        request: Request,
        username: str = Form(...),
        password: str = Form(...),
        csrf: str = Form(""),
        next: str = Form("/transactions"),
    ) -> Response:
        check_csrf(request, csrf)
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            result = authenticate(conn, username.strip(), password, now=clock())
        if result.user is None:
            error = (
                "Too many wrong passwords: the account is locked until "
                f"{result.locked_until:%Y-%m-%d %H:%M} UTC."
                if result.reason == "locked" and result.locked_until
                else "Wrong user name or password."
            )
            return templates.TemplateResponse(
                request, "login.html", {"next": next, "error": error}, status_code=401
            )
        request.session.clear()
        request.session["user"] = result.user.username
        target = next if next.startswith("/") and not next.startswith("//") else "/transactions"
        return RedirectResponse(target, status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/transactions", response_class=HTMLResponse, include_in_schema=False)
    def transactions_page(request: Request, user: PortalUser = Depends(current_user)) -> Response:
        rows = _transactions_for(engine, user)
        return templates.TemplateResponse(request, "transactions.html", {"user": user, "rows": rows})

    return app


def _transactions_for(engine: Engine, user: PortalUser, limit: int = 200) -> list[dict[str, Any]]:
    query = (
        select(transactions)
        .where(transactions.c.mti.in_(("0200", "0100", "0220")))
        .order_by(transactions.c.id.desc())
        .limit(limit)
    )
    if not user.is_acquirer:
        query = query.where(transactions.c.merchant_id == user.merchant_id)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        tids = {r.terminal_id for r in conn.execute(select(terminals.c.terminal_id))}
    out = []
    for r in rows:
        out.append(
            {
                "time": r["received_at"],
                "terminal": r["terminal_id"] if r["terminal_id"] in tids else "?",
                "card": r["pan_masked"] or "",
                "type": r["txn_type"],
                "amount": Amount.of(r["amount"], r["currency"]),
                "result": r["status"],
                "response_code": r["response_code"],
                "rrn": r["rrn"] or "",
                "fee": Amount.of(r["fee"], r["currency"]),
            }
        )
    return out
