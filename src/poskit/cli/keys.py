"""``poskit keys``: key injection, LMK rotation and key status (check values only).

Nothing here prints a clear key, with one deliberate exception: ``inject --components N``
prints the TMK's components for dual-control custodians, as a key ceremony requires.
"""

from __future__ import annotations

import socket
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, settings_from
from poskit.config import Settings
from poskit.crypto.errors import CryptoError
from poskit.host.terminal_security import TerminalSecurity, terminal_security
from poskit.keys.components import import_tmk_components
from poskit.keys.errors import KeyManagementError
from poskit.keys.injection import InjectionResult, inject_keys
from poskit.keys.lmk_rotation import RotationProgress, rotate_lmk
from poskit.keys.status import KeyStatus, key_status
from poskit.store.db import make_engine

__all__ = ["inject_command", "keys_app", "rotate_lmk_command", "status_command"]

keys_app = typer.Typer(
    help="Key management: inject terminal keys, rotate the LMK, show check values.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")

TerminalIdOption = Annotated[str, typer.Option("--terminal", help="Terminal ID (field 41).")]


def fail(message: str, *, as_json: bool = False) -> NoReturn:
    """One-line error (never wrapped) on stderr, or a JSON object with ``error``; exit 2."""
    if as_json:
        emit_json({"error": message})
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _say(text: str) -> None:
    """One output line, never wrapped (check values and components must stay on one line)."""
    console.print(text, soft_wrap=True, highlight=False)


def _inject_json(result: InjectionResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "terminal": result.terminal_id,
        "tmk_kcv": result.tmk_kcv,
        "pinpad_tmk_kcv": result.pinpad_tmk_kcv,
        "pinpad_reset": result.pinpad_reset,
        "key_scheme": "dukpt" if result.dukpt else "fixed",
    }
    if result.dukpt is not None:
        d = result.dukpt
        data["dukpt"] = {
            "scheme": d.scheme,
            "initial_ksn": d.initial_ksn,
            "ik_kcv": d.ik_kcv,
            "bdk_name": d.bdk_name,
            "bdk_kcv": d.bdk_kcv,
        }
    if result.components:
        data["components"] = [{"component": c.hex, "kcv": c.kcv} for c in result.components]
    return data


@keys_app.command("inject")
def inject_command(
    terminal: TerminalIdOption,
    dukpt: Annotated[
        bool, typer.Option("--dukpt", help="Also load a DUKPT initial key (PINs under DUKPT).")
    ] = False,
    aes: Annotated[
        bool, typer.Option("--aes", help="AES DUKPT (X9.24-3) instead of TDES (X9.24-1).")
    ] = False,
    components: Annotated[
        int, typer.Option("--components", help="Create the TMK as N printed components (dual control).")
    ] = 0,
    component: Annotated[
        list[str] | None,
        typer.Option(
            "--component",
            help="A custodian's TMK component as HEX:KCV (32 hex digits, odd parity; give 2 or 3): "
            "the TMK of a third-party terminal, the XOR of the components. Nothing is loaded locally.",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a new terminal master key (and DUKPT key) and load it into the terminal's PIN pad.

    Prints check values only; with --components, also the key components for the custodians
    (by design the only clear key output of poskit). With --component (repeated), the host takes
    a third party's TMK from its custodians' components instead.
    """
    settings = settings_from(data_dir)
    if component:
        if dukpt or components:
            fail(
                "--component imports a given TMK: it cannot be combined with --dukpt or --components",
                as_json=as_json,
            )
        _import_components(settings, terminal, component, as_json=as_json)
        return
    try:
        result = inject_keys(settings, terminal, dukpt=dukpt, aes=aes, components=components)
    except (KeyManagementError, CryptoError, ValueError) as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(_inject_json(result))
        return
    agree = "host and PIN pad agree" if result.tmk_kcv == result.pinpad_tmk_kcv else "MISMATCH"
    _say(f"[bold green]terminal {result.terminal_id}[/]: new terminal master key loaded into the PIN pad")
    if result.pinpad_reset:
        _say("  the PIN pad's master key file was missing: it was re-initialised and its old keys erased")
    _say(f"  TMK check value       {result.tmk_kcv} ({agree})")
    if result.dukpt is not None:
        d = result.dukpt
        _say(f"  DUKPT {d.scheme:<16}initial KSN {d.initial_ksn}, initial key check value {d.ik_kcv}")
        _say(f"  BDK                   {d.bdk_name}, check value {d.bdk_kcv}")
    if result.components:
        _say(
            "[bold yellow]Key components for dual control[/] (printed by design: the only clear key "
            "output of poskit; give each to a different custodian, the TMK is their XOR):"
        )
        for i, c in enumerate(result.components, 1):
            _say(f"  component {i}  {c.hex}  check value {c.kcv}")
    _say("  the terminal signs on for new working keys before its next payment")


def _host_listening(settings: Settings) -> bool:
    if not settings.host_port:
        return False
    try:
        with socket.create_connection((settings.host_bind, settings.host_port), timeout=0.5):
            return True
    except OSError:
        return False


def _import_components(settings: Settings, terminal: str, component: list[str], *, as_json: bool) -> None:
    try:
        result = import_tmk_components(settings, terminal, component)
    except (KeyManagementError, CryptoError) as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(
            {
                "terminal": result.terminal_id,
                "tmk_kcv": result.tmk_kcv,
                "component_kcvs": list(result.component_kcvs),
                "key_scheme": "fixed",
            }
        )
        return
    _say(
        f"[bold green]terminal {result.terminal_id}[/]: "
        f"TMK imported from {len(result.component_kcvs)} components"
    )
    for i, check in enumerate(result.component_kcvs, 1):
        _say(f"  component {i} check value  {check} (verified)")
    _say(f"  TMK check value        {result.tmk_kcv} (compare with the terminal's)")
    _say("  the terminal signs on for new working keys before its next payment")


@keys_app.command("rotate-lmk")
def rotate_lmk_command(
    data_dir: DataDirOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Skip the check that the host is not running.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-wrap every stored key block under a new LMK (resumes an interrupted rotation).

    Stop the host first: it holds key blocks and the LMK in memory.
    """
    settings = settings_from(data_dir)
    if not force and _host_listening(settings):
        fail(
            f"the host is listening on {settings.host_bind}:{settings.host_port}: stop it before "
            "rotating the LMK (or pass --force)",
            as_json=as_json,
        )

    def progress(p: RotationProgress) -> None:
        if not as_json:
            _say(f"  {p.table}.{p.column}: {p.rewrapped} re-wrapped so far")

    try:
        result = rotate_lmk(settings, on_batch=progress)
    except (KeyManagementError, CryptoError) as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(
            {
                "old_lmk_id": result.old_lmk_id,
                "new_lmk_id": result.new_lmk_id,
                "rewrapped": result.rewrapped,
                "already_rewrapped": result.already,
                "resumed": result.resumed,
            }
        )
        return
    resumed = f" (resumed: {result.already} were already done)" if result.resumed else ""
    _say(
        f"[bold green]LMK rotated[/]: {result.old_lmk_id} -> {result.new_lmk_id}; "
        f"{result.rewrapped} key blocks re-wrapped{resumed}. Start the host again.",
    )


def _print_status(status: KeyStatus) -> None:
    _say(
        f"[bold]terminal {status.terminal_id}[/]: key scheme {status.key_scheme}, MAC {status.mac_algorithm}",
    )
    table = Table(title="check values (KCV)")
    for col in ("key", f"host (LMK {status.host_lmk_id})", f"PIN pad (LMK {status.pinpad_lmk_id or '-'})"):
        table.add_column(col)
    names: list[str] = [
        n for n in ("tmk", "pik", "mak", "tdk") if n in status.host_keys or n in status.pinpad_keys
    ]
    names += [n for n in status.pinpad_keys if n not in names]
    for name in names:
        host = status.host_keys.get(name)
        pad = status.pinpad_keys.get(name)
        cell_host = "-" if host is None else f"{host['kcv'] or 'unreadable'}"
        cell_pad = "-" if pad is None else f"{pad['kcv']}" + ("" if pad["ok"] else " (unreadable)")
        if name == "dukpt":
            cell_pad = f"initial key {pad['kcv'] if pad else '-'}"
        table.add_row(name, cell_host, cell_pad)
    console.print(table, soft_wrap=True)
    if status.dukpt is not None:
        d = status.dukpt
        _say(
            f"DUKPT {d['scheme']}: BDK {d['bdk_name']} ({d['bdk_kcv']}), initial KSN {d['initial_ksn']}, "
            f"initial key {d['ik_kcv']}, last counter accepted {d['last_counter']}; "
            f"PIN pad next KSN {status.pinpad_dukpt_ksn or '-'}",
        )
    for problem in status.problems:
        _say(f"[bold red]problem:[/] {problem}")


def _print_security(security: TerminalSecurity) -> None:
    if security.keys_pending:
        _say("working keys of a newer sign-on are pending: in force from the terminal's first MAC under them")
    for summary in security.authentication_flags:
        _say(f"[bold red]flag authentication_failures:[/] {summary}")


@keys_app.command("status")
def status_command(
    terminal: TerminalIdOption, data_dir: DataDirOption = None, as_json: JsonOption = False
) -> None:
    """Show the check values of a terminal's keys on the host and in its PIN pad (exit 1 on problems)."""
    settings = settings_from(data_dir)
    try:
        status = key_status(settings, terminal)
    except (KeyManagementError, CryptoError, ValueError) as exc:
        fail(str(exc), as_json=as_json)
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            security = terminal_security(conn, terminal)
    finally:
        engine.dispose()
    if as_json:
        emit_json({**status.to_json(), **security.to_json()})
    else:
        _print_status(status)
        _print_security(security)
    if status.problems:
        raise typer.Exit(1)
