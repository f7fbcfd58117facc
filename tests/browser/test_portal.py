"""The merchant portal in Chromium: logging in, lockout, tenant isolation, disputes, 补签."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from poskit.portal.accounts import LOCK_AFTER, create_user
from poskit.store.db import WRITE
from poskit.store.schema import merchants

pytestmark = pytest.mark.browser

Shoot = Callable[..., Path]
Login = Callable[..., None]


def test_log_in_and_out(page: Any, live: Any, login: Login, shoot: Shoot) -> None:
    """The login page takes the merchant in, shows who is logged in, and logging out ends the session."""
    page.goto(f"{live.url}/transactions")
    assert "/login" in page.url  # nothing without a session
    shoot(page, "portal-login")
    login("cafe", next_path="/")
    assert "/login" not in page.url
    assert "Happy Bean" in page.content() or "快乐豆" in page.content()
    shoot(page, "portal-dashboard")
    page.goto(f"{live.url}/pos")
    assert page.locator("a[href^='/pos/10000001']").count() == 1  # my terminals, to open in the browser
    assert page.locator("a[href^='/pos/20000001']").count() == 0
    page.goto(f"{live.url}/transactions")
    with page.expect_navigation():
        page.locator("form[action='/logout'] button").first.click()
    page.goto(f"{live.url}/transactions")
    assert "/login" in page.url


def test_wrong_passwords_lock_the_account(
    page: Any, live: Any, login: Login, host_db: Any, shoot: Shoot
) -> None:
    """After five wrong passwords the account is locked, and even the right password is refused."""
    password = "right-Passw0rd"
    with host_db.connect().execution_options(**WRITE) as conn, conn.begin():
        cafe = conn.execute(
            select(merchants.c.id).where(merchants.c.merchant_no == "898310058120001")
        ).scalar_one()
        create_user(conn, username="locktest", password=password, role="merchant_staff", merchant_id=cafe)
    for attempt in range(LOCK_AFTER):
        login("locktest", f"wrong-{attempt}")
        assert "/login" in page.url or page.locator("form[action='/login']").count() == 1
    alert = page.locator("[role=alert]")
    assert "locked" in alert.inner_text().lower()
    shoot(page, "portal-login-locked")
    login("locktest", password)
    assert page.locator("form[action='/login']").count() == 1
    assert "locked" in page.locator("[role=alert]").inner_text().lower()
    page.goto(f"{live.url}/transactions")
    assert "/login" in page.url


def test_another_merchants_urls_are_404(
    page: Any, live: Any, login: Login, pay: Callable[..., Any], txn_id: Callable[[str], int]
) -> None:
    """The noodle house cannot reach the cafe's transaction, terminal or POS: each is simply not found."""
    cafe_rrn = pay("16.00", "magstripe-debit", pin="654321").rrn
    cafe_txn = txn_id(cafe_rrn)
    login("noodle", next_path="/transactions")
    assert cafe_rrn not in page.content()
    for path in (
        f"/transactions/{cafe_txn}",
        f"/transactions/{cafe_txn}/receipt.txt",
        f"/transactions/{cafe_txn}/sign",
        f"/disputes/new?transaction={cafe_txn}",
        "/terminals/10000001",
        "/pos/10000001",
        "/pos/10000002",
        "/pos/99999999",
    ):
        response = page.goto(f"{live.url}{path}")
        assert response is not None and response.status == 404, path
    # Nor can the noodle house drive the cafe's terminal over its WebSocket.
    outcome = page.evaluate(
        """url => new Promise(resolve => {
            const ws = new WebSocket(url);
            ws.onopen = () => resolve('open');
            ws.onclose = (e) => resolve('closed ' + e.code);
            ws.onerror = () => {};
        })""",
        live.url.replace("http", "ws") + "/pos/10000001/ws",
    )
    assert outcome.startswith("closed"), outcome
    # Its own terminal opens.
    response = page.goto(f"{live.url}/pos/20000001")
    assert response is not None and response.status == 200


def test_open_a_fee_dispute(
    page: Any,
    live: Any,
    login: Login,
    pay: Callable[..., Any],
    txn_id: Callable[[str], int],
    shoot: Shoot,
) -> None:
    """From a transaction's fee breakdown the merchant opens a dispute about the fee and can follow it."""
    rrn = pay("250.00", "magstripe-debit", pin="654321").rrn
    login("cafe", next_path=f"/transactions/{txn_id(rrn)}")
    assert "0.50%" in page.content()  # the fee's formula, 0.50% of 250.00 = 1.25
    shoot(page, "portal-fee-breakdown")
    page.locator("a[href^='/disputes/new?fee_line=']").first.click()
    page.wait_for_load_state()
    page.fill("textarea[name=reason]", "My contract says 0.38% for debit cards")
    page.fill("input[name=amount]", "0.30")
    with page.expect_navigation():
        page.click("form[action='/disputes'] button[type=submit]")
    assert "/disputes/" in page.url
    assert "0.38%" in page.content()
    shoot(page, "portal-dispute-opened")
    page.goto(f"{live.url}/disputes")
    assert page.locator("a[href^='/disputes/']", has_text="").count() >= 1


def test_sign_an_unsigned_transaction_in_the_portal(
    page: Any,
    live: Any,
    login: Login,
    pay: Callable[..., Any],
    txn_id: Callable[[str], int],
    shoot: Shoot,
) -> None:
    """A chip sale with neither PIN nor signature is listed as unsigned; the merchant gets it signed here."""
    outcome = pay("66.00", "unionpay-credit", entry="chip")  # PIN bypassed, no signature pad
    assert outcome.receipt is not None and outcome.receipt.signature_required
    txn = txn_id(outcome.rrn)
    login("cafe-staff", next_path="/unsigned")
    row = page.locator("table.data tbody tr", has_text=outcome.rrn)
    assert row.count() == 1
    shoot(page, "portal-unsigned")
    row.locator(f"a[href='/transactions/{txn}/sign']").click()
    page.wait_for_load_state()
    canvas = page.locator("canvas#signpad")
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + box["height"] / 2)
    page.mouse.down()
    for i in range(1, 25):
        page.mouse.move(box["x"] + 30 + i * 18, box["y"] + box["height"] / 2 + (30 if i % 2 else -30))
    page.mouse.up()
    shoot(page, "portal-sign")
    with page.expect_navigation():
        page.click("#signpad-save")
    assert page.url.endswith(f"/transactions/{txn}")
    page.goto(f"{live.url}/unsigned")
    assert page.locator("table.data tbody tr", has_text=outcome.rrn).count() == 0
    response = page.goto(f"{live.url}/transactions/{txn}/signature.png")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("image/png")
