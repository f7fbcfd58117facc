"""``poskit up`` (everything, with the demo world) and ``poskit host`` (the ISO 8583 host only)."""

from __future__ import annotations

from typing import Annotated

import typer

from poskit.cli.app import DataDirOption, app, console, fail, settings_from
from poskit.cli.cards import TRY_PAY, TRY_PAY_NG
from poskit.config import Settings
from poskit.demo.world import DEMO_OPERATORS, DEMO_USERS, provision_demo
from poskit.eventloop import EventLoopUnavailableError, LoopChoice, resolve_loop, run
from poskit.host.runtime import RunningServices, run_services
from poskit.host.security import LmkRotationPendingError, refuse_if_rotation_pending
from poskit.logs import configure_logging

__all__ = ["demo_login_lines", "host_command", "up_command"]

HostPortOption = Annotated[int | None, typer.Option("--host-port", help="ISO 8583 port (default 8583).")]
PortalPortOption = Annotated[
    int | None, typer.Option("--portal-port", help="Portal HTTP port (default 8000).")
]
LoopOption = Annotated[
    LoopChoice,
    typer.Option(
        "--loop", help="Event loop: auto (uvloop when installed), uvloop, or asyncio (the stdlib loop)."
    ),
]


def _loop_or_fail(choice: str) -> str:
    try:
        return resolve_loop(choice)[0]
    except EventLoopUnavailableError as exc:
        fail(str(exc))


def demo_login_lines() -> list[tuple[str, str]]:
    """Every demo login, portal users by role and the terminals' operators, as `poskit up` prints them."""
    roles = (
        ("merchant_owner", "merchant owner"),
        ("merchant_staff", "merchant staff"),
        ("acquirer_admin", "acquirer admin"),
        ("acquirer_staff", "acquirer staff"),
    )
    lines = [
        (label, ", ".join(f"{u} / {p}" for u, (p, r, _m) in DEMO_USERS.items() if r == role))
        for role, label in roles
    ]
    supervisor = next(code for code, _n, role, _p in DEMO_OPERATORS if role == "supervisor")
    operators = ", ".join(f"{code} / {pw}" for code, _n, _r, pw in DEMO_OPERATORS)
    lines.append(("terminal ops", f"{operators}  ({supervisor} is the supervisor)"))
    return lines


def _banner(settings: Settings, services: RunningServices, *, portal: bool, loop: str) -> None:
    console.print(f"[bold green]poskit is running[/] (data in {settings.data_dir.resolve()}, {loop} loop)")
    console.print(f"  ISO 8583 host   tcp://{services.host.address}  (dialects: cups, ascii87)")
    if portal:
        url = f"http://{settings.portal_bind}:{settings.portal_port}"
        console.print(f"  merchant portal {url}/login")
        *portal_logins, operators = demo_login_lines()
        for label, line in portal_logins:
            console.print(f"  {label:<15} {line}", highlight=False)
        console.print("                  (change with: poskit users set-password USER)")
        console.print(f"  {operators[0]:<15} {operators[1]}", highlight=False)
    console.print(f"  try it          poskit cards;  {TRY_PAY}")
    console.print(f"  in Lagos (NGN)  {TRY_PAY_NG}")
    console.print("Press Ctrl-C to stop.")


@app.command("up")
def up_command(
    data_dir: DataDirOption = None,
    host_port: HostPortOption = None,
    portal_port: PortalPortOption = None,
    log_format: Annotated[str, typer.Option("--log-format", help="console or json")] = "console",
    loop: LoopOption = "auto",
) -> None:
    """Seed the demo (first run) and run the host and the portal until Ctrl-C."""
    loop_name = _loop_or_fail(loop)
    settings = settings_from(data_dir, host_port=host_port, portal_port=portal_port)
    configure_logging(log_format)
    try:
        refuse_if_rotation_pending(settings.resolved_lmk_file)
    except LmkRotationPendingError as exc:
        fail(str(exc))
    summary = provision_demo(settings)
    if summary.created:
        console.print(
            f"seeded the demo acquirer, merchants, terminals {', '.join(summary.terminals)} "
            "and the test-card book"
        )
    try:
        run(
            run_services(settings, on_ready=lambda s: _banner(settings, s, portal=True, loop=loop_name)),
            loop=loop,
        )
    except OSError as exc:
        # PortInUseError names the port and the setting that moves it; anything else, as the OS says it
        fail(f"could not start: {exc.strerror or exc}")
    console.print("stopped; all data is kept in the data directory")


@app.command("host")
def host_command(
    data_dir: DataDirOption = None,
    host_port: HostPortOption = None,
    log_format: Annotated[str, typer.Option("--log-format", help="console or json")] = "console",
    loop: LoopOption = "auto",
) -> None:
    """Run only the ISO 8583 acquirer host (no portal), on an already provisioned data directory."""
    loop_name = _loop_or_fail(loop)
    settings = settings_from(data_dir, host_port=host_port)
    configure_logging(log_format)
    try:
        refuse_if_rotation_pending(settings.resolved_lmk_file)
    except LmkRotationPendingError as exc:
        fail(str(exc))
    try:
        run(
            run_services(
                settings, portal=False, on_ready=lambda s: _banner(settings, s, portal=False, loop=loop_name)
            ),
            loop=loop,
        )
    except OSError as exc:
        fail(f"could not start the host: {exc.strerror or exc}")  # a busy port is named, with its setting
