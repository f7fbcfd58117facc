"""``poskit terminal``: the POS terminal as a full-screen Textual app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from poskit.cards.book import UnknownCardError, card_by_name
from poskit.cli.app import DataDirOption, app, fail, settings_from
from poskit.cli.pay import HostOption, TerminalOption
from poskit.config import Settings
from poskit.logs import configure_logging, open_log_file
from poskit.terminal.devices.ports import Devices, HostLink, Printer
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.printing.devices import (
    EscPosPrinter,
    EscPosUnavailableError,
    PdfFilePrinter,
    PrinterSpecError,
    open_escpos_transport,
)
from poskit.terminal.printing.layout import UnknownPaperError, paper
from poskit.terminal.runtime import UnknownTerminalError, default_terminal, open_terminal, terminal_files
from poskit.terminal.store import NotProvisionedError, TerminalStore

__all__ = ["build_printer", "terminal_command"]


def build_printer(spec: str, *, receipts_dir: Path, paper_name: str) -> Printer | None:
    """``pdf`` (files in the terminal's receipts folder), ``screen`` (preview only) or ``escpos:SPEC``."""
    if spec == "screen":
        return None
    if spec == "pdf":
        return PdfFilePrinter(receipts_dir, paper_name=paper_name)
    if spec.startswith("pdf:"):
        return PdfFilePrinter(Path(spec.removeprefix("pdf:")).expanduser(), paper_name=paper_name)
    if spec.startswith("escpos:"):
        return EscPosPrinter(open_escpos_transport(spec.removeprefix("escpos:")), paper_name=paper_name)
    raise PrinterSpecError(
        spec,
        "use pdf, pdf:DIR, screen, or escpos:usb:VID:PID / escpos:serial:DEV / escpos:network:HOST / "
        "escpos:file:PATH",
    )


@app.command("terminal")
def terminal_command(
    terminal: TerminalOption = None,
    host: HostOption = None,
    data_dir: DataDirOption = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="zh | en (default: the terminal's language). F2 switches.")
    ] = None,
    reader: Annotated[
        str, typer.Option("--reader", help="book (test cards) | pcsc (a real PC/SC chip reader)")
    ] = "book",
    reader_name: Annotated[
        str | None, typer.Option("--reader-name", help="PC/SC reader name (part of it); default the first")
    ] = None,
    printer: Annotated[
        str,
        typer.Option(
            "--printer",
            help="pdf (default: PDF files in the terminal's receipts folder), pdf:DIR, screen, or "
            "escpos:usb:VID:PID | escpos:serial:DEV[:BAUD] | escpos:network:HOST[:PORT] | escpos:file:PATH",
        ),
    ] = "pdf",
    paper_width: Annotated[str, typer.Option("--paper", help="58 | 80 (mm)")] = "58",
    card: Annotated[
        str | None, typer.Option("--card", help="Test card selected first on the card prompt.")
    ] = None,
    no_self_test: Annotated[
        bool, typer.Option("--no-self-test", help="Skip the power-on self-test screen.")
    ] = False,
) -> None:
    """Run the POS terminal app (sale, void, refund, pre-auth, settlement ...; F2 = 中文/English)."""
    if reader not in ("book", "pcsc"):
        fail(f"--reader must be book or pcsc, not {reader!r}")
    if lang is not None and lang.lower().replace("-", "_") not in ("zh", "zh_cn", "en", "en_us"):
        fail(f"--lang must be zh or en, not {lang!r}")
    if card is not None:
        try:
            card_by_name(card)
        except UnknownCardError as exc:
            fail(str(exc))
    settings: Settings = settings_from(data_dir)
    tid = terminal or default_terminal(settings)
    store_file, _key = terminal_files(settings, tid)
    try:
        roll = paper(paper_width)
        device = build_printer(printer, receipts_dir=store_file.parent / "receipts", paper_name=roll.name)
    except (UnknownPaperError, PrinterSpecError, EscPosUnavailableError) as exc:
        fail(str(exc))

    from poskit.portal.data.terminal_desk import PortalSupportDesk
    from poskit.store.db import make_engine
    from poskit.terminal.ui.app import PosApp  # Textual only when the app runs

    # Tickets from the counter go where the portal keeps them: the host database of this data directory.
    host_db = make_engine(settings.resolved_database_url)

    opened: list[TerminalStore] = []

    def connect(factory: Callable[[HostLink], Devices]) -> TerminalEngine:
        store, engine = open_terminal(settings, tid, factory, host_address=host)
        opened.append(store)
        return engine

    try:
        pos = PosApp(
            connect,
            language=lang,
            reader=reader,  # type: ignore[arg-type]
            pcsc_reader=reader_name,
            default_card=card,
            wallet=settings.data_dir / "cards",
            printer=device,
            self_test_on_start=not no_self_test,
            support=PortalSupportDesk(host_db, tid),
        )
    except (UnknownTerminalError, NotProvisionedError, ValueError) as exc:
        for store in opened:
            store.close()
        host_db.dispose()
        fail(str(exc))
    # the screen belongs to Textual: logs go to a file next to the terminal's store
    with open_log_file(store_file.parent / "terminal.log") as log_stream:
        configure_logging("json", level=logging.INFO, stream=log_stream)
        try:
            pos.run()
        finally:
            for store in opened:
                store.close()
            host_db.dispose()
