"""Printer port adapters: PDF files in a folder, ESC/POS over a device file or python-escpos."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from poskit.terminal.devices.ports import PrinterError
from poskit.terminal.printing.devices import (
    DeviceFileTransport,
    EscPosPrinter,
    PdfFilePrinter,
    PrinterSpecError,
    PythonEscposTransport,
    open_escpos_transport,
    receipt_file_name,
)
from poskit.terminal.printing.escpos import render_escpos, render_report_escpos
from poskit.terminal.printing.pdf import CjkFontMissingError, find_cjk_font
from poskit.terminal.receipt import Receipt


def _needs_font() -> None:
    try:
        find_cjk_font()
    except CjkFontMissingError as exc:
        pytest.skip(str(exc))


def test_file_names_carry_no_card_data(make_receipt: Callable[..., Receipt]) -> None:
    """Files are named by terminal, batch, voucher, type and copy."""
    name = receipt_file_name(make_receipt(txn_type="PREAUTH_VOID"), "merchant", "pdf")
    assert name == "10000001-000001-000042-preauth-void-merchant.pdf"


async def test_pdf_printer_writes_each_copy_and_never_overwrites_a_reprint(
    tmp_path: Path, receipt: Receipt
) -> None:
    """Merchant and cardholder copies are files; each reprint gets a new file."""
    _needs_font()
    printer = PdfFilePrinter(tmp_path / "receipts", paper_name="80mm")
    await printer.print_receipt(receipt, copy="merchant")
    await printer.print_receipt(receipt, copy="cardholder")
    await printer.print_receipt(receipt.as_reprint(), copy="merchant")
    await printer.print_receipt(receipt.as_reprint(), copy="merchant")
    await printer.print_report("SETTLEMENT", ["批次号 BATCH: 000001"])
    names = sorted(p.name for p in (tmp_path / "receipts").iterdir())
    assert names == [
        "10000001-000001-000042-sale-cardholder.pdf",
        "10000001-000001-000042-sale-merchant-reprint.2.pdf",
        "10000001-000001-000042-sale-merchant-reprint.pdf",
        "10000001-000001-000042-sale-merchant.pdf",
        "report-settlement-0001.pdf",
    ]
    assert all(p.read_bytes().startswith(b"%PDF-") for p in printer.printed)
    assert printer.status().ok


async def test_pdf_printer_failure_is_a_printer_error(tmp_path: Path, receipt: Receipt) -> None:
    """A folder that cannot be created makes the engine's PrinterError (so it reverses the approval)."""
    _needs_font()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    printer = PdfFilePrinter(blocker / "receipts")
    with pytest.raises(PrinterError, match="cannot write the receipt PDF"):
        await printer.print_receipt(receipt, copy="merchant")


async def test_escpos_printer_over_a_device_file(tmp_path: Path, receipt: Receipt) -> None:
    """ESC/POS bytes are appended to the device file (e.g. /dev/usb/lp0) job by job."""
    device = tmp_path / "lp0"
    printer = EscPosPrinter(open_escpos_transport(f"file:{device}"), paper_name="58mm")
    await printer.print_receipt(receipt, copy="merchant")
    await printer.print_report("SETTLEMENT", ["x"])
    assert device.read_bytes() == render_escpos(receipt, copy="merchant") + render_report_escpos(
        "SETTLEMENT", ["x"]
    )
    assert printer.status().ok and printer.jobs == 2


async def test_escpos_printer_failure_is_a_printer_error(receipt: Receipt) -> None:
    """A transport that fails (cable out, paper out) becomes PrinterError naming the printer."""

    class Broken:
        name = "usb:0416:5011"

        def write(self, data: bytes) -> None:
            raise OSError("device not found")

        def status(self) -> object:
            raise AssertionError("not used")

    with pytest.raises(PrinterError, match="usb:0416:5011 failed"):
        await EscPosPrinter(Broken()).print_receipt(receipt, copy="merchant")  # type: ignore[arg-type]


async def test_python_escpos_dummy_printer_receives_the_same_bytes(receipt: Receipt) -> None:
    """Through python-escpos (optional extra), the Dummy printer gets exactly our encoder's bytes."""
    pytest.importorskip("escpos.printer")
    transport = open_escpos_transport("dummy")
    assert isinstance(transport, PythonEscposTransport)
    await EscPosPrinter(transport, paper_name="80mm").print_receipt(receipt, copy="cardholder")
    assert transport.device.output == render_escpos(receipt, copy="cardholder", paper_name="80mm")


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("lpt:1", "use usb:VID:PID"),
        ("file:", "needs a path"),
        ("usb:zz:11", "hexadecimal vendor and product ids"),
        ("serial:/dev/ttyUSB0:fast", "optional baud"),
        ("network:", "a host and an optional port"),
    ],
)
def test_bad_printer_specs_are_explained(spec: str, reason: str) -> None:
    """Each malformed printer address says what a good one looks like."""
    if not spec.startswith(("lpt", "file")):
        pytest.importorskip("escpos.printer")
    with pytest.raises(PrinterSpecError, match=reason):
        open_escpos_transport(spec)


def test_device_file_status(tmp_path: Path) -> None:
    """A writable device file is ready; a missing device under /dev is not."""
    assert DeviceFileTransport(tmp_path / "out.bin").status().ok
    if os.geteuid() != 0 or not Path("/dev/usb").exists():
        assert not DeviceFileTransport(Path("/dev/usb/lp9")).status().ok
