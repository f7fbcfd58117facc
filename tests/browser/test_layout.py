"""The portal's pages at 1280 px, in Chinese and in English: nothing overflows, amounts never wrap.

Each page is photographed (full page) into the test's tmp directory; a failing assertion
names the screenshot so a person can see what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tests.browser.conftest import DESKTOP, log_in

from poskit.portal.accounts import create_user
from poskit.store.db import WRITE
from poskit.store.schema import merchants

pytestmark = pytest.mark.browser

LANGUAGES = ("zh_CN", "en")
OWNER = ("layout-owner", "Layout-Owner-Passw0rd")
REVIEWER = ("layout-review", "Layout-Review-Passw0rd")
MERCHANT_PAGES = (
    "/",
    "/transactions",
    "/transactions/{sale}",
    "/unsigned",
    "/statements/{period}",
    "/disputes",
    "/fees",
    "/merchant",
    "/support",
)
ACQUIRER_PAGES = ("/review/changes", "/transactions", "/review/disputes", "/disputes", "/", "/merchants")

#: Layout problems on the page, as sentences: boxes wider than their box, amounts on two lines.
_PROBLEMS_JS = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    problems.push(`the page scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
  }
  const label = (el) =>
    `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${el.textContent.trim().slice(0, 40)}"`;
  for (const el of document.querySelectorAll('.table-wrap, .card, .kpi, .kpi-value, .num, .filters')) {
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push(`overflows its box (${el.scrollWidth} > ${el.clientWidth}): ${label(el)}`);
    }
  }
  for (const el of document.querySelectorAll('.num, .kpi-value')) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0).sort((a, b) => a.top - b.top);
    let lines = 0, bottom = -Infinity;
    for (const r of rects) {
      if (r.top >= bottom - 1) { lines += 1; bottom = r.bottom; }
      else { bottom = Math.max(bottom, r.bottom); }
    }
    if (lines > 1) problems.push(`wraps onto ${lines} lines: ${label(el)}`);
  }
  return problems;
}"""

#: Buttons that must be fully visible without scrolling sideways (not clipped by a scrolling table).
_HIDDEN_BUTTONS_JS = """(selector) => {
  const hidden = [];
  const width = document.documentElement.clientWidth;
  for (const button of document.querySelectorAll(selector)) {
    const box = button.getBoundingClientRect();
    let clipped = box.left < 0 || box.right > width || box.width === 0;
    for (let el = button.parentElement; el && !clipped; el = el.parentElement) {
      const style = getComputedStyle(el);
      if (style.overflowX !== 'visible') {
        const outer = el.getBoundingClientRect();
        clipped = box.left < outer.left - 1 || box.right > outer.right + 1;
      }
    }
    const where = `${Math.round(box.left)}..${Math.round(box.right)}`;
    if (clipped) hidden.push(`${button.textContent.trim()} at x ${where}`);
  }
  return hidden;
}"""


@pytest.fixture(scope="module")
def layout_users(host_db: Any) -> Iterator[None]:
    """A cafe owner and an acquirer reviewer of the layout tests' own (their language is theirs to switch)."""
    with host_db.connect().execution_options(**WRITE) as conn, conn.begin():
        cafe = conn.execute(
            select(merchants.c.id).where(merchants.c.merchant_no == "898310058120001")
        ).scalar_one()
        create_user(conn, username=OWNER[0], password=OWNER[1], role="merchant_owner", merchant_id=cafe)
        create_user(conn, username=REVIEWER[0], password=REVIEWER[1], role="acquirer_staff")
    yield


def _switch_language(page: Any, code: str) -> None:
    with page.expect_navigation():
        page.click(f"form.lang button[value='{code}']")
    assert page.get_attribute("html", "lang") == ("zh-CN" if code == "zh_CN" else "en")


def _check_page(page: Any, url: str, shot: Path) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    assert page.viewport_size == DESKTOP
    page.screenshot(path=str(shot), full_page=True, animations="disabled")
    problems = page.evaluate(_PROBLEMS_JS)
    assert problems == [], f"{url} at 1280 px (screenshot {shot}): {problems}"


@pytest.fixture(scope="module")
def layout_data(
    live: Any,
    layout_users: None,
    pay: Callable[..., Any],
    txn_id: Callable[[str], int],
    chromium_context: Any,
) -> dict[str, str]:
    """Large amounts, a fee dispute and a pending change request; the statement period and a sale."""
    sale = txn_id(pay("6303.50", "magstripe-debit", pin="654321").rrn)
    pay("12888.00", "unionpay-credit", entry="chip")
    pay("1.00", "magstripe-debit", pin="654321")
    tab = chromium_context.new_page()
    tab.set_viewport_size(DESKTOP)
    try:
        log_in(tab, live.url, *OWNER, next_path="/fees")
        tab.goto(f"{live.url}/transactions")
        tab.locator("table.data tbody tr a[href^='/transactions/']").first.click()
        tab.wait_for_load_state()
        tab.locator("a[href^='/disputes/new?fee_line=']").first.click()
        tab.wait_for_load_state()
        tab.fill("textarea[name=reason]", "The contract rate for debit cards is lower")
        tab.fill("input[name=amount]", "0.30")
        with tab.expect_navigation():
            tab.click("form[action='/disputes'] button[type=submit]")
        tab.goto(f"{live.url}/merchant")
        tab.select_option("select[name=field]", "address")
        tab.fill(
            "input[name=new_value]",
            "上海市静安区南京西路1266号恒隆广场一座二十八楼2801室"
            " / Unit 2801, Plaza 66 Tower 1, 1266 Nanjing West Road",
        )
        tab.fill("input[name=reason]", "The cafe moves to a larger place with a long address")
        with tab.expect_navigation():
            tab.click("form[action='/merchant/changes'] button[type=submit]")
        assert tab.locator(".flash.ok").count() == 1, tab.inner_text("main")
    finally:
        tab.close()
    # Statement months are the acquirer's (Asia/Shanghai), where its daily cut-off is.
    period = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    return {"period": period, "sale": str(sale)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_merchant_pages_fit_1280(
    page: Any, live: Any, layout_data: dict[str, str], language: str, tmp_path: Path
) -> None:
    """The merchant's pages (dashboard, transactions, a sale, statement, fees ...) at 1280 px fit."""
    log_in(page, live.url, *OWNER)
    _switch_language(page, language)
    for path in MERCHANT_PAGES:
        url = live.url + path.format(**layout_data)
        name = path.strip("/").replace("/", "-").strip("{}").replace("-{", "-") or "dashboard"
        _check_page(page, url, tmp_path / f"merchant-{name}-{language}.png")


@pytest.mark.parametrize("language", LANGUAGES)
def test_acquirer_pages_fit_1280(
    page: Any, live: Any, layout_data: dict[str, str], language: str, tmp_path: Path
) -> None:
    """The change review (Approve/Reject visible), transactions and disputes of acquirer staff at 1280 px."""
    log_in(page, live.url, *REVIEWER)
    _switch_language(page, language)
    for path in ACQUIRER_PAGES:
        name = path.strip("/").replace("/", "-")
        shot = tmp_path / f"acquirer-{name}-{language}.png"
        _check_page(page, live.url + path, shot)
        if path == "/review/changes":
            buttons = page.locator("button[name=decision]")
            assert buttons.count() >= 2, f"no pending change to decide (screenshot {shot})"
            hidden = page.evaluate(_HIDDEN_BUTTONS_JS, "button[name=decision]")
            assert hidden == [], f"Approve/Reject not visible at 1280 px (screenshot {shot}): {hidden}"
