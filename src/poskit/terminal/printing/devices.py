"""Printer port adapters: PDF files in a directory, and ESC/POS thermal printers.

Both implement :class:`poskit.terminal.devices.ports.Printer`. Rendering and device
I/O run in a worker thread so a slow printer never blocks the terminal's event loop;
every failure reaches the engine as :class:`PrinterError` (which reverses an
approval whose slip could not be printed).

ESC/POS devices are reached through an :class:`EscPosTransport`: a device file
(``file:/dev/usb/lp0``, no extra packages) or any python-escpos printer
(``usb:VID:PID``, ``serial:/dev/ttyUSB0[:BAUD]``, ``network:HOST[:PORT]``, ``dummy``;
``pip install 'poskit[escpos]'``, imported only when used).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from poskit.terminal.devices.ports import PrinterError
from poskit.terminal.printing.escpos import render_escpos, render_report_escpos
from poskit.terminal.printing.layout import Paper, paper
from poskit.terminal.printing.pdf import (
    CjkFont,
    CjkFontMissingError,
    find_cjk_font,
    render_pdf,
    render_report_pdf,
)
from poskit.terminal.receipt import Receipt

__all__ = [
    "DeviceFileTransport",
    "EscPosPrinter",
    "EscPosTransport",
    "EscPosUnavailableError",
    "PdfFilePrinter",
    "PrinterSpecError",
    "PrinterStatus",
    "PythonEscposTransport",
    "open_escpos_transport",
    "receipt_file_name",
]


@dataclasses.dataclass(frozen=True, slots=True)
class PrinterStatus:
    ok: bool
    message: str
    advice: str = ""


class PrinterSpecError(ValueError):
    """A printer address that cannot be understood."""

    def __init__(self, spec: str, reason: str) -> None:
        super().__init__(f"printer {spec!r}: {reason}")
        self.spec = spec
        self.reason = reason


class EscPosUnavailableError(RuntimeError):
    """python-escpos is needed for this printer but is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "python-escpos is not installed: pip install 'poskit[escpos]' "
            "(or print to a device file with file:/dev/usb/lp0)"
        )


def receipt_file_name(receipt: Receipt, copy: str, suffix: str) -> str:
    """``<TID>-<batch>-<voucher>-<type>-<copy>[-reprint].<suffix>``: sortable, no card data."""
    kind = re.sub(r"[^a-z0-9]+", "-", receipt.txn_type.lower()).strip("-") or "txn"
    tag = "-reprint" if receipt.reprint else ""
    return (
        f"{receipt.terminal_id}-{receipt.batch_no:06d}-{receipt.voucher_no:06d}-{kind}-{copy}{tag}.{suffix}"
    )


class PdfFilePrinter:
    """Prints each copy as a PDF file in ``directory`` (reprints never overwrite earlier files)."""

    def __init__(
        self, directory: Path, *, paper_name: str | Paper = "58mm", font: CjkFont | None = None
    ) -> None:
        self.directory = Path(directory)
        self.paper = paper(paper_name)
        self._font = font
        self.printed: list[Path] = []

    def __repr__(self) -> str:
        return f"PdfFilePrinter({str(self.directory)!r}, paper={self.paper.name!r})"

    def _target(self, receipt: Receipt, copy: str) -> Path:
        path = self.directory / receipt_file_name(receipt, copy, "pdf")
        n = 2
        while receipt.reprint and path.exists():
            path = self.directory / receipt_file_name(receipt, copy, f"{n}.pdf")
            n += 1
        return path

    def _write(self, receipt: Receipt, copy: str) -> Path:
        if self._font is None:
            self._font = find_cjk_font()
        data = render_pdf(receipt, copy=copy, paper_name=self.paper, font=self._font)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._target(receipt, copy)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a half-written slip never appears under its real name
        return path

    def _write_report(self, title: str, lines: list[str]) -> Path:
        if self._font is None:
            self._font = find_cjk_font()
        data = render_report_pdf(title, lines, paper_name=self.paper, font=self._font)
        self.directory.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "report"
        n = 1
        while (path := self.directory / f"report-{slug}-{n:04d}.pdf").exists():
            n += 1
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    async def print_report(self, title: str, lines: list[str]) -> None:
        """A report such as the settlement report, as ``report-<title>-NNNN.pdf``."""
        await self._run(self._write_report, title, lines)

    async def print_receipt(self, receipt: Receipt, *, copy: str) -> None:
        await self._run(self._write, receipt, copy)

    async def _run(self, job: Callable[..., Path], *args: Any) -> None:
        try:
            path = await asyncio.to_thread(job, *args)
        except CjkFontMissingError as exc:
            raise PrinterError(str(exc)) from None
        except OSError as exc:
            raise PrinterError(
                f"cannot write the receipt PDF in {self.directory}: {exc.strerror or exc}"
            ) from None
        self.printed.append(path)

    def status(self) -> PrinterStatus:
        try:
            font = self._font or find_cjk_font()
        except CjkFontMissingError:
            return PrinterStatus(
                False,
                "no Chinese font for PDF receipts",
                "install fonts-wqy-zenhei (apt-get install fonts-wqy-zenhei)",
            )
        self._font = font
        target = self.directory if self.directory.exists() else self.directory.parent
        if not os.access(target, os.W_OK):
            return PrinterStatus(
                False, f"receipt folder {self.directory} is not writable", "check the folder's permissions"
            )
        return PrinterStatus(True, f"PDF receipts in {self.directory} ({self.paper.name})")


class EscPosTransport(Protocol):
    """Where ESC/POS bytes go."""

    @property
    def name(self) -> str: ...

    def write(self, data: bytes) -> None:
        """Send one job's bytes; raise OSError (or any error) when the printer is unreachable."""

    def status(self) -> PrinterStatus: ...


class DeviceFileTransport:
    """Raw bytes to a character device (``/dev/usb/lp0``) or a file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return f"file:{self.path}"

    def write(self, data: bytes) -> None:
        with self.path.open("ab") as device:
            device.write(data)
            device.flush()

    def status(self) -> PrinterStatus:
        if self.path.exists() and os.access(self.path, os.W_OK):
            return PrinterStatus(True, f"printer {self.name} ready")
        if (
            not self.path.exists()
            and os.access(self.path.parent, os.W_OK)
            and not self.path.parent.match("/dev*")
        ):
            return PrinterStatus(True, f"printer output file {self.path}")
        return PrinterStatus(
            False,
            f"printer {self.name} not available",
            "check the printer's cable and power, and the device permissions",
        )


class PythonEscposTransport:
    """Any python-escpos printer object (Usb, Serial, Network, File, Dummy)."""

    def __init__(self, device: Any, name: str = "") -> None:
        self.device = device
        self._name = name or type(device).__name__.lower()

    @property
    def name(self) -> str:
        return self._name

    def write(self, data: bytes) -> None:
        # _raw is python-escpos's single write path to the device (it opens the device on first use)
        self.device._raw(data)

    def status(self) -> PrinterStatus:
        try:
            online = self.device.is_online()
        except Exception as exc:  # each backend has its own errors (USBError, SerialException, OSError)
            return PrinterStatus(
                False,
                f"printer {self.name} not responding ({exc.__class__.__name__})",
                "check the printer's cable and power, then retry",
            )
        if online is False:
            return PrinterStatus(False, f"printer {self.name} offline", "close the cover and load paper")
        return PrinterStatus(True, f"printer {self.name} ready")


def _escpos_printers() -> Any:
    try:
        import escpos.printer  # optional extra, imported on use
    except ImportError:
        raise EscPosUnavailableError() from None
    return escpos.printer


def open_escpos_transport(spec: str) -> EscPosTransport:
    """An ESC/POS transport from ``usb:VID:PID``, ``serial:DEV[:BAUD]``, ``network:HOST[:PORT]``,
    ``file:PATH`` or ``dummy``."""
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "file":
        if not rest:
            raise PrinterSpecError(spec, "file: needs a path, e.g. file:/dev/usb/lp0")
        return DeviceFileTransport(Path(rest))
    if kind not in ("usb", "serial", "network", "dummy"):
        raise PrinterSpecError(
            spec, "use usb:VID:PID, serial:DEVICE[:BAUD], network:HOST[:PORT], file:PATH or dummy"
        )
    printers = _escpos_printers()
    if kind == "dummy":
        return PythonEscposTransport(printers.Dummy(), "dummy")
    if kind == "usb":
        vid, _, pid = rest.partition(":")
        try:
            return PythonEscposTransport(printers.Usb(int(vid, 16), int(pid, 16)), spec)
        except ValueError:
            raise PrinterSpecError(
                spec, "usb needs hexadecimal vendor and product ids, e.g. usb:0416:5011"
            ) from None
    if kind == "serial":
        device, _, baud = rest.partition(":")
        if not device or (baud and not baud.isdigit()):
            raise PrinterSpecError(
                spec, "serial needs a device and an optional baud rate, e.g. serial:/dev/ttyUSB0:9600"
            )
        return PythonEscposTransport(printers.Serial(devfile=device, baudrate=int(baud or 9600)), spec)
    host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    if not host or (port and not port.isdigit()):
        raise PrinterSpecError(
            spec, "network needs a host and an optional port, e.g. network:192.0.2.10:9100"
        )
    return PythonEscposTransport(printers.Network(host=host, port=int(port or 9100), timeout=10), spec)


class EscPosPrinter:
    """Prints each copy on an ESC/POS thermal printer (58 or 80 mm)."""

    def __init__(self, transport: EscPosTransport, *, paper_name: str | Paper = "58mm") -> None:
        self.transport = transport
        self.paper = paper(paper_name)
        self.jobs = 0

    def __repr__(self) -> str:
        return f"EscPosPrinter({self.transport.name!r}, paper={self.paper.name!r})"

    async def print_receipt(self, receipt: Receipt, *, copy: str) -> None:
        await self._send(render_escpos(receipt, copy=copy, paper_name=self.paper))

    async def print_report(self, title: str, lines: list[str]) -> None:
        await self._send(render_report_escpos(title, lines, paper_name=self.paper))

    async def _send(self, data: bytes) -> None:
        try:
            await asyncio.to_thread(self.transport.write, data)
        except Exception as exc:  # every backend fails differently; all mean "not printed"
            raise PrinterError(
                f"printer {self.transport.name} failed ({exc.__class__.__name__}): "
                "check the paper, the cover and the cable"
            ) from None
        self.jobs += 1

    def status(self) -> PrinterStatus:
        return self.transport.status()
