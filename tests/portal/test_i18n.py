"""Chinese and English: the switch, remembered per user, Babel formats, and complete catalogs."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

import poskit.portal
from poskit.i18n import catalog_path
from poskit.portal.i18n import portal_locale
from poskit.portal.vocabulary import VOCABULARY

Portal = World = Any  # fixture types live in conftest.py

_PORTAL = Path(poskit.portal.__file__).parent
_TEMPLATE_CALL = re.compile(r"""_\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)""")


def _template_ids() -> set[str]:
    found = set()
    for path in sorted((_PORTAL / "templates").glob("*.html")):
        for match in _TEMPLATE_CALL.finditer(path.read_text()):
            found.add(ast.literal_eval(match.group(1)))
    return found


def _python_ids() -> set[str]:
    found = set()
    for path in sorted(_PORTAL.rglob("*.py")):
        if "pos" in path.relative_to(_PORTAL).parts:
            continue  # the browser POS has its own catalog
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name == "gettext" and isinstance(node.args[0].value, str):
                    found.add(node.args[0].value)
    return found


def _catalog(locale: str) -> dict[str, str]:
    with catalog_path("portal", locale).open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh, locale=locale) if m.id}


def test_every_message_has_a_chinese_translation() -> None:
    """Every template, code and vocabulary string has a zh_CN translation keeping its placeholders."""
    zh = _catalog("zh_CN")
    wanted = _template_ids() | _python_ids() | set(VOCABULARY)
    assert len(wanted) > 400
    missing = sorted(m for m in wanted if not zh.get(m))
    assert missing == []
    for msgid, text in zh.items():
        assert set(re.findall(r"{\w+}", msgid)) == set(re.findall(r"{\w+}", text)), msgid


def test_switching_language_is_remembered_for_the_user(portal: Callable[..., Portal]) -> None:
    """Choosing 简体中文 turns the pages Chinese, and the next login of the same user is still Chinese."""
    client = portal("cafe-staff")
    assert "Transactions" in client.get("/transactions").text
    client.post("/locale", {"locale": "zh_CN", "next": "/transactions"})
    page = client.get("/transactions").text
    assert "交易查询" in page and 'lang="zh-CN"' in page
    later = portal("cafe-staff")
    assert "交易查询" in later.get("/").text
    later.post("/locale", {"locale": "en", "next": "/"})
    assert "Dashboard" in later.get("/").text


def test_anonymous_visitors_can_switch_the_login_page(portal: Callable[..., Portal]) -> None:
    """Before logging in the choice lives in the session; Accept-Language gives the first guess."""
    client = portal()
    assert "登录" in client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    client.post("/locale", {"locale": "en", "next": "/login"})
    assert "Log in" in client.get("/login").text


def test_money_numbers_and_dates_are_formatted_by_babel() -> None:
    """¥1,234.50 in Chinese, CN¥1,234.50 in English; dates and percentages follow the language."""
    zh, en = portal_locale("zh_CN"), portal_locale("en")
    assert zh.money(123450, "CNY") == "¥1,234.50" and en.money(123450, "CNY") == "CN¥1,234.50"
    assert en.money(500, "USD") == "$5.00"
    assert zh.percent(Decimal("0.857")) == "85.7%" and en.percent(None) == "–"
    assert zh.date(date(2026, 11, 25)) == "2026年11月25日" and en.date(date(2026, 11, 25)) == "Nov 25, 2026"
    moment = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert zh.datetime(moment).startswith("2026年11月25日 07:30")  # shown in the acquirer's zone


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_page_renders_in_both_languages(
    portal: Callable[..., Portal], world: World, locale: str
) -> None:
    """No page breaks in either language (all placeholders filled, nothing missing)."""
    client = portal("acquirer")
    client.post("/locale", {"locale": locale, "next": "/"})
    for url in (
        "/",
        "/transactions",
        f"/transactions/{world.txns['cafe_voided']}",
        "/unsigned",
        "/terminals",
        "/terminals/PT000001",
        "/settlements",
        "/payouts",
        f"/fees?merchant={world.cafe_id}",
        f"/statements?merchant={world.cafe_id}",
        "/disputes",
        f"/disputes/{world.noodle['dispute']}",
        "/support",
        f"/support/tickets/{world.noodle['ticket']}",
        "/merchants",
        f"/merchants/{world.cafe_id}",
        "/review",
        "/review/changes",
        "/review/flags?status=all",
        "/admin/users",
        "/admin/audit",
        "/account",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not re.search(r"{[a-z_]+}", response.text), url  # every placeholder filled
    client.post("/locale", {"locale": "en", "next": "/"})
