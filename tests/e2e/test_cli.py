"""The command-line contract scripts rely on: JSON keys and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers the sub-commands)
from poskit.cli.app import app
from poskit.cli.cards import TRY_PAY, TRY_PAY_ARGS
from poskit.config import Settings
from poskit.demo.world import provision_demo
from poskit.testing import LiveServices

pytestmark = pytest.mark.usefixtures("live_host")

runner = CliRunner()


def _cli(settings: Any, *args: str) -> tuple[int, Any]:
    result = runner.invoke(app, [*args, "--data-dir", str(settings.data_dir), "--json"])
    lines = [line for line in result.stdout.splitlines() if line.startswith(("{", "["))]
    return result.exit_code, json.loads(lines[-1]) if lines else None


def test_cards_json_lists_the_book_with_balances(demo_settings: Any) -> None:
    """`poskit cards --json`: every card with name, pan, scheme, funding, interfaces, pin, balance ..."""
    code, cards = _cli(demo_settings, "cards")
    assert code == 0 and len(cards) >= 10
    keys = {
        "name",
        "pan",
        "scheme",
        "funding",
        "interfaces",
        "pin",
        "balance",
        "currency",
        "status",
        "expiry",
    }
    assert all(keys <= set(c) for c in cards)
    low = next(c for c in cards if c["name"] == "low-balance")
    assert low["balance"] == "10.00" and low["currency"] == "CNY"


def test_cards_json_gives_the_tracks_a_test_terminal_needs(demo_settings: Any) -> None:
    """`poskit cards --json` gives track2 (stripe, CVV), track2_equivalent (chip tag 57, iCVV),
    service_code and card_sequence; a contactless-only card has no stripe track."""
    from poskit.cards.book import card_by_name
    from poskit.cards.magstripe import chip_track2_for, track2_for

    _, cards = _cli(demo_settings, "cards")
    by_name = {c["name"]: c for c in cards}
    debit = by_name["unionpay-debit"]
    assert debit["track2"] == str(track2_for(card_by_name("unionpay-debit")))
    assert debit["track2_equivalent"] == str(chip_track2_for(card_by_name("unionpay-debit")))
    assert debit["service_code"] == "220" and debit["card_sequence"] == "01"
    assert by_name["quickpass-phone"]["track2"] is None
    assert by_name["magstripe-debit"]["track2_equivalent"] is None


def test_the_suggested_first_payment_is_approved(tmp_path: Path) -> None:
    """The payment `poskit up` and `poskit cards` tell a new user to try (one constant) goes
    through as written at the default terminal of a fresh data directory: the chip card is
    inserted, not swiped; `poskit cards` prints it. (A fresh world: the session's host has
    seen this card's chip counters from other tests, and would rightly refuse a replay.)"""
    settings = Settings(data_dir=tmp_path, host_port=0, portal_port=0)
    provision_demo(settings)
    live = LiveServices(settings, portal=False).start()
    try:
        code, ok = _cli(settings, *TRY_PAY_ARGS, "--host", live.address)
    finally:
        live.stop()
    assert code == 0, (ok.get("response_code"), ok.get("message"))
    assert ok["approved"] is True and ok["entry_mode"] == "chip", ok
    cards = runner.invoke(app, ["cards", "--data-dir", str(settings.data_dir)], terminal_width=200)
    assert TRY_PAY in cards.stdout


def test_pay_json_and_exit_codes(demo_settings: Any, live_host: Any, new_counter: Any) -> None:
    """Approved: exit 0 with the documented keys; declined: 1; host unreachable: 2 with the reason."""
    tid = new_counter().terminal_id
    code, ok = _cli(
        demo_settings,
        "pay",
        "12.50",
        "--card",
        "magstripe-debit",
        "--pin",
        "654321",
        "--terminal",
        tid,
        "--host",
        live_host.address,
    )
    assert code == 0, (ok.get("response_code"), ok.get("message"))
    assert {
        "approved",
        "response_code",
        "message",
        "terminal",
        "stan",
        "rrn",
        "auth_code",
        "amount",
        "currency",
        "masked_pan",
        "receipt",
    } <= set(ok)
    assert ok["approved"] is True and ok["amount"] == "12.50" and ok["masked_pan"] == "621700******5670"
    assert "6217000012345670" not in ok["receipt"]
    code, declined = _cli(
        demo_settings,
        "pay",
        "20.00",
        "--card",
        "low-balance",
        "--pin",
        "123456",
        "--terminal",
        tid,
        "--host",
        live_host.address,
    )
    assert code == 1 and declined["response_code"] == "51"
    code, down = _cli(
        demo_settings,
        "pay",
        "5.00",
        "--card",
        "magstripe-debit",
        "--pin",
        "654321",
        "--terminal",
        tid,
        "--host",
        "127.0.0.1:1",
    )
    assert code == 2 and down["message"].startswith("network not connected")


def test_pay_rejects_bad_arguments_clearly(demo_settings: Any) -> None:
    """Unknown card, bad amount, bad entry mode: one-line errors, exit 2, nothing sent."""
    code, out = _cli(demo_settings, "pay", "12.50", "--card", "no-such-card")
    assert code == 2 and "no test card named" in out["error"]
    code, out = _cli(demo_settings, "pay", "12.505", "--card", "magstripe-debit", "--host", "127.0.0.1:1")
    assert code == 2 and "decimal places" in out["error"]
    code, out = _cli(demo_settings, "pay", "1", "--card", "magstripe-debit", "--entry", "wave")
    assert code == 2 and "--entry" in out["error"]
    code, out = _cli(demo_settings, "pay", "1", "--card", "magstripe-debit", "--terminal", "NOPE0000")
    assert code == 2 and "no terminal" in out["error"]


def test_users_list_and_set_password(demo_settings: Any) -> None:
    """`poskit users list --json` shows username/role/merchant; set-password checks strength."""
    code, users = _cli(demo_settings, "users", "list")
    assert code == 0
    cafe = next(u for u in users if u["username"] == "cafe")
    assert cafe["role"] == "merchant_owner" and cafe["merchant"]
    code, weak = _cli(demo_settings, "users", "set-password", "cafe", "--password", "short")
    assert code == 1 and "password rejected" in weak["error"]
    code, done = _cli(demo_settings, "users", "set-password", "cafe", "--password", "poskit-cafe-1")
    assert code == 0 and done["password_set"] is True


def test_a_chip_card_the_terminal_cannot_read_ends_the_payment(demo_settings: Any, live_host: Any) -> None:
    """The issue's command: a Verve chip card at the Chinese demo terminal (no common
    application). Three chip tries, one request to swipe, then the payment ends (exit 2)
    with the reason, instead of printing the fallback prompt for ever."""
    result = runner.invoke(
        app,
        [
            "pay",
            "1500.00",
            "--card",
            "verve-ngn",
            "--pin",
            "1111",
            "--terminal",
            "20000001",
            "--entry",
            "chip",
            "--data-dir",
            str(demo_settings.data_dir),
            "--host",
            live_host.address,
        ],
    )
    assert result.exit_code == 2, result.stdout
    assert result.stdout.count("swipe the card instead (fallback)") == 1
    assert "the chip cannot be read and the card was not swiped" in result.stdout


def test_pay_prints_the_merchant_and_cardholder_copies_and_balance_prints_a_balance_slip(
    demo_settings: Any, live_host: Any, new_counter: Any
) -> None:
    """`poskit pay` prints both copies (as the README says); `poskit balance` prints one
    balance slip with the available balance, not a sale slip with AMOUNT 0.00."""
    tid = new_counter().terminal_id
    common = ["--terminal", tid, "--data-dir", str(demo_settings.data_dir), "--host", live_host.address]
    paid = runner.invoke(
        app, ["pay", "12.50", "--card", "magstripe-debit", "--pin", "654321", *common], terminal_width=200
    )
    assert paid.exit_code == 0, paid.stdout
    assert (
        paid.stdout.count("商户存根 MERCHANT COPY") == 1
        and paid.stdout.count("持卡人存根 CARDHOLDER COPY") == 1
    )
    assert paid.stdout.index("MERCHANT COPY") < paid.stdout.index("CARDHOLDER COPY")
    balance = runner.invoke(
        app, ["balance", "--card", "magstripe-debit", "--pin", "654321", *common], terminal_width=200
    )
    assert balance.exit_code == 0, balance.stdout
    assert "可用余额 AVAILABLE BALANCE: CNY" in balance.stdout and "AMOUNT" not in balance.stdout
    assert "MERCHANT COPY" not in balance.stdout and "SIGNATURE" not in balance.stdout


def test_totals_reads_like_the_settlement_slip(demo_settings: Any, live_host: Any, new_counter: Any) -> None:
    """`poskit totals` prints the open batch as the terminal's slip lays it out (domestic / foreign,
    debit / credit, count and amount), not raw keys such as "debit_amount"."""
    tid = new_counter().terminal_id
    common = ["--terminal", tid, "--data-dir", str(demo_settings.data_dir), "--host", live_host.address]
    paid = runner.invoke(app, ["pay", "12.50", "--card", "magstripe-debit", "--pin", "654321", *common])
    assert paid.exit_code == 0, paid.stdout
    totals = runner.invoke(app, ["totals", *common], terminal_width=200)
    assert totals.exit_code == 0, totals.stdout
    out = totals.stdout
    assert "批次总计 BATCH TOTALS" in out and f"终端 TERMINAL: {tid}" in out
    assert any(
        line.startswith("借记 DEBIT") and line.split()[-2:] == ["1", "12.50"] for line in out.splitlines()
    )
    assert "未结算 NOT YET SETTLED: 1" in out
    assert "debit_amount" not in out and "_count" not in out
