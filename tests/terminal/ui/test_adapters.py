"""Device adapters that need no screen: battery from sysfs, the preview printer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from poskit.terminal.receipt import Receipt
from poskit.terminal.ui.adapters import PreviewPrinter, SystemPower


def _receipt() -> Receipt:
    return Receipt(
        merchant_name="快乐豆咖啡", merchant_name_en="Happy Bean Cafe", merchant_no="898310058120001",
        terminal_id="10000001", operator="01", acquirer="A", issuer="I", card_masked="621700******5670",
        entry_mode="swipe", txn_type="SALE", batch_no=1, voucher_no=1, rrn="632900000001", auth_code="1",
        date_time="2024-05-01 12:00:00", amount="1.00", currency="CNY",
    )  # fmt: skip


def test_battery_is_read_from_the_power_supply_class(tmp_path: Path) -> None:
    """capacity and status of the first Battery supply; the mains adapter is ignored."""
    (tmp_path / "AC").mkdir()
    (tmp_path / "AC" / "type").write_text("Mains\n")
    battery = tmp_path / "BAT0"
    battery.mkdir()
    (battery / "type").write_text("Battery\n")
    (battery / "capacity").write_text("42\n")
    (battery / "status").write_text("Discharging\n")
    power = SystemPower(tmp_path)
    assert power.battery_percent() == 42 and not power.charging()
    (battery / "status").write_text("Charging\n")
    assert power.charging()


def test_no_battery_means_mains_power(tmp_path: Path) -> None:
    """A desktop without a battery reports None (mains power), and counts as charging."""
    power = SystemPower(tmp_path / "missing")
    assert power.battery_percent() is None and power.charging()


async def test_preview_printer_keeps_copies_and_passes_them_on() -> None:
    """Every copy goes to the real printer and is kept for the on-screen preview."""

    class Backend:
        def __init__(self) -> None:
            self.copies: list[str] = []
            self.reports: list[str] = []

        async def print_receipt(self, receipt: Receipt, *, copy: str) -> None:
            self.copies.append(copy)

        async def print_report(self, title: str, lines: list[str]) -> None:
            self.reports.append(title)

    backend = Backend()
    printer = PreviewPrinter(backend)
    receipt = _receipt()
    await printer.print_receipt(receipt, copy="merchant")
    await printer.print_receipt(receipt, copy="cardholder")
    await printer.print_report("SETTLEMENT", ["x"])
    assert backend.copies == ["merchant", "cardholder"] and backend.reports == ["SETTLEMENT"]
    assert printer.take() == [("merchant", receipt), ("cardholder", receipt)] and printer.take() == []
    assert printer.reports == [("SETTLEMENT", ["x"])]
    assert PreviewPrinter().status().ok


def test_pcsc_reader_without_service_reports_the_problem() -> None:
    """--reader pcsc without pyscard or pcscd: the chip reader is not working and says why."""
    pytest.importorskip("poskit.terminal.devices.pcsc_reader")
    from poskit.terminal.ui.adapters import TuiCardReader

    reader = TuiCardReader(host=None, source="pcsc")  # type: ignore[arg-type]
    try:
        import smartcard.System

        available = bool(smartcard.System.readers())
    except Exception:
        available = False
    if available:
        pytest.skip("a PC/SC reader is connected here")
    assert not reader.chip_reader_working
    assert reader.reader_problem and "PC/SC" in reader.describe()


class _ChoosesChip:
    """A screen host whose cardholder inserts one test card."""

    def __init__(self, card_name: str) -> None:
        self.card_name = card_name

    async def ask(self, screen: Any) -> Any:
        from poskit.terminal.ui.txn_screens import CardChoice

        return CardChoice("chip", self.card_name)

    def show_message(self, text: str, kind: str = "info") -> None:
        return None


async def test_terminal_app_uses_the_cards_chip_counters_from_the_wallet(tmp_path: Path) -> None:
    """A card the CLI used (ATC 4, last online ATC 4 in the data directory's wallet) answers
    the terminal app with those counters, and the app's use goes back to the same wallet:
    one card, one ATC, whatever front end (no false 'ATC replayed' fraud decline)."""
    import json

    from poskit.cards.book import card_by_name
    from poskit.terminal.devices.scripted import TestCardReader
    from poskit.terminal.ui.adapters import TuiCardReader

    cli_reader = TestCardReader(card_by_name("unionpay-debit"), "chip", wallet=tmp_path)
    assert await cli_reader.read_card("Insert", allowed=["chip"]) is not None
    await cli_reader.remove_card()
    wallet_file = tmp_path / "unionpay-debit.json"
    state = json.loads(wallet_file.read_text())
    for app_state in state["applications"].values():
        app_state["atc"] = app_state["last_online_atc"] = 4
    wallet_file.write_text(json.dumps(state))

    tui = TuiCardReader(_ChoosesChip("unionpay-debit"), wallet=tmp_path)  # type: ignore[arg-type]
    presentation = await tui.read_card("Insert", allowed=["chip"])
    assert presentation is not None and presentation.kind == "chip"
    assert tui._holder is not None
    chip = tui._holder._chip
    assert {s.atc for s in chip.state.applications.values()} == {4}
    for app_state in chip.state.applications.values():
        app_state.atc = 5  # this insert's GENERATE AC
    await tui.remove_card()
    saved = json.loads(wallet_file.read_text())
    assert {s["atc"] for s in saved["applications"].values()} == {5}
