"""``poskit pay``: one sale from a terminal, driven by a script of what the cardholder does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from poskit.cards.book import UnknownCardError, card_by_name
from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail, settings_from
from poskit.logs import configure_logging
from poskit.money import Amount, AmountError
from poskit.terminal.devices.ports import Devices, HostLink
from poskit.terminal.devices.scripted import (
    ScriptedDisplay,
    ScriptedPinEntry,
    TestCardReader,
    scripted_devices,
)
from poskit.terminal.engine import TxnOutcome
from poskit.terminal.receipt import render_text
from poskit.terminal.runtime import UnknownTerminalError, default_terminal, open_terminal
from poskit.terminal.store import NotProvisionedError

__all__ = ["HostOption", "TerminalOption", "counter_devices", "pay_command"]

TerminalOption = Annotated[
    str | None, typer.Option("--terminal", help="Terminal ID (default: the first one).")
]
HostOption = Annotated[
    str | None, typer.Option("--host", help="Host address HOST:PORT (default: the terminal's).")
]


def counter_devices(
    card_name: str | None, entry: str, pins: list[str], *, echo: bool, wallet: Path | None = None
) -> Callable[[HostLink], Devices]:
    """The devices of `poskit pay` and the counter commands: this test card, these PINs."""
    card = card_by_name(card_name) if card_name else None

    def build(link: HostLink) -> Devices:
        display = ScriptedDisplay(
            echo=(lambda level, text: console.print(f"[dim]terminal:[/] {text}")) if echo else None
        )
        return scripted_devices(
            link,
            TestCardReader(card, entry, wallet=wallet),  # type: ignore[arg-type]
            ScriptedPinEntry(list(pins)),
            display=display,
        )

    return build


def print_outcome(outcome: TxnOutcome, *, as_json: bool) -> None:
    receipt_text = render_text(outcome.receipt, copy="cardholder") if outcome.receipt else None
    link = outcome.receipt.e_receipt_url if outcome.receipt else ""
    if as_json:
        emit_json({**outcome.to_json(receipt_text), "e_receipt_url": link or None})
    else:
        style = {"approved": "bold green", "declined": "bold red"}.get(outcome.status, "bold yellow")
        console.print(
            f"[{style}]{outcome.status.upper()}[/] {outcome.message}"
            + (
                f" (code {outcome.response_code})"
                # a message naming its code already ("declined offline by the card (Z1)") says it once
                if outcome.response_code and f"({outcome.response_code})" not in outcome.message
                else ""
            )
        )
        if outcome.receipt is not None and outcome.receipt.txn_type != "BALANCE":
            # the merchant keeps its copy (signed on paper when due); the cardholder takes the other
            console.print(render_text(outcome.receipt, copy="merchant"), highlight=False, markup=False)
        if receipt_text:  # a balance inquiry prints the cardholder's balance slip only
            console.print(receipt_text, highlight=False, markup=False)
        if link:  # the cardholder copy's QR code: the e-receipt opens on a phone without an account
            from poskit.terminal.printing.qr import qr_text

            console.print("\n".join(qr_text(link)), highlight=False, markup=False)
            console.print("扫码查看电子签购单 SCAN FOR THE E-RECEIPT", highlight=False, markup=False)
    raise typer.Exit(outcome.exit_code)


@app.command("pay")
def pay_command(
    amount: Annotated[str, typer.Argument(help="Amount in major units, e.g. 12.50")],
    card: Annotated[str, typer.Option("--card", help="Test card name (see poskit cards).")],
    pin: Annotated[
        str | None, typer.Option("--pin", help="PIN the cardholder types (omit to bypass).")
    ] = None,
    entry: Annotated[str, typer.Option("--entry", help="swipe | chip | tap")] = "swipe",
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take one card payment at a terminal (exit 0 approved, 1 declined, 2 not completed)."""
    configure_logging("json" if as_json else "console", level=logging.WARNING)
    if entry not in ("swipe", "chip", "tap"):
        fail(f"--entry must be swipe, chip or tap, not {entry!r}", as_json=as_json)
    settings = settings_from(data_dir)
    tid = terminal or default_terminal(settings)
    try:
        card_by_name(card)
    except UnknownCardError as exc:
        fail(str(exc), as_json=as_json)
    try:
        store, engine = open_terminal(
            settings,
            tid,
            counter_devices(
                card, entry, [pin] if pin else [], echo=not as_json, wallet=settings.data_dir / "cards"
            ),
            host_address=host,
        )
    except (UnknownTerminalError, NotProvisionedError, ValueError) as exc:
        fail(str(exc), as_json=as_json)
    try:
        money = Amount.parse(amount, engine.profile.currency)
    except AmountError as exc:
        store.close()
        fail(str(exc), as_json=as_json)
    try:
        outcome = asyncio.run(engine.sale(money))
    finally:
        store.close()
    print_outcome(outcome, as_json=as_json)
