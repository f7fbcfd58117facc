"""Terminal operations from the command line: the rest of the merchant's day.

``poskit void``, ``refund``, ``preauth``, ``preauth-void``, ``complete``, ``complete-void``,
``balance``, ``settle``, ``login``, ``logout``, ``reprint``, ``query``, ``totals``, ``sign``
and ``unsigned``; each takes ``--terminal``, ``--host``, ``--data-dir`` and ``--json`` and
exits 0 approved / done, 1 declined, 2 could not complete.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from poskit.cards.book import UnknownCardError, card_by_name
from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail, settings_from
from poskit.cli.pay import HostOption, TerminalOption, counter_devices, print_outcome
from poskit.logs import configure_logging
from poskit.money import Amount, AmountError
from poskit.terminal.engine import TerminalEngine, TxnOutcome
from poskit.terminal.runtime import UnknownTerminalError, default_terminal, open_terminal, terminal_files
from poskit.terminal.store import NotProvisionedError, TerminalStore

__all__: list[str] = []

SupervisorOption = Annotated[
    str | None,
    typer.Option(
        "--supervisor-password",
        envvar="POSKIT_SUPERVISOR_PASSWORD",
        help="Supervisor (operator 00) password; asked for when omitted.",
    ),
]
CardOption = Annotated[str | None, typer.Option("--card", help="Test card name (see poskit cards).")]
PinOption = Annotated[str | None, typer.Option("--pin", help="PIN the cardholder types (omit to bypass).")]
EntryOption = Annotated[str, typer.Option("--entry", help="swipe | chip | tap")]


def _run(
    terminal: str | None,
    host: str | None,
    data_dir: Path | None,
    as_json: bool,
    action: Callable[[TerminalEngine], Coroutine[Any, Any, Any]],
    *,
    card: str | None = None,
    entry: str = "swipe",
    pin: str | None = None,
) -> Any:
    configure_logging("json" if as_json else "console", level=logging.WARNING)
    if entry not in ("swipe", "chip", "tap"):
        fail(f"--entry must be swipe, chip or tap, not {entry!r}", as_json=as_json)
    if card is not None:
        try:
            card_by_name(card)
        except UnknownCardError as exc:
            fail(str(exc), as_json=as_json)
    settings = settings_from(data_dir)
    tid = terminal or default_terminal(settings)
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
        return asyncio.run(action(engine))
    finally:
        store.close()


def _amount(text: str, currency_code: str = "CNY", *, as_json: bool) -> Amount:
    try:
        return Amount.parse(text, currency_code)
    except AmountError as exc:
        fail(str(exc), as_json=as_json)


def _supervisor(password: str | None, as_json: bool) -> str:
    if password is not None:
        return password
    if as_json:
        fail("--supervisor-password is required (or POSKIT_SUPERVISOR_PASSWORD)", as_json=True)
    return str(typer.prompt("Supervisor password", hide_input=True))


def _currency(data_dir: Path | None, terminal: str | None) -> str:
    settings = settings_from(data_dir)
    tid = terminal or default_terminal(settings)
    store_file, _ = terminal_files(settings, tid)
    if not store_file.exists():
        return "CNY"
    store = TerminalStore.open(store_file)
    try:
        return store.profile().currency
    except NotProvisionedError:
        return "CNY"  # the command then reports the unprovisioned terminal when it opens it
    finally:
        store.close()


@app.command("void")
def void_command(
    voucher: Annotated[int, typer.Option("--voucher", help="Voucher (trace) number of the sale.")],
    supervisor_password: SupervisorOption = None,
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Void a sale of the current batch (消费撤销), with the supervisor password."""
    password = _supervisor(supervisor_password, as_json)
    print_outcome(
        _run(terminal, host, data_dir, as_json, lambda e: e.void(voucher, password)), as_json=as_json
    )


@app.command("complete-void")
def complete_void_command(
    voucher: Annotated[int, typer.Option("--voucher", help="Voucher of the completion.")],
    supervisor_password: SupervisorOption = None,
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Void a pre-authorisation completion of the current batch (预授权完成撤销)."""
    password = _supervisor(supervisor_password, as_json)
    print_outcome(
        _run(terminal, host, data_dir, as_json, lambda e: e.completion_void(voucher, password)),
        as_json=as_json,
    )


@app.command("refund")
def refund_command(
    amount: Annotated[str, typer.Argument(help="Amount to refund, e.g. 12.50")],
    rrn: Annotated[str, typer.Option("--rrn", help="Reference number of the original sale.")],
    date: Annotated[str, typer.Option("--date", help="Date of the original sale, MMDD.")],
    card: CardOption = None,
    supervisor_password: SupervisorOption = None,
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Refund (退货) by reference number and date, never above the original."""
    money = _amount(amount, _currency(data_dir, terminal), as_json=as_json)
    password = _supervisor(supervisor_password, as_json)
    print_outcome(
        _run(terminal, host, data_dir, as_json, lambda e: e.refund(money, rrn, date, password), card=card),
        as_json=as_json,
    )


@app.command("preauth")
def preauth_command(
    amount: Annotated[str, typer.Argument(help="Amount to hold, e.g. 300.00")],
    card: Annotated[str, typer.Option("--card", help="Test card name.")],
    pin: PinOption = None,
    entry: EntryOption = "swipe",
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pre-authorisation (预授权): the issuer holds the amount."""
    money = _amount(amount, _currency(data_dir, terminal), as_json=as_json)
    print_outcome(
        _run(terminal, host, data_dir, as_json, lambda e: e.preauth(money), card=card, entry=entry, pin=pin),
        as_json=as_json,
    )


@app.command("preauth-void")
def preauth_void_command(
    amount: Annotated[str, typer.Argument(help="The pre-authorised amount.")],
    auth: Annotated[str, typer.Option("--auth", help="Authorisation code of the pre-auth.")],
    date: Annotated[str, typer.Option("--date", help="Date of the pre-auth, MMDD.")],
    card: CardOption = None,
    supervisor_password: SupervisorOption = None,
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel a pre-authorisation (预授权撤销): the hold is released."""
    money = _amount(amount, _currency(data_dir, terminal), as_json=as_json)
    password = _supervisor(supervisor_password, as_json)
    print_outcome(
        _run(
            terminal,
            host,
            data_dir,
            as_json,
            lambda e: e.preauth_void(money, auth, date, password),
            card=card,
        ),
        as_json=as_json,
    )


@app.command("complete")
def complete_command(
    amount: Annotated[str, typer.Argument(help="Final amount (at most the hold + 15%).")],
    auth: Annotated[str, typer.Option("--auth", help="Authorisation code of the pre-auth.")],
    date: Annotated[str | None, typer.Option("--date", help="Date of the pre-auth, MMDD.")] = None,
    card: CardOption = None,
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Complete a pre-authorisation (预授权完成) for the final amount."""
    money = _amount(amount, _currency(data_dir, terminal), as_json=as_json)

    async def action(e: TerminalEngine) -> TxnOutcome:
        return await e.completion(money, auth, date or e._local_now().strftime("%m%d"))

    print_outcome(_run(terminal, host, data_dir, as_json, action, card=card), as_json=as_json)


@app.command("balance")
def balance_command(
    card: Annotated[str, typer.Option("--card", help="Test card name.")],
    pin: PinOption = None,
    entry: EntryOption = "swipe",
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Balance inquiry (余额查询): card and PIN."""
    print_outcome(
        _run(terminal, host, data_dir, as_json, lambda e: e.balance(), card=card, entry=entry, pin=pin),
        as_json=as_json,
    )


@app.command("settle")
def settle_command(
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """End of day (结算): totals to the host, batch upload if not balanced, report, new batch, sign-off."""
    outcome: TxnOutcome = _run(terminal, host, data_dir, as_json, lambda e: e.settle())
    if not as_json and outcome.extra.get("report"):
        console.print("\n".join(outcome.extra["report"]), markup=False, highlight=False)
    print_outcome(outcome, as_json=as_json)


@app.command("login")
def login_command(
    operator: Annotated[str, typer.Argument(help="Operator code, e.g. 01.")],
    password: Annotated[str | None, typer.Option("--password", help="Operator password.")] = None,
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Operator sign-in (操作员签到); three wrong passwords lock the operator."""
    if password is None:
        if as_json:
            fail("--password is required with --json", as_json=True)
        password = str(typer.prompt(f"Password of operator {operator}", hide_input=True))
    secret = password
    print_outcome(
        _run(terminal, host, data_dir, as_json, lambda e: e.sign_in(operator, secret)), as_json=as_json
    )


@app.command("logout")
def logout_command(
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Operator sign-out (签退): the terminal takes no payment until someone signs in."""
    print_outcome(_run(terminal, host, data_dir, as_json, lambda e: e.sign_out()), as_json=as_json)


@app.command("reprint")
def reprint_command(
    voucher: Annotated[
        int | None, typer.Option("--voucher", help="Voucher to reprint (default: the last).")
    ] = None,
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reprint a receipt, marked REPRINT / 重打印."""
    print_outcome(_run(terminal, host, data_dir, as_json, lambda e: e.reprint(voucher)), as_json=as_json)


def _record_json(record: Any) -> dict[str, Any]:
    amount = Amount.of(record.amount, record.currency)
    return {
        "voucher": f"{record.stan:06d}",
        "batch": f"{record.batch_no:06d}",
        "type": record.txn_type,
        "amount": amount.plain(),
        "currency": record.currency,
        "masked_pan": record.pan_masked,
        "status": record.status,
        "rrn": record.rrn,
        "auth_code": record.auth_code,
        "entry_mode": record.entry_mode,
        "operator": record.operator,
        "date_time": record.local_datetime.isoformat(),  # the terminal's local time, with its offset
        "zone": record.local_datetime.tzname() or "",
        "signature_required": record.signature_required,
        "signed": record.signature is not None,
    }


@app.command("query")
def query_command(
    voucher: Annotated[int, typer.Option("--voucher", help="Voucher number.")],
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Transaction query by voucher number."""

    async def action(e: TerminalEngine) -> Any:
        return e.query(voucher)

    record = _run(terminal, host, data_dir, as_json, action)
    if record is None:
        fail(f"no voucher {voucher:06d} on this terminal", code=1, as_json=as_json)
    if as_json:
        emit_json(_record_json(record))
    else:
        for key, value in _record_json(record).items():
            console.print(f"{key:>18}: {value}")


@app.command("totals")
def totals_command(
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Totals of the open batch, as settlement will send them."""

    async def action(e: TerminalEngine) -> Any:
        return e.totals()

    totals = _run(terminal, host, data_dir, as_json, action)
    if as_json:
        emit_json(totals)
    else:
        for line in totals["slip"]:  # as the terminal prints it, settlement's layout
            console.print(line, highlight=False, markup=False)


@app.command("unsigned")
def unsigned_command(
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Transactions waiting for the cardholder's signature (补签 list)."""

    async def action(e: TerminalEngine) -> Any:
        return e.unsigned()

    records = _run(terminal, host, data_dir, as_json, action)
    rows = [_record_json(r) for r in records]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console.print("no unsigned transactions")
    for r in rows:
        console.print(
            f"voucher {r['voucher']}  {r['type']:<10} {r['currency']} {r['amount']:>10}  {r['masked_pan']}"
            f"  {r['date_time'][:16].replace('T', ' ')} {r['zone']}"
            f"  sign with: poskit sign --voucher {int(r['voucher'])} --image FILE"
        )


@app.command("sign")
def sign_command(
    voucher: Annotated[int, typer.Option("--voucher", help="Voucher to sign (补签).")],
    image: Annotated[
        Path,
        typer.Option("--image", help="Signature image (PNG).", exists=True, dir_okay=False, readable=True),
    ],
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Supply a cardholder's signature for a transaction, upload it, and reprint the signed receipt."""
    data = image.read_bytes()
    print_outcome(_run(terminal, host, data_dir, as_json, lambda e: e.sign(voucher, data)), as_json=as_json)
