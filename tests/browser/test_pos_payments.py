"""Payments on the browser POS in Chromium, seen afterwards in the merchant portal."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
Shoot = Callable[..., Path]
Login = Callable[..., None]


def test_chip_and_pin_sale_appears_in_transactions_with_its_fee(
    page: Any, live: Any, login: Login, pos: Callable[[str], Any], shoot: Shoot
) -> None:
    """A chip card inserted with its PIN is approved, prints both copies and is listed with its fee."""
    login("cafe", next_path="/pos/10000001")
    assert page.url.endswith("/pos/10000001")
    driver = pos("10000001")
    driver.open()
    shoot(page, "pos-idle")
    assert "CNY 123.45" in driver.start_sale("12345")
    shoot(page, "pos-present-card", full_page=False)
    driver.present("unionpay-debit", "chip")
    driver.enter_pin("123456")
    result = driver.result()
    assert result["status"] == "approved", result
    assert result["Entry"] == "chip" and result["Amount"] == "CNY 123.45"
    assert result["Card"].endswith("6789") and "*" in result["Card"]
    rrn = result["Reference no."]
    assert re.fullmatch(r"\d{12}", rrn)
    assert driver.prompts()[:4] == ["amount", "confirm", "card", "pin"]
    copies = driver.receipts()
    assert len(copies) == 2 and all("CNY 123.45" in c and "/I" in c for c in copies)
    assert "6222021001123456789" not in page.content()  # never the full card number
    shoot(page, "pos-chip-pin-approved")

    page.goto(f"{live.url}/transactions")
    row = page.locator("table.data tbody tr", has_text=rrn)
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert any("123.45" in c for c in cells)
    assert any(re.search(r"0\.62\b", c) for c in cells), cells  # 0.50% of 123.45 (debit)
    shoot(page, "portal-transactions")

    row.locator("a").first.click()
    page.wait_for_load_state()
    assert "0.50%" in page.content() and "0.62" in page.content()  # the fee with its formula
    shoot(page, "portal-transaction-detail")


def test_small_tap_payment_needs_no_pin(
    page: Any, live: Any, login: Login, pos: Callable[[str], Any], shoot: Shoot
) -> None:
    """A small contactless payment is approved with neither PIN nor signature (QPS), on a phone screen."""
    page.set_viewport_size(PHONE)
    login("cafe-staff", next_path="/pos/10000001")
    driver = pos("10000001")
    driver.open()
    shoot(page, "pos-phone-idle", full_page=False)
    driver.start_sale("3500")
    driver.present("unionpay-debit", "tap")
    result = driver.result()
    assert result["status"] == "approved", result
    assert result["Entry"] == "tap" and result["Amount"] == "CNY 35.00"
    assert "pin" not in driver.prompts() and "signature" not in driver.prompts()
    merchant_copy = driver.receipts()[-1]
    assert "NO SIGNATURE REQUIRED" in merchant_copy and "/C" in merchant_copy
    page.locator("#screen").scroll_into_view_if_needed()
    shoot(page, "pos-phone-tap-approved", full_page=False)


def test_sign_an_unsigned_transaction_later(
    page: Any, live: Any, login: Login, pos: Callable[[str], Any], shoot: Shoot
) -> None:
    """A skipped signature leaves the sale unsigned; 补签 from the terminal's menu signs it."""
    login("cafe", next_path="/pos/10000001")
    driver = pos("10000001")
    driver.open()
    driver.start_sale("4200")
    driver.present("unionpay-credit", "chip")
    driver.wait_prompt("pin")
    driver.key("enter")  # no PIN: this credit card accepts a signature instead
    driver.wait_prompt("signature")
    shoot(page, "pos-signature-pad", full_page=False)
    page.click("#sig-skip")
    result = driver.result()
    assert result["status"] == "approved", result
    voucher = result["Voucher"]
    driver.dismiss()

    driver.function("unsigned")
    driver.wait_prompt("choose")
    choice = page.locator("#screen [data-choice]", has_text=voucher)
    assert choice.count() == 1
    choice.click()
    driver.sign()
    signed = driver.result()
    assert signed["status"] == "approved", signed
    shoot(page, "pos-signed-later", full_page=False)
    driver.dismiss()
    driver.function("unsigned")
    assert voucher not in (driver.result().get("message", "") + page.inner_text("#screen"))


def test_pos_in_chinese_on_a_phone(
    page: Any, live: Any, login: Login, pos: Callable[[str], Any], shoot: Shoot
) -> None:
    """In Chinese the keys, prompts and the engine's messages read in Chinese; no card means no payment."""
    page.set_viewport_size(PHONE)
    login("cafe", next_path="/pos/10000001?lang=zh_CN")
    driver = pos("10000001")
    driver.open(lang="zh_CN")
    assert page.inner_text('.fkeys [data-fn="sale"]') == "消费"
    assert page.inner_text('#keypad [data-key="enter"]') == "确认"
    question = driver.start_sale("999")
    assert question == "金额 CNY 9.99，请确认"
    assert "刷卡" in page.inner_text("#title")
    shoot(page, "pos-phone-zh-present-card", full_page=False)
    driver.key("cancel")
    result = driver.result()
    assert result["status"] == "failed"
    assert "未读到卡片" in result["message"]


def test_a_terminal_is_driven_from_one_window_at_a_time(
    page: Any, live: Any, login: Login, pos: Callable[[str], Any]
) -> None:
    """A second window on the same terminal is told it is in use; it works once the first one closes."""
    config = live.services.portal.config.app.state.pos
    saved, config.takeover_wait = config.takeover_wait, 0.5
    try:
        login("cafe", next_path="/pos/10000001")
        pos("10000001").open()
        second = page.context.new_page()
        try:
            second.goto(f"{live.url}/pos/10000001")
            second.wait_for_selector('#screen[data-mode="fatal"]')
            assert "another window" in second.inner_text("#message")
            page.close()
            second.reload()
            second.wait_for_selector('#screen[data-mode="idle"]')
        finally:
            second.close()
    finally:
        config.takeover_wait = saved
