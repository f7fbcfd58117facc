"""The terminal app in 中文 mode: test cards, result and decline screens, operator sign-out."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from babel.messages.pofile import read_po
from rich.cells import cell_len
from tests.terminal.ui.test_app import SIZE, press, text_of
from textual.pilot import Pilot
from textual.widgets import OptionList

from poskit.cards.book import CARD_BOOK
from poskit.i18n import catalog_path
from poskit.terminal.ui.admin_screens import MenuScreen
from poskit.terminal.ui.app import PosApp
from poskit.terminal.ui.flows import ADVICE, CODE_ADVICE, decline_advice
from poskit.terminal.ui.screens import AmountScreen, ChoiceScreen, ConfirmScreen, PinScreen, TextEntryScreen
from poskit.terminal.ui.txn_screens import CardScreen, ResultScreen, SignatureScreen

#: Chip data an engineer reads (``poskit pay --json``), never a cashier's result screen.
_CHIP_WORDS = re.compile(r"\b(cvm|tvr|tsi|aid|oda|cryptogram_type|application_cryptogram)\b", re.IGNORECASE)


def _zh_terminal_catalog() -> dict[str, str]:
    with catalog_path("terminal", "zh_CN").open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh, locale="zh_CN") if m.id}


async def _chinese_sale(
    pilot: Pilot[Any], wait_for: Callable[..., Any], digits: str, card: str, entry: str, pin: str
) -> Any:
    """Menu 1 in 中文 mode: amount, confirm, present ``card`` by ``entry`` key, PIN; the next screen."""
    await wait_for(pilot, MenuScreen)
    await press(pilot, "1")
    await wait_for(pilot, AmountScreen)
    await press(pilot, *digits, "enter")
    await wait_for(pilot, ConfirmScreen)
    await press(pilot, "enter")
    card_screen = await wait_for(pilot, CardScreen)
    card_screen.select_card(card)
    await press(pilot, entry)
    await wait_for(pilot, PinScreen)
    await press(pilot, *pin, "enter")
    return await wait_for(pilot, (ResultScreen, SignatureScreen))


def test_every_test_card_and_advice_has_a_chinese_text() -> None:
    """Each test card's description and each decline advice is in the terminal's zh_CN catalog."""
    zh = _zh_terminal_catalog()
    wanted = {c.description for c in CARD_BOOK} | set(ADVICE.values()) | set(CODE_ADVICE.values())
    assert sorted(m for m in wanted if not zh.get(m)) == []


def test_decline_advice_follows_the_code() -> None:
    """Insufficient funds asks for less or another card; pick-up says keep the card; Z1 blames the card."""
    assert "smaller amount" in decline_advice("51")
    assert "Keep the card" in decline_advice("04") and "Keep the card" in decline_advice("34")
    assert "right PIN" in decline_advice("55")
    assert "card itself" in decline_advice("Z1")
    assert decline_advice("Q9") == ADVICE[next(iter(ADVICE))]  # unknown: a plain decline


async def test_card_screen_describes_the_test_cards_in_chinese(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """In 中文 mode the test-card list reads 银联借记卡，芯片 + 闪付 …, not the English descriptions."""
    app = make_app(self_test_on_start=False, language="zh_CN")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, MenuScreen)
        await press(pilot, "1")
        await wait_for(pilot, AmountScreen)
        await press(pilot, "1", "enter")
        await wait_for(pilot, ConfirmScreen)
        await press(pilot, "enter")
        screen = await wait_for(pilot, CardScreen)
        options = screen.query_one("#cards", OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert shown[0] == "unionpay-debit — 银联借记卡，芯片 + 闪付，联机密码（PVV）"
        for card, line in zip(CARD_BOOK, shown, strict=True):
            assert card.description not in line, line


async def test_a_chip_decline_says_why_and_what_to_do_without_chip_data(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """A wrong PIN on a chip card in 中文: 交易拒绝, 密码错 (55), what to do; no cvm/tvr/tsi on screen."""
    app = make_app(self_test_on_start=False, language="zh_CN")
    async with app.run_test(size=SIZE) as pilot:
        result = await _chinese_sale(pilot, wait_for, "1200", "unionpay-debit", "i", "999999")
        assert isinstance(result, ResultScreen)
        assert text_of(result, "#banner") == "交易拒绝"
        message = text_of(result, "#message")
        assert message == "交易拒绝：密码错 (55)\n请持卡人重新输入正确的密码"
        details = text_of(result, "#details")
        assert "应答码" in details and "卡号" in details
        screen_text = app.export_screenshot()
        assert not _CHIP_WORDS.search(details) and not _CHIP_WORDS.search(screen_text)
        assert not any(_CHIP_WORDS.search(k) for k, _ in result.view.details)


async def test_an_approved_chip_sale_reads_chinese(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """An approved chip sale in 中文: 交易成功, Chinese labels lined up, no raw chip fields."""
    app = make_app(self_test_on_start=False, language="zh_CN")
    async with app.run_test(size=SIZE) as pilot:
        result = await _chinese_sale(pilot, wait_for, "1400", "unionpay-debit", "i", "123456")
        assert isinstance(result, ResultScreen), type(result)
        assert text_of(result, "#banner") == "交易成功" and text_of(result, "#message") == "交易成功"
        lines = text_of(result, "#details").splitlines()
        assert [line.split()[0] for line in lines[:3]] == ["金额", "卡号", "凭证号"]
        # every value starts in the same terminal column, a Chinese character being two cells wide
        value_columns = {cell_len(line) - cell_len(line.split(maxsplit=1)[1]) for line in lines}
        assert len(value_columns) == 1, lines
        assert not any(_CHIP_WORDS.search(k) for k, _ in result.view.details)


async def test_operator_sign_out_is_done_not_a_successful_payment_in_chinese(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """Signing out in 中文: 完成 and 操作员 01 已签退, never 交易成功; a sale then asks no amount."""
    app = make_app(self_test_on_start=False, language="zh_CN")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, MenuScreen)
        await press(pilot, "9")
        await wait_for(pilot, ChoiceScreen)
        await press(pilot, "1")
        result = await wait_for(pilot, ResultScreen)
        assert text_of(result, "#banner") == "完成"
        assert text_of(result, "#message") == "操作员 01 已签退"
        assert "交易成功" not in app.export_screenshot()
        await press(pilot, "enter")
        await wait_for(pilot, MenuScreen)
        await press(pilot, "1")
        refused = await wait_for(pilot, ResultScreen)
        assert not any(isinstance(s, AmountScreen) for s in app.screen_stack)
        assert "操作员" in text_of(refused, "#message") and text_of(refused, "#banner") == "交易未完成"


@pytest.mark.parametrize("code", sorted(CODE_ADVICE))
def test_code_advice_overrides_the_action(code: str) -> None:
    """Codes with their own advice get it, not their action's general one."""
    assert decline_advice(code) == CODE_ADVICE[code]


async def test_a_transaction_query_shows_its_status_in_chinese(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """Menu 8 finds the voucher of a sale; in 中文 its status reads 成功, not ``approved``."""
    app = make_app(self_test_on_start=False, language="zh_CN")
    async with app.run_test(size=SIZE) as pilot:
        result = await _chinese_sale(pilot, wait_for, "1500", "magstripe-debit", "s", "654321")
        assert isinstance(result, ResultScreen)
        voucher = next(v for k, v in result.view.details if k == "Voucher")
        await press(pilot, "enter")
        await wait_for(pilot, MenuScreen)
        await press(pilot, "8")
        await wait_for(pilot, TextEntryScreen)
        await press(pilot, *voucher, "enter")
        found = await wait_for(pilot, ResultScreen)
        details = text_of(found, "#details")
        assert "状态" in details and "成功" in details and "approved" not in details


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh_CN", "交易拒绝：卡片脱机拒绝 (Z1)\n卡片拒绝了交易：请换一张卡或改用其他支付方式"),
        (
            "en",
            "Declined: declined offline by the card (Z1)\n"
            "The card itself declined: ask for another card or another way to pay",
        ),
    ],
)
def test_a_card_decline_names_its_code_once(language: str, expected: str) -> None:
    """The chip's own decline (Z1) reads its reason and code once, then what to do."""
    from types import SimpleNamespace

    from poskit.terminal.engine import TxnOutcome
    from poskit.terminal.ui.flows import outcome_view
    from poskit.terminal.ui.i18n import UiText

    outcome = TxnOutcome("declined", "declined offline by the card (Z1)", response_code="Z1")
    view = outcome_view(SimpleNamespace(text=UiText(language)), outcome, [])  # type: ignore[arg-type]
    assert view.message == expected
