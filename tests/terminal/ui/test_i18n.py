"""The terminal app's catalogs: complete, consistent placeholders, engine messages translated."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from poskit.i18n import catalog_path
from poskit.terminal.ui.i18n import DOMAIN, UiText

UI_SOURCE = Path(__file__).parents[3] / "src" / "poskit" / "terminal" / "ui"
_TEXT_CALLS = {"_", "t", "text"}
# helpers and screens whose string arguments (and lists of strings) are shown through the translator
_SHOWN_ARGS = {
    "_text",
    "_voucher",
    "_amount",
    "_supervisor",
    "_not_available",
    "ConfirmScreen",
    "ChoiceScreen",
    "TextEntryScreen",
    "BusyScreen",
    "AmountScreen",
}
_TITLE_FIRST = {"_call", "_transaction"}  # (title, engine method name, ...)
_TEXT_KEYWORDS = {"title", "prompt"}
_TEXT_ASSIGNMENTS = {"TITLE", "HINTS"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog(locale: str) -> dict[str, str]:
    with catalog_path(DOMAIN, locale).open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh, locale=locale, domain=DOMAIN) if m.id}


def _ui_message_ids() -> set[str]:
    """String literals the UI passes to its translator, screen titles, hints, menu labels and prompts."""
    found: set[str] = set()
    for path in UI_SOURCE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else ""
                )
                if name in _TEXT_CALLS and node.args and isinstance(node.args[0], ast.Constant):
                    found.add(node.args[0].value)
                if name == "MenuItem" and isinstance(node.args[2], ast.Constant):
                    found.add(node.args[2].value)
                if name in _TITLE_FIRST and node.args and isinstance(node.args[0], ast.Constant):
                    found.add(node.args[0].value)
                if name in _SHOWN_ARGS:
                    for arg in node.args:
                        items = arg.elts if isinstance(arg, ast.List) else [arg]
                        found.update(i.value for i in items if isinstance(i, ast.Constant))
                for keyword in node.keywords:
                    if keyword.arg in _TEXT_KEYWORDS and isinstance(keyword.value, ast.Constant):
                        found.add(keyword.value.value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                if any(isinstance(t, ast.Name) and t.id in _TEXT_ASSIGNMENTS for t in node.targets):
                    found.add(node.value.value)
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.List)
                and any(isinstance(t, ast.Name) and t.id == "options" for t in node.targets)
            ):
                found.update(e.value for e in node.value.elts if isinstance(e, ast.Constant))
    return {s for s in found if isinstance(s, str) and s.strip()}


def test_every_ui_text_has_a_chinese_translation() -> None:
    """Each message id the screens use is in the zh_CN catalog with a non-empty translation."""
    zh = _catalog("zh_CN")
    missing = sorted(m for m in _ui_message_ids() if not zh.get(m))
    assert not missing, missing


def test_both_catalogs_have_the_same_ids_and_placeholders() -> None:
    """en and zh_CN list the same messages, and each translation keeps the id's {placeholders}."""
    zh, en = _catalog("zh_CN"), _catalog("en")
    assert set(zh) == set(en)
    for msgid, text in zh.items():
        assert set(_PLACEHOLDER.findall(text)) == set(_PLACEHOLDER.findall(msgid)), msgid


def test_engine_messages_are_translated_exactly_or_by_template() -> None:
    """Fixed engine texts and filled-in templates come out in Chinese; unknown text stays English."""
    zh = UiText("zh")
    assert zh.engine("network not connected: check the cable or SIM, then retry").startswith("网络未连接")
    assert zh.engine("Amount CNY 1,234.50 — confirm?") == "金额 CNY 1,234.50，请确认"
    assert zh.engine("CNY 8.00  Enter PIN (or bypass)") == "CNY 8.00  请输入密码（或跳过）"
    assert zh.engine("Operator 02 signed in") == "操作员 02 已签到"
    assert zh.engine("something new from the engine") == "something new from the engine"
    assert zh.response("51") != UiText("en").response("51")


@pytest.mark.parametrize("value", ["zh", "zh-CN", "zh_cn", "ZH"])
def test_language_names_are_normalised(value: str) -> None:
    """zh in any spelling selects Chinese; switching back to en works at runtime."""
    text = UiText(value)
    assert text.chinese and text("Sale") == "消费"
    text.set_locale("en")
    assert not text.chinese and text("Sale") == "Sale"
