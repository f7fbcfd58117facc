"""``poskit terminal``: options and the clear errors before the app starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers every command)
from poskit.cli.app import app
from poskit.cli.terminal_app import build_printer
from poskit.terminal.printing.devices import EscPosPrinter, PdfFilePrinter, PrinterSpecError


def test_help_lists_the_options() -> None:
    """The command documents terminal, host, language, reader, printer and paper options."""
    result = CliRunner().invoke(app, ["terminal", "--help"])
    assert result.exit_code == 0
    for option in ("--terminal", "--host", "--data-dir", "--lang", "--reader", "--printer", "--paper"):
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reader", "nfc"], "--reader must be book or pcsc"),
        (["--lang", "fr"], "--lang must be zh or en"),
        (["--paper", "57"], "unknown paper"),
        (["--printer", "laser"], "use pdf, pdf:DIR, screen"),
        (["--card", "no-such-card"], "no test card named"),
    ],
)
def test_bad_options_fail_with_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    """Each bad option exits 2 with an error naming it, before any screen is drawn."""
    result = CliRunner().invoke(app, ["terminal", "--data-dir", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")


def test_printer_choices(tmp_path: Path) -> None:
    """pdf prints to the receipts folder, screen only previews, escpos:file: writes a device file."""
    pdf = build_printer("pdf", receipts_dir=tmp_path / "r", paper_name="80mm")
    assert isinstance(pdf, PdfFilePrinter) and pdf.directory == tmp_path / "r" and pdf.paper.name == "80mm"
    assert build_printer("screen", receipts_dir=tmp_path, paper_name="58mm") is None
    escpos = build_printer(f"escpos:file:{tmp_path / 'lp0'}", receipts_dir=tmp_path, paper_name="58mm")
    assert isinstance(escpos, EscPosPrinter)
    with pytest.raises(PrinterSpecError):
        build_printer("escpos:lpt1", receipts_dir=tmp_path, paper_name="58mm")


def test_unknown_terminal_is_explained(tmp_path: Path) -> None:
    """A data directory without that terminal says which ones exist or how to create them."""
    result = CliRunner().invoke(app, ["terminal", "--data-dir", str(tmp_path), "--terminal", "99999999"])
    assert result.exit_code == 2
    assert "no terminal '99999999'" in result.output
