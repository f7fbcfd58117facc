"""The second market: a Lagos merchant's ascii87 terminal takes Nigerian cards in naira."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers the sub-commands)
from poskit.cli.app import app
from poskit.store.db import make_engine
from poskit.store.schema import acquirers, merchants, terminals, transactions
from poskit.store.schema_portal import support_contacts
from poskit.terminal.runtime import terminal_files
from poskit.terminal.store import TerminalStore

pytestmark = pytest.mark.usefixtures("live_host")

runner = CliRunner()
LAGOS_TERMINAL = "30000001"


def _pay(settings: Any, address: str, amount: str, card: str, pin: str) -> dict[str, Any]:
    result = runner.invoke(
        app,
        [
            "pay", amount, "--card", card, "--pin", pin, "--terminal", LAGOS_TERMINAL, "--entry", "chip",
            "--data-dir", str(settings.data_dir), "--host", address, "--json",
        ],
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout
    outcome: dict[str, Any] = json.loads(lines[-1])
    return outcome


def test_the_demo_seeds_a_lagos_acquirer_merchant_and_ascii87_terminal(demo_settings: Any) -> None:
    """Nigerian acquirer (566, NGN, Africa/Lagos) with its own support line; the merchant's
    terminal speaks ascii87 and English and keeps Lagos time."""
    engine = make_engine(demo_settings.resolved_database_url)
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(acquirers, merchants.c.currency.label("mcur"), terminals.c.dialect)
                .select_from(terminals.join(merchants).join(acquirers))
                .where(terminals.c.terminal_id == LAGOS_TERMINAL)
            )
            .mappings()
            .one()
        )
        support = conn.execute(
            select(support_contacts.c.phone).where(support_contacts.c.acquirer_id == row["id"])
        ).scalar_one()
    engine.dispose()
    assert (row["country"], row["currency"], row["timezone"], row["mcur"]) == (
        "566",
        "NGN",
        "Africa/Lagos",
        "NGN",
    )
    assert row["dialect"] == "ascii87" and support.startswith("+234")
    store = TerminalStore.open(terminal_files(demo_settings, LAGOS_TERMINAL)[0])
    try:
        profile = store.profile()
    finally:
        store.close()
    assert profile.language == "en" and profile.params["timezone"] == "Africa/Lagos"
    assert profile.support_phone.startswith("+234")


@pytest.mark.parametrize(
    ("card", "pin", "issuer"),
    [
        ("verve-ngn", "1111", "Verve"),
        ("visa-ngn", "2580", "Nigerian Visa"),
        ("mastercard-ngn", "1357", "Nigerian Mastercard"),
    ],
)
def test_nigerian_cards_pay_in_naira_as_domestic(
    demo_settings: Any, live_host: Any, card: str, pin: str, issuer: str
) -> None:
    """Verve, and Visa/Mastercard issued in Nigeria, pay by chip and PIN at the Lagos
    terminal: NGN with kobo, domestic, MSC 0.5 % (NGN 1,500.00 -> NGN 7.50)."""
    outcome = _pay(demo_settings, live_host.address, "1500.00", card, pin)
    assert outcome["approved"], outcome
    assert outcome["currency"] == "NGN" and outcome["amount"] == "1500.00"
    assert "NGN 1,500.00" in outcome["receipt"] and issuer in outcome["receipt"]
    assert "+234 1 700 0566" in outcome["receipt"] and "400-" not in outcome["receipt"]
    # an English terminal prints an English slip: no Chinese labels at all
    assert "POS SALES SLIP" in outcome["receipt"] and "CARDHOLDER COPY" in outcome["receipt"]
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in outcome["receipt"]), outcome["receipt"]
    engine = make_engine(demo_settings.resolved_database_url)
    with engine.connect() as conn:
        txn = conn.execute(select(transactions).where(transactions.c.rrn == outcome["rrn"])).mappings().one()
    engine.dispose()
    assert txn["origin"] == "domestic" and txn["currency"] == "NGN"
    assert txn["amount"] == 150_000 and txn["fee"] == 750


def test_the_merchant_service_charge_is_capped_at_ngn_1000(demo_settings: Any, live_host: Any) -> None:
    """0.5 % of NGN 240,000.00 is NGN 1,200.00: the CBN cap makes it NGN 1,000.00."""
    outcome = _pay(demo_settings, live_host.address, "240000.00", "mastercard-ngn", "1357")
    assert outcome["approved"], outcome
    engine = make_engine(demo_settings.resolved_database_url)
    with engine.connect() as conn:
        fee = conn.execute(
            select(transactions.c.fee).where(transactions.c.rrn == outcome["rrn"])
        ).scalar_one()
    engine.dispose()
    assert fee == 100_000


def test_the_terminal_tells_times_in_lagos_time(demo_settings: Any, live_host: Any) -> None:
    """Stored in UTC, shown in the terminal's zone: `poskit query` gives the Lagos time with
    its offset and zone name (WAT, UTC+1), and the slip's time is the same local time."""
    outcome = _pay(demo_settings, live_host.address, "100.00", "verve-ngn", "1111")
    assert outcome["approved"], outcome
    result = runner.invoke(
        app,
        [
            "query", "--voucher", str(int(outcome["stan"])), "--terminal", LAGOS_TERMINAL,
            "--data-dir", str(demo_settings.data_dir), "--host", live_host.address, "--json",
        ],
    )  # fmt: skip
    record = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    assert record["date_time"].endswith("+01:00") and record["zone"] == "WAT", record
    local = record["date_time"][:16].replace("T", " ")
    assert f"DATE/TIME: {local}" in outcome["receipt"]
