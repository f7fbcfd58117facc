"""Receipt renderers (PDF, ESC/POS) and printer adapters, all from one :class:`Receipt` model."""

from __future__ import annotations

from poskit.terminal.printing.devices import (
    EscPosPrinter,
    PdfFilePrinter,
    PrinterStatus,
    open_escpos_transport,
)
from poskit.terminal.printing.escpos import EscPosEncoder, render_escpos
from poskit.terminal.printing.layout import PAPERS, receipt_blocks
from poskit.terminal.printing.pdf import CjkFontMissingError, find_cjk_font, render_pdf
from poskit.terminal.printing.qr import qr_text

__all__ = [
    "PAPERS",
    "CjkFontMissingError",
    "EscPosEncoder",
    "EscPosPrinter",
    "PdfFilePrinter",
    "PrinterStatus",
    "find_cjk_font",
    "open_escpos_transport",
    "qr_text",
    "receipt_blocks",
    "render_escpos",
    "render_pdf",
]
