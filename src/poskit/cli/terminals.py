"""``poskit terminals``: onboard, list, show, move and retire terminals (each change audited)."""

from __future__ import annotations

from typing import Annotated

import typer

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail, settings_from
from poskit.cli.ledger import NowOption, parse_now, read_conn
from poskit.cli.operator import OperatorOption, PasswordStdinOption, decide, sign_in
from poskit.keys.errors import KeyManagementError
from poskit.keys.injection import inject_keys
from poskit.portal.decisions import move_terminal_as, retire_terminal_as
from poskit.tms.inventory import (
    InventoryError,
    TerminalDetails,
    TerminalSummary,
    follow_move_in_store,
    list_terminals,
    terminal_details,
)
from poskit.tms.registry import register_terminal

__all__ = ["terminals_app"]

terminals_app = typer.Typer(help="Terminal onboarding and inventory.", no_args_is_help=True)
app.add_typer(terminals_app, name="terminals")

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]


def _line(t: TerminalSummary) -> str:
    seen = t.last_seen_at.isoformat(timespec="seconds") if t.last_seen_at else "never"
    return (
        f"{t.terminal_id} merchant {t.merchant_no} {t.model} s/n {t.serial_number} "
        f"{t.dialect}/{t.mac_algorithm}/{t.key_scheme} [{t.status}] last seen {seen}"
    )


def _uptime(seconds: int | None) -> str:
    if seconds is None:
        return "not reported"
    days, rest = divmod(seconds, 86400)
    return (f"{days}d " if days else "") + f"{rest // 3600}h {rest % 3600 // 60:02d}m"


def _show(d: TerminalDetails) -> None:
    def unknown(value: object) -> str:
        return "unknown (store not on this machine)" if value is None else str(value)

    power = d.power_source or "not reported"
    if d.power_source == "battery":
        power += f" {d.battery_percent}%" + (" charging" if d.charging else "")
    lines = [
        _line(d.summary),
        f"merchant: {d.merchant_name}; location: {d.location or '-'}; capabilities: {d.capabilities or '-'}",
        f"software {d.software_version or '-'}; parameters {unknown(d.parameter_version)}",
        f"signed on: {d.signed_on_at.isoformat(timespec='seconds') if d.signed_on_at else 'never'}",
        f"power: {power}; paper: {d.paper or 'not reported'}; network: {d.network or 'not reported'}",
        f"uptime: {_uptime(d.uptime_seconds)}; free storage: "
        + ("not reported" if d.storage_free_mb is None else f"{d.storage_free_mb} MB"),
        f"open batch {d.open_batch_no}: {d.open_batch_transactions} transactions",
        f"pending reversals: {unknown(d.pending_reversals)}; pending uploads: {unknown(d.pending_uploads)}",
    ]
    keys = {
        "in_force": "in force",
        "pending": "in force, and a newer sign-on's keys pending "
        "(in force from the terminal's first MAC under them)",
        "none": "none (the terminal must sign on)",
    }[d.keys]
    lines.append(f"working keys: {keys}")
    security = ", ".join(f"{f['kind']} (flag {f['id']})" for f in d.security_flags) or "none open"
    lines.append(f"security flags: {security}")
    lines += [f"flag {f['id']} {f['kind']} [{f['severity']}]: {f['summary']}" for f in d.flags]
    # each alert in English, then in Chinese: the merchant's staff may read either
    lines += [*d.alert_lines(chinese=False), *d.alert_lines(chinese=True)] if d.alerts else ["alerts: none"]
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)


CAPABILITIES = ("magstripe", "chip", "contactless", "pin", "printer")


def _capabilities(text: str, as_json: bool) -> str:
    chosen = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CAPABILITIES]
    if unknown:
        fail(
            f"--capabilities: unknown {', '.join(unknown)}; choose from {', '.join(CAPABILITIES)}",
            as_json=as_json,
        )
    return ",".join(c for c in CAPABILITIES if c in chosen)


@terminals_app.command("add")
def add_command(
    terminal: Annotated[str, typer.Argument(help="Terminal ID (field 41, 8 letters or digits).")],
    merchant: Annotated[str, typer.Option("--merchant", help="Merchant number (field 42).")],
    serial: Annotated[str, typer.Option("--serial", help="The device's serial number (unique).")],
    model: Annotated[str, typer.Option("--model", help="Device model.")] = "poskit virtual P1",
    dialect: Annotated[str, typer.Option("--dialect", help="cups | ascii87")] = "cups",
    mac: Annotated[str, typer.Option("--mac", help="MAC method: cups-ecb | x919")] = "cups-ecb",
    key_scheme: Annotated[str, typer.Option("--key-scheme", help="fixed | dukpt | dukpt-aes")] = "fixed",
    location: Annotated[str, typer.Option("--location", help="Where it is installed.")] = "",
    capabilities: Annotated[
        str, typer.Option("--capabilities", help="Comma list: magstripe, chip, contactless, pin, printer.")
    ] = "",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a terminal for a merchant and inject its TMK (see docs/protocol.md, onboarding)."""
    if key_scheme not in ("fixed", "dukpt", "dukpt-aes"):
        fail("--key-scheme must be fixed, dukpt or dukpt-aes", as_json=as_json)
    settings = settings_from(data_dir)
    try:
        kcv = register_terminal(
            settings,
            terminal,
            merchant,
            dialect=dialect,
            mac_algorithm=mac,
            model=model,
            location=location,
            serial_number=serial,
            capabilities=_capabilities(capabilities, as_json),
        )
        if key_scheme != "fixed":
            kcv = inject_keys(settings, terminal, dukpt=True, aes=key_scheme == "dukpt-aes").tmk_kcv
    except (ValueError, KeyManagementError) as exc:
        fail(str(exc), code=1, as_json=as_json)
    with read_conn(data_dir) as conn:
        details = terminal_details(settings, conn, terminal)
    if as_json:
        emit_json({**details.summary.to_json(), "tmk_kcv": kcv})
        return
    console.print(
        f"registered {_line(details.summary)}; TMK KCV {kcv}", highlight=False, markup=False, soft_wrap=True
    )


@terminals_app.command("list")
def list_command(
    merchant: Annotated[
        str | None, typer.Option("--merchant", help="Only this merchant's terminals.")
    ] = None,
    include_retired: Annotated[bool, typer.Option("--all", help="Include retired terminals.")] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Registered terminals, one a line."""
    with read_conn(data_dir) as conn:
        rows = list_terminals(conn, merchant_no=merchant, include_retired=include_retired)
    if as_json:
        emit_json([t.to_json() for t in rows])
        return
    for t in rows:
        console.print(_line(t), highlight=False, markup=False, soft_wrap=True)


@terminals_app.command("show")
def show_command(
    terminal: Annotated[str, typer.Argument(help="Terminal ID.")],
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """What a terminal is, its versions, last heartbeat, alerts, open batch, what it still owes, flags."""
    at = parse_now(now, as_json=as_json)
    try:
        with read_conn(data_dir) as conn:
            details = terminal_details(settings_from(data_dir), conn, terminal, now=at)
    except InventoryError as exc:
        fail(str(exc), code=1, as_json=as_json)
    if as_json:
        emit_json(details.to_json())
        return
    _show(details)


@terminals_app.command("move")
def move_command(
    terminal: Annotated[str, typer.Argument(help="Terminal ID.")],
    merchant: Annotated[str, typer.Option("--merchant", help="The new merchant number.")],
    by: OperatorOption,
    reason: ReasonOption,
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-assign a settled terminal to another merchant of the same acquirer; it signs on again
    (an acquirer administrator's decision)."""
    at = parse_now(now, as_json=as_json)
    settings = settings_from(data_dir)
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    decide(
        data_dir,
        user,
        lambda conn: move_terminal_as(conn, user, terminal, merchant, reason=reason, now=at),
        errors=(InventoryError,),
        as_json=as_json,
    )
    with read_conn(data_dir) as conn:
        local = follow_move_in_store(settings, conn, terminal)
    if as_json:
        emit_json({"terminal": terminal, "merchant": merchant, "store_updated": local})
        return
    console.print(
        f"{terminal} now belongs to merchant {merchant}; it must sign on again", highlight=False, markup=False
    )


@terminals_app.command("retire")
def retire_command(
    terminal: Annotated[str, typer.Argument(help="Terminal ID.")],
    by: OperatorOption,
    reason: ReasonOption,
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take a terminal out of service: its keys are erased and the host answers it 97 from now on
    (an acquirer administrator's decision)."""
    at = parse_now(now, as_json=as_json)
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    decide(
        data_dir,
        user,
        lambda conn: retire_terminal_as(conn, user, terminal, reason=reason, now=at),
        errors=(InventoryError,),
        as_json=as_json,
    )
    if as_json:
        emit_json({"terminal": terminal, "status": "retired"})
        return
    console.print(f"{terminal} retired: the host refuses it with 97", highlight=False, markup=False)
