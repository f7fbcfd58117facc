"""The session cookie's secret and CSRF protection.

The cookie is signed (Starlette's SessionMiddleware, itsdangerous), HttpOnly and
SameSite=Lax, and Secure whenever the portal is served beyond the loopback address.
It carries a random session id whose validity the server decides
(:mod:`poskit.portal.sessions`) and a per-session CSRF token: every state-changing
request must send it back (synchroniser-token pattern, :func:`poskit.portal.web.csrf_guard`).
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from fastapi import HTTPException, Request

__all__ = ["check_csrf", "csrf_token", "load_session_secret"]


def load_session_secret(path: Path) -> str:
    """The cookie-signing secret, created once per data directory (mode 0600)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(str(expected), submitted):
        raise HTTPException(status_code=403, detail="CSRF token missing or invalid; reload the page")
