"""The terminal app driven with Textual's pilot against the real host over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Digits, Static

from poskit.terminal.engine import NETWORK_DOWN, NO_OPERATOR
from poskit.terminal.ui.admin_screens import DiagnosticsScreen, MenuScreen
from poskit.terminal.ui.app import PosApp
from poskit.terminal.ui.screens import AmountScreen, ChoiceScreen, ConfirmScreen, PinScreen, TextEntryScreen
from poskit.terminal.ui.txn_screens import CardScreen, ResultScreen, SignatureScreen
from poskit.terminal.ui.widgets import PinDots, ReceiptView, SignaturePad, StatusBar

SIZE = (90, 44)
MAGSTRIPE_PAN = "6217000012345670"  # the card book's magstripe-debit card (public test data)


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


async def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def press(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.pause()


async def sale(
    pilot: Pilot[Any], wait_for: Callable[..., Any], digits: str, card: str, pin: str | None
) -> ResultScreen:
    """Menu 1, amount, confirm, swipe ``card``, PIN (Enter alone bypasses), up to the result."""
    await wait_for(pilot, MenuScreen)
    await press(pilot, "1")
    amount = await wait_for(pilot, AmountScreen)
    await press(pilot, *digits)
    assert amount.query_one("#amount", Digits).value == amount.amount.grouped()
    await press(pilot, "enter")
    await wait_for(pilot, ConfirmScreen)
    await press(pilot, "enter")
    card_screen = await wait_for(pilot, CardScreen)
    card_screen.select_card(card)
    await press(pilot, "s")
    pin_screen = await wait_for(pilot, PinScreen)
    if pin:
        await press(pilot, *pin)
        assert str(pin_screen.query_one(PinDots).content).count("●") == len(pin)
        assert pin not in pilot.app.export_screenshot()
    await press(pilot, "enter")
    result: ResultScreen = await wait_for(pilot, (ResultScreen, SignatureScreen))
    return result


async def test_power_on_self_test_shows_every_check_then_signs_on(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """At power-on: keys, host, reader, battery, printer and software checked; then the menu and a sign-on."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_for(pilot, DiagnosticsScreen)
        await wait_until(lambda: screen.rows is not None)
        await pilot.pause()
        assert {r.name for r in screen.rows} >= {
            "keys",
            "network",
            "reader",
            "battery",
            "printer",
            "software",
        }
        assert all(r.ok for r in screen.rows), screen.rows
        assert "reachable" in text_of(screen, "#check-network")
        assert "64%" in text_of(screen, "#check-battery")
        assert text_of(screen, "#summary") == "All checks passed"
        await press(pilot, "enter")
        await wait_for(pilot, MenuScreen)
        await wait_until(
            lambda: app.engine.element.has_working_keys() and not app.engine.profile.sign_on_required
        )
        assert app.online is True
        status = str(app.screen.query_one(StatusBar).content)
        assert "Online" in status and "64%" in status and "Operator 01" in status


async def test_self_test_gives_plain_advice_when_the_host_is_down(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], down_link: Any
) -> None:
    """An unreachable host fails the network check with what to do about it; no sign-on is attempted."""
    app = make_app(link=down_link)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_for(pilot, DiagnosticsScreen)
        await wait_until(lambda: screen.rows is not None)
        await pilot.pause()
        network = next(r for r in screen.rows if r.name == "network")
        assert not network.ok and network.message == NETWORK_DOWN
        shown = text_of(screen, "#check-network")
        assert "✘" in shown and "check the cable or SIM card" in shown
        assert text_of(screen, "#summary") == "1 problem(s) found"
        await press(pilot, "enter")
        await wait_for(pilot, MenuScreen)
        assert app.online is False and app.flow_worker is None


async def test_swipe_and_pin_sale_is_approved_with_a_receipt_preview(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    """Amount, confirmation, swipe, masked PIN, approval, receipt preview and PDFs; then a reprint."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        result = await sale(pilot, wait_for, "12345", "magstripe-debit", "654321")
        assert isinstance(result, ResultScreen)
        assert text_of(result, "#banner") == "APPROVED"
        assert result.view.status == "approved" and ("Card", "621700******5670 /S") in result.view.details
        preview = result.query_one(ReceiptView)
        slip = str(preview.content)
        assert "621700******5670 /S" in slip and "CNY 123.45" in slip and "█" in slip  # with its QR code
        assert MAGSTRIPE_PAN not in app.export_screenshot()
        pdfs = sorted(p.name for p in (tmp_path / "receipts").iterdir())
        assert [n.rsplit("-", 1)[1] for n in pdfs] == ["cardholder.pdf", "merchant.pdf"]
        await press(pilot, "enter")

        await wait_for(pilot, MenuScreen)
        await press(pilot, "7")
        await wait_for(pilot, ChoiceScreen)
        await press(pilot, "1")  # the last receipt
        reprint = await wait_for(pilot, ResultScreen)
        assert reprint.view.receipt is not None and reprint.view.receipt.reprint
        assert "REPRINT" in str(reprint.query_one(ReceiptView).content)


async def test_wrong_pin_is_declined_with_the_reason(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    """A wrong PIN: DECLINED, the response code and its text, nothing printed."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        result = await sale(pilot, wait_for, "1000", "magstripe-debit", "111111")
        assert text_of(result, "#banner") == "DECLINED"
        assert "(55)" in result.view.message and "PIN" in result.view.message
        assert result.view.message.endswith("try again with the right PIN")  # what to do next
        assert not result.view.can_retry and result.view.receipt is None
        assert not (tmp_path / "receipts").exists()


async def test_network_down_says_so_and_offers_retry(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], down_link: Any
) -> None:
    """With the host unreachable the sale is not completed, the reason is plain, and R retries."""
    app = make_app(link=down_link, self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, MenuScreen)
        await press(pilot, "1")
        await wait_for(pilot, AmountScreen)
        await press(pilot, "5", "0", "0", "enter")
        result = await wait_for(pilot, ResultScreen)
        assert text_of(result, "#banner") == "NOT COMPLETED"
        assert NETWORK_DOWN in text_of(result, "#message")
        assert result.query_one("#done-retry", Button) is not None
        await press(pilot, "r")
        await wait_until(lambda: isinstance(app.screen, ResultScreen) and app.screen is not result)
        assert NETWORK_DOWN in app.screen.view.message  # type: ignore[attr-defined]
        assert app.online is False and "Offline" in str(app.screen.query_one(StatusBar).content)
        assert not app.counter.store.pending_reversals()  # type: ignore[attr-defined]


async def test_language_switches_at_runtime(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], down_link: Any
) -> None:
    """F2 turns menu, status bar and engine messages Chinese, and back to English."""
    app = make_app(link=down_link, self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        menu = await wait_for(pilot, MenuScreen)
        assert str(menu.query_one("#menu-sale", Button).label) == "1  Sale"
        await press(pilot, "f2")
        menu = app.screen
        assert str(menu.query_one("#menu-sale", Button).label) == "1  消费"
        assert text_of(menu, "#title") == "主菜单"
        assert "中" in str(menu.query_one(StatusBar).content)
        await press(pilot, "1")
        await wait_for(pilot, AmountScreen)
        await press(pilot, "1", "enter")
        result = await wait_for(pilot, ResultScreen)
        assert text_of(result, "#banner") == "交易未完成"
        assert "网络未连接" in text_of(result, "#message")
        await press(pilot, "f2")
        assert text_of(app.screen, "#banner") == "NOT COMPLETED"
        await press(pilot, "enter")
        menu = await wait_for(pilot, MenuScreen)
        assert str(menu.query_one("#menu-sale", Button).label) == "1  Sale"


async def test_signature_drawn_on_the_pad_is_attached_and_uploaded(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """A sale without PIN needs a signature: drawn with the keys, sent to the engine, shown on the slip."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        pad_screen = await sale(pilot, wait_for, "500", "daily-limit", None)
        assert isinstance(pad_screen, SignatureScreen)
        pad = pad_screen.query_one(SignaturePad)
        await press(pilot, "space", *["right"] * 8, "up", "up", *["right"] * 6, "space")
        assert sum(map(sum, pad.grid)) >= 15
        await press(pilot, "enter")
        result = await wait_for(pilot, ResultScreen)
        assert result.view.status == "approved", result.view.message
        assert result.view.receipt is not None and result.view.receipt.signature_image
        stan = next(int(v) for k, v in result.view.details if k == "Voucher")
        record = app.counter.store.find_voucher(stan)  # type: ignore[attr-defined]
        assert record is not None and record.signature is not None
        assert app.engine.unsigned() == []


async def test_unsigned_slip_is_signed_later_from_an_image_file(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    """补签: a skipped signature is listed under Unsigned slips and supplied later from an image file."""
    from PIL import Image, ImageDraw

    image_file = tmp_path / "signature.png"
    image = Image.new("L", (200, 80), 255)
    ImageDraw.Draw(image).line([(10, 60), (80, 10), (190, 70)], fill=0, width=4)
    image.save(image_file)
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        pad_screen = await sale(pilot, wait_for, "300", "daily-limit", None)
        assert isinstance(pad_screen, SignatureScreen)
        await press(pilot, "escape")  # the cardholder walked away
        result = await wait_for(pilot, ResultScreen)
        assert "Unsigned" in result.view.message
        await press(pilot, "enter")
        await wait_for(pilot, MenuScreen)
        assert len(app.engine.unsigned()) == 1
        await press(pilot, "u")
        await wait_for(pilot, ChoiceScreen)
        await press(pilot, "1")
        await wait_for(pilot, SignatureScreen)
        await press(pilot, "f")
        await pilot.press(*str(image_file))
        await press(pilot, "enter")
        await press(pilot, "enter")
        signed = await wait_for(pilot, ResultScreen)
        assert signed.view.status == "approved", signed.view.message
        assert app.engine.unsigned() == []


async def test_operator_signs_out_and_in(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """Operator 01 signs out (a "done" screen, not APPROVED: no money moved; the status bar
    says so); a sale then stops before any amount is typed, saying nobody is signed in;
    then 01 signs in again with the password."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, MenuScreen)
        await press(pilot, "9")
        await wait_for(pilot, ChoiceScreen)
        await press(pilot, "1")
        result = await wait_for(pilot, ResultScreen)
        assert result.view.status == "info"
        assert text_of(result, "#banner") == "DONE"
        await press(pilot, "enter")
        menu = await wait_for(pilot, MenuScreen)
        assert "No operator" in str(menu.query_one(StatusBar).content)
        await press(pilot, "1")
        refused = await wait_for(pilot, ResultScreen)
        assert refused.view.status == "failed" and refused.view.message == NO_OPERATOR
        assert not any(isinstance(s, AmountScreen) for s in app.screen_stack)
        await press(pilot, "enter")
        await wait_for(pilot, MenuScreen)
        await press(pilot, "9")
        await wait_for(pilot, TextEntryScreen)
        await press(pilot, "0", "1", "enter")
        await wait_until(lambda: isinstance(app.screen, TextEntryScreen) and app.screen.secret)
        await press(pilot, "0", "0", "0", "0", "enter")
        result = await wait_for(pilot, ResultScreen)
        assert result.view.status == "info", result.view.message
        assert app.engine.profile.operator == "01"


async def test_void_by_voucher_with_the_supervisor_password(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """A sale, then menu 2: voucher number and supervisor password void it; the slip says VOID."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        result = await sale(pilot, wait_for, "888", "magstripe-debit", "654321")
        voucher = next(v for k, v in result.view.details if k == "Voucher")
        await press(pilot, "enter")
        await wait_for(pilot, MenuScreen)
        await press(pilot, "2")
        await wait_for(pilot, TextEntryScreen)
        await press(pilot, *voucher, "enter")
        await wait_until(lambda: isinstance(app.screen, TextEntryScreen) and app.screen.secret)
        await press(pilot, *"123456", "enter")
        voided = await wait_for(pilot, ResultScreen)  # the card number comes from the batch record
        assert voided.view.status == "approved", voided.view.message
        assert voided.view.receipt is not None and voided.view.receipt.txn_type == "VOID"


async def test_settlement_shows_and_prints_the_report(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    """Menu 6 asks to confirm with the batch and count, settles, and shows the printed report."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, MenuScreen)
        await press(pilot, "6")
        confirm = await wait_for(pilot, ConfirmScreen)
        assert "000001" in text_of(confirm, "#question") and "0 transactions" in text_of(confirm, "#question")
        await press(pilot, "enter")
        result = await wait_for(pilot, ResultScreen)
        assert result.view.status == "approved", result.view.message
        assert ("balanced", "True") in result.view.details
        assert "BALANCED" in text_of(result, "#report")
        assert [p.name for p in (tmp_path / "receipts").glob("report-*.pdf")]


async def test_tap_of_a_small_amount_needs_no_pin_or_signature(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """A tap under the QPS limit: no PIN screen, no signature pad, approved with /C on the slip."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, MenuScreen)
        await press(pilot, "1")
        await wait_for(pilot, AmountScreen)
        await press(pilot, "5", "0", "0", "enter")
        await wait_for(pilot, ConfirmScreen)
        await press(pilot, "enter")
        card_screen = await wait_for(pilot, CardScreen)
        card_screen.select_card("quickpass-phone")
        await press(pilot, "t")
        result = await wait_for(pilot, ResultScreen)
        assert result.view.status == "approved", result.view.message
        assert result.view.receipt is not None and result.view.receipt.card_masked.endswith("0016")
        assert "/C" in str(result.query_one(ReceiptView).content)


async def test_card_screen_buttons_fit_the_device_in_chinese(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """In 中文 mode the card screen's 刷卡/插卡/挥卡/取消 buttons all fit inside the device
    frame (取消 was cut to 取)."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, MenuScreen)
        await press(pilot, "f2", "1")
        await wait_for(pilot, AmountScreen)
        await press(pilot, "1", "enter")
        await wait_for(pilot, ConfirmScreen)
        await press(pilot, "enter")
        card_screen = await wait_for(pilot, CardScreen)
        frame = card_screen.query_one("#device").content_region
        buttons = list(card_screen.query(".buttons Button").results(Button))
        assert [str(b.label) for b in buttons][-1] == "取消"
        for button in buttons:
            region = button.region
            assert region.x >= frame.x and region.right <= frame.right, (str(button.label), region, frame)
        assert "取消" in app.export_screenshot()
