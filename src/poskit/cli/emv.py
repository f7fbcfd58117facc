"""``poskit emv trace``: a chip or contactless payment with its APDU conversation printed."""

from __future__ import annotations

from typing import Annotated

import typer

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json
from poskit.cli.counter import CardOption, EntryOption, PinOption, _amount, _currency, _run
from poskit.cli.pay import HostOption, TerminalOption
from poskit.terminal.engine import TerminalEngine, TxnOutcome

__all__ = ["emv_app"]

emv_app = typer.Typer(help="EMV chip and contactless tools.", no_args_is_help=True)
app.add_typer(emv_app, name="emv")


@emv_app.command("trace")
def trace_command(
    amount: Annotated[str, typer.Argument(help="Amount, e.g. 12.50")],
    card: CardOption = None,
    pin: PinOption = None,
    entry: EntryOption = "chip",
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pay by chip (or --entry tap) and print every APDU exchanged with the card (sensitive data masked)."""
    if card is None:
        raise typer.BadParameter("--card is required", param_hint="--card")
    money = _amount(amount, _currency(data_dir, terminal), as_json=as_json)
    traces: list[str] = []

    async def action(engine: TerminalEngine) -> TxnOutcome:
        outcome = await engine.sale(money)
        exchanges = (engine.last_emv or {}).get("trace") or []
        traces.extend(str(e) for e in exchanges)
        return outcome

    outcome: TxnOutcome = _run(
        terminal,
        host,
        data_dir,
        as_json,
        action,
        card=card,
        entry="chip" if entry == "swipe" else entry,
        pin=pin,
    )
    if as_json:
        emit_json({**outcome.to_json(), "apdus": traces})
    else:
        console.print("\n".join(traces), markup=False, highlight=False)
        style = "green" if outcome.approved else "red"
        console.print(f"[{style}]{outcome.status}[/] {outcome.message}")
    raise typer.Exit(outcome.exit_code)
