"""No English validation text or raw minor units inside the Chinese portal."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from poskit.i18n import catalog_path
from poskit.ledger.disputes import DisputeError
from poskit.money import Amount
from poskit.portal.accounts import create_user
from poskit.portal.errors import DETAIL_LABELS, FIELD_LABELS, PROBLEMS, refusal_text, validation_problems
from poskit.portal.i18n import portal_locale
from poskit.store.db import WRITE
from poskit.store.schema import fee_lines

Portal = World = Any  # fixture types live in conftest.py

PASSWORD = "Errors-Test-Passw0rd"
#: Words pydantic, FastAPI or the ledger say in English; none may appear on a Chinese page.
_ENGLISH = re.compile(
    r"String should|Field required|Input should|should have|is more than|must be|claimed|"
    r"invalid or missing|\bamount: \d",
    re.IGNORECASE,
)


def _zh_catalog() -> dict[str, str]:
    with catalog_path("portal", "zh_CN").open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh, locale="zh_CN") if m.id}


@pytest.fixture(scope="module")
def chinese_cafe_user(world: World) -> str:
    """A cafe owner whose portal language is 简体中文."""
    with world.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        create_user(
            conn,
            username="errors-zh",
            password=PASSWORD,
            role="merchant_owner",
            merchant_id=world.cafe_id,
            locale="zh_CN",
        )
    return "errors-zh"


def _client(portal: Callable[..., Portal], username: str) -> Portal:
    client = portal()
    assert client.login(username, PASSWORD).status_code == 303
    client.get("/")
    return client


def _fee_line(world: World, name: str) -> int:
    with world.engine.connect() as conn:
        return int(
            conn.execute(
                select(fee_lines.c.id).where(fee_lines.c.transaction_id == world.txns[name])
            ).scalar_one()
        )


def _main(html: str) -> str:
    """The page's main content as text (the flash messages included), without tags."""
    body = html.split('<main id="main">', 1)[-1].split("</main>", 1)[0]
    return re.sub(r"<[^>]+>", " ", body)


def test_invalid_form_fields_are_named_and_explained_in_chinese(
    portal: Callable[..., Portal], world: World, chinese_cafe_user: str
) -> None:
    """A too-long amount and no reason: a 422 page naming 金额 and 原因 in Chinese, no pydantic text."""
    client = _client(portal, chinese_cafe_user)
    fee_line = _fee_line(world, "cafe_pin")
    client.get(f"/disputes/new?fee_line={fee_line}")
    response = client.post(
        "/disputes",
        {"fee_line": str(fee_line), "amount": "7" * 25},
        headers={"Referer": f"https://testserver/disputes/new?fee_line={fee_line}"},
    )
    assert response.status_code == 422
    text = _main(response.text)
    assert "金额：超过 20 个字符" in text
    assert "原因：必填" in text
    assert f'href="/disputes/new?fee_line={fee_line}"' in response.text  # back to the form
    assert not _ENGLISH.search(text), text


def test_a_refused_dispute_says_why_in_chinese_with_money(
    portal: Callable[..., Portal], world: World, chinese_cafe_user: str
) -> None:
    """Claiming more than the fee: the flash shows both amounts as ¥ money, not ``claimed 750 ...``."""
    client = _client(portal, chinese_cafe_user)
    fee_line = _fee_line(world, "cafe_pin")
    response = client.post(
        "/disputes", {"fee_line": str(fee_line), "amount": "7.50", "reason": "太贵了"}, follow_redirects=True
    )
    text = _main(response.text)
    assert "争议未提交" in text or "未" in text
    assert "申请金额 ¥7.50 超过该笔手续费 ¥" in text, text
    assert not _ENGLISH.search(text), text
    assert "750" not in text


def test_a_past_effective_date_is_refused_in_chinese(
    portal: Callable[..., Portal], chinese_cafe_user: str
) -> None:
    """A change request dated yesterday is refused with a Chinese reason."""
    client = _client(portal, chinese_cafe_user)
    client.get("/merchant")
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    response = client.post(
        "/merchant/changes",
        {"field": "city", "new_value": "Hangzhou", "effective_from": yesterday},
        follow_redirects=True,
    )
    text = _main(response.text)
    assert "生效日期不能早于今天" in text, text
    assert "the effective date" not in text


def test_the_dispute_timeline_shows_money_not_minor_units(
    portal: Callable[..., Portal], world: World, chinese_cafe_user: str
) -> None:
    """The opened event's details read 手续费明细 … 金额：¥0.62, not ``fee_line: (… amount: 62)``."""
    client = _client(portal, chinese_cafe_user)
    fee_line = _fee_line(world, "cafe_pin")
    opened = client.post("/disputes", {"fee_line": str(fee_line), "reason": "合同费率较低"})
    assert opened.status_code == 303 and opened.headers["location"].startswith("/disputes/")
    page = client.get(opened.headers["location"]).text
    text = _main(page)
    assert "手续费明细：" in text and "金额：¥" in text, text
    assert not re.search(r"\bamount: ", text) and "fee_line" not in text


def test_every_validation_and_detail_message_has_a_chinese_translation() -> None:
    """Every label and problem the errors module can show is in the zh_CN catalog."""
    zh = _zh_catalog()
    wanted = set(FIELD_LABELS.values()) | set(PROBLEMS.values()) | set(DETAIL_LABELS.values())
    wanted |= {"is not valid", "{field}: {problem}", "The form was not sent: correct these fields."}
    assert sorted(m for m in wanted if not zh.get(m)) == []


def test_ledger_refusals_translate_with_their_amounts() -> None:
    """A ledger refusal carries its message id and amounts; the portal shows them in its language."""
    exc = DisputeError(
        "claimed {claimed} is more than the fee line's {fee}",
        claimed=Amount.of(750, "CNY"),
        fee=Amount.of(62, "CNY"),
    )
    assert exc.reason == "claimed CNY 7.50 is more than the fee line's CNY 0.62"
    assert refusal_text(portal_locale("zh_CN"), exc) == "申请金额 ¥7.50 超过该笔手续费 ¥0.62"
    assert refusal_text(portal_locale("en"), exc) == "claimed CN¥7.50 is more than the fee line's CN¥0.62"
    problems = validation_problems(
        portal_locale("zh_CN"),
        [{"type": "greater_than_equal", "loc": ("body", "transaction"), "ctx": {"ge": 1}}],
    )
    assert problems == ["交易：不能小于 1"]


def test_a_transactions_response_reads_in_the_pages_language(
    portal: Callable[..., Portal], world: World, chinese_cafe_user: str
) -> None:
    """The sale's response row says 00 承兑或交易成功 in Chinese, not the host's English ``approved``."""
    client = _client(portal, chinese_cafe_user)
    text = _main(client.get(f"/transactions/{world.txns['cafe_pin']}").text)
    assert "00 承兑或交易成功" in text
    assert "00 approved" not in text
