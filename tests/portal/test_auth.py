"""Logging in and out, sessions, CSRF, lockout with backoff, and the security headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from poskit.portal.accounts import LOCK_AFTER, create_user, get_user
from poskit.portal.web import UNSAFE_METHODS
from poskit.store.db import WRITE
from poskit.store.schema import audit_log
from poskit.store.schema_portal import login_events, portal_sessions

Portal = World = Clock = Any  # fixture types live in conftest.py


def _make_user(world: World, username: str, password: str = "lock-test-pw-1") -> None:
    with world.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        if get_user(conn, username) is None:
            create_user(
                conn,
                username=username,
                password=password,
                role="merchant_staff",
                merchant_id=world.cafe_id,
                now=datetime.now(UTC),
            )


def test_login_page_sets_a_secure_httponly_session_cookie(portal: Callable[..., Portal]) -> None:
    """The session cookie is Secure, HttpOnly and SameSite=Lax from the first page on."""
    client = portal()
    response = client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert (
        "poskit_session=" in cookie
        and "secure" in cookie
        and "httponly" in cookie
        and "samesite=lax" in cookie
    )


def test_login_and_logout(portal: Callable[..., Portal], world: World) -> None:
    """A right password opens a server-side session; logging out revokes it so the old cookie is useless."""
    client = portal()
    assert client.get("/transactions", follow_redirects=False).status_code == 303
    response = client.login("cafe")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.get("/transactions").status_code == 200
    stolen = dict(client.client.cookies)
    assert client.post("/logout").status_code == 303
    assert client.get("/transactions", follow_redirects=False).headers["location"].startswith("/login")
    replay = portal()
    replay.client.cookies.update(stolen)
    assert replay.get("/transactions", follow_redirects=False).status_code == 303  # revoked on the server
    with world.engine.connect() as conn:
        outcomes = [
            r.outcome for r in conn.execute(select(login_events).where(login_events.c.username == "cafe"))
        ]
    assert "ok" in outcomes and "logout" in outcomes


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(portal: Callable[..., Portal]) -> None:
    """Unknown user and wrong password get the same 401 message."""
    client = portal()
    wrong = client.login("cafe", "not-the-password-1")
    unknown = client.login("no-such-user", "not-the-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password." in wrong.text and "Wrong user name or password." in unknown.text


def test_login_without_csrf_token_is_refused(portal: Callable[..., Portal]) -> None:
    """The login form itself needs the session's CSRF token."""
    client = portal()
    client.get("/login")
    response = client.post("/login", {"username": "cafe", "password": "poskit-cafe-1"}, csrf=False)
    assert response.status_code == 403
    response = client.post(
        "/login", {"username": "cafe", "password": "poskit-cafe-1", "csrf": "forged"}, csrf=False
    )
    assert response.status_code == 403


def test_every_form_post_without_a_csrf_token_is_refused(
    portal: Callable[..., Portal], portal_routes: Any
) -> None:
    """Each state-changing page route answers 403 without the token, before doing anything."""
    client = portal("acquirer")
    routes = sorted(r.path for r in portal_routes if not r.api and r.methods & UNSAFE_METHODS)
    assert len(routes) >= 25
    for path in routes:
        url = path.format(
            **{
                name: "1"
                for name in (
                    "txn_id",
                    "ticket_id",
                    "dispute_id",
                    "operator_id",
                    "token_id",
                    "change_id",
                    "flag_id",
                    "user_id",
                    "payout_id",
                )
            }
        )
        response = client.post(url, {"note": "x"}, csrf=False)
        assert response.status_code == 403, url
        header = client.client.post(url, data={"note": "x"}, headers={"X-CSRF-Token": "forged"})
        assert header.status_code == 403, url


def test_htmx_requests_may_send_the_token_as_a_header(portal: Callable[..., Portal]) -> None:
    """The X-CSRF-Token header (what htmx sends) is accepted in place of the form field."""
    client = portal("cafe")
    response = client.client.post(
        "/locale",
        data={"locale": "en", "next": "/"},
        headers={"X-CSRF-Token": client.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_lockout_with_backoff_is_shown_and_enforced(
    portal: Callable[..., Portal], world: World, clock: Clock
) -> None:
    """Five wrong passwords lock the account and the page says until when; after the lock it works."""
    _make_user(world, "locked-out")
    client = portal()
    for _ in range(LOCK_AFTER - 1):
        assert "Wrong user name or password." in client.login("locked-out", "wrong-password-1").text
    locked = client.login("locked-out", "wrong-password-1")
    assert locked.status_code == 401 and "locked until" in locked.text
    refused = client.login("locked-out", "lock-test-pw-1")
    assert refused.status_code == 401 and "locked until" in refused.text
    clock.offset = timedelta(minutes=2)
    try:
        assert client.login("locked-out", "lock-test-pw-1").status_code == 303
    finally:
        clock.offset = timedelta(0)


def test_backoff_doubles_and_an_administrator_can_unlock(portal: Callable[..., Portal], world: World) -> None:
    """Each further failure doubles the lock; the admin's unlock lifts it at once and is audited."""
    _make_user(world, "doubling")
    client = portal()
    for _ in range(LOCK_AFTER):
        client.login("doubling", "wrong-password-1")
    with world.engine.connect() as conn:
        user = get_user(conn, "doubling")
    assert user is not None and user.locked_until is not None
    admin = portal("acquirer")
    page = admin.get("/admin/users")
    assert "doubling" in page.text and "locked" in page.text
    assert admin.post(f"/admin/users/{user.id}/unlock").status_code == 303
    assert client.login("doubling", "lock-test-pw-1").status_code == 303
    with world.engine.connect() as conn:
        actions = [
            r.action for r in conn.execute(select(audit_log).where(audit_log.c.subject == "user:doubling"))
        ]
    assert "user.unlocked" in actions


def test_next_parameter_never_redirects_off_site(portal: Callable[..., Portal]) -> None:
    """A login link with next=//evil.example lands on the dashboard instead."""
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client = portal()
        client.get("/login")
        response = client.post("/login", {"username": "cafe", "password": "poskit-cafe-1", "next": target})
        assert response.headers["location"] == "/", target


def test_sessions_end_after_an_hour_idle(portal: Callable[..., Portal], clock: Clock) -> None:
    """A session not used for over an hour is over."""
    client = portal("cafe-staff")
    clock.offset = timedelta(minutes=61)
    try:
        assert client.get("/transactions", follow_redirects=False).status_code == 303
    finally:
        clock.offset = timedelta(0)


def test_password_change_ends_other_sessions(portal: Callable[..., Portal], world: World) -> None:
    """Changing one's password logs out the other browsers but keeps this one."""
    _make_user(world, "changer", "first-password-1")
    first, second = portal(), portal()
    assert first.login("changer", "first-password-1").status_code == 303
    assert second.login("changer", "first-password-1").status_code == 303
    first.get("/account")
    response = first.post(
        "/account/password",
        {"current": "first-password-1", "new": "second-password-2", "repeat": "second-password-2"},
    )
    assert response.status_code == 303
    assert first.get("/account").status_code == 200
    assert second.get("/account", follow_redirects=False).status_code == 303
    weak = first.post(
        "/account/password", {"current": "second-password-2", "new": "short", "repeat": "short"}
    )
    assert weak.status_code == 303 and "rejected" in first.get("/account").text
    with world.engine.connect() as conn:
        sessions = list(
            conn.execute(
                select(portal_sessions.c.revoked_at).where(
                    portal_sessions.c.user_id == get_user(conn, "changer").id
                )
            )
        )  # type: ignore[union-attr]
    assert any(s.revoked_at is not None for s in sessions)


def test_pages_carry_defensive_headers(portal: Callable[..., Portal]) -> None:
    """A strict Content-Security-Policy (no inline script), no framing, no sniffing."""
    response = portal("cafe").get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text  # every script is a static file


def test_htmx_is_vendored_not_from_a_cdn(portal: Callable[..., Portal]) -> None:
    """htmx 2 is served from /static; no page references a CDN."""
    client = portal("cafe")
    page = client.get("/")
    assert "/static/vendor/htmx-2.0.11.min.js" in page.text and "cdn" not in page.text.lower()
    script = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert script.status_code == 200 and "htmx" in script.text[:200]
    docs = client.get("/docs")
    assert (
        "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in docs.text
        and "cdn" not in docs.text.lower()
    )
