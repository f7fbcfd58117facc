"""A small ESC/POS encoder and the receipt renderer for thermal printers.

Only the commands a POS slip needs, as the Epson ESC/POS reference defines them and
Chinese 58/80 mm printers accept them:

* ``ESC @`` initialise, ``FS &`` Chinese (double-byte) character mode, text in GB18030
  (a superset of GBK, so every Chinese merchant name can be printed);
* ``ESC a n`` alignment, ``ESC E n`` emphasis, ``GS ! n`` character size;
* ``GS ( k`` native QR code (model 2: functions 165, 167, 169, 180, 181);
* ``GS v 0`` raster bit image (the e-signature);
* ``ESC d n`` feed and ``GS V 66 n`` feed-and-partial-cut.
"""

from __future__ import annotations

import io
from typing import Literal

from poskit.terminal.printing.layout import (
    Align,
    Block,
    PairLine,
    Paper,
    QrCode,
    Rule,
    SignatureImage,
    Space,
    TextLine,
    display_width,
    paper,
    receipt_blocks,
    report_blocks,
    wrap_columns,
)
from poskit.terminal.receipt import Receipt

__all__ = ["EscPosEncoder", "EscPosError", "render_blocks_escpos", "render_escpos", "render_report_escpos"]

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
LF = b"\n"

_ALIGN = {"left": 0, "center": 1, "right": 2}
_QR_ERROR = {"L": 48, "M": 49, "Q": 50, "H": 51}


class EscPosError(ValueError):
    """A command argument outside what the printer accepts."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"ESC/POS {command}: {reason}")
        self.command = command
        self.reason = reason


class EscPosEncoder:
    """Builds the byte stream for one print job; every method returns ``self`` for chaining."""

    def __init__(self, *, encoding: str = "gb18030") -> None:
        self.encoding = encoding
        self._buf = bytearray()
        # modes as last sent (None: unknown), so each command is emitted only when it changes
        self._align: Align | None = None
        self._bold: bool | None = None
        self._size: tuple[int, int] | None = None

    def raw(self, data: bytes) -> EscPosEncoder:
        self._buf += data
        return self

    def initialise(self, *, chinese: bool = True) -> EscPosEncoder:
        self._buf += ESC + b"@"
        self._align, self._bold, self._size = "left", False, (1, 1)  # ESC @ resets the modes
        if chinese:
            self._buf += FS + b"&"  # double-byte mode: GB18030 pairs print as one hanzi
        return self

    def align(self, where: Align) -> EscPosEncoder:
        """Justification (``ESC a n``), emitted only when it changes."""
        if where != self._align:
            self._buf += ESC + b"a" + bytes([_ALIGN[where]])
            self._align = where
        return self

    def bold(self, on: bool) -> EscPosEncoder:
        """Emphasis (``ESC E n``), emitted only when it changes."""
        if on != self._bold:
            self._buf += ESC + b"E" + bytes([1 if on else 0])
            self._bold = on
        return self

    def size(self, width: int = 1, height: int = 1) -> EscPosEncoder:
        if not (1 <= width <= 8 and 1 <= height <= 8):
            raise EscPosError("GS !", f"character size {width}x{height} outside 1..8")
        if (width, height) != self._size:
            self._buf += GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])
            self._size = (width, height)
        return self

    def text(self, text: str) -> EscPosEncoder:
        self._buf += text.encode(self.encoding)
        return self

    def line(self, text: str = "") -> EscPosEncoder:
        return self.text(text).raw(LF)

    def feed(self, lines: int) -> EscPosEncoder:
        if not 0 <= lines <= 255:
            raise EscPosError("ESC d", f"feed of {lines} lines outside 0..255")
        self._buf += ESC + b"d" + bytes([lines])
        return self

    def qr(
        self, data: str, *, module_size: int = 6, error: Literal["L", "M", "Q", "H"] = "M"
    ) -> EscPosEncoder:
        """A QR code printed by the printer's own QR generator (``GS ( k``, model 2)."""
        payload = data.encode("utf-8")
        if not 1 <= module_size <= 16:
            raise EscPosError("GS ( k", f"module size {module_size} outside 1..16")
        if len(payload) > 7089:
            raise EscPosError("GS ( k", f"QR data of {len(payload)} bytes exceeds 7089")

        def fn(body: bytes) -> bytes:
            n = len(body)
            return GS + b"(k" + bytes([n & 0xFF, n >> 8]) + body

        self._buf += fn(b"1A2\x00")  # fn 165: model 2
        self._buf += fn(b"1C" + bytes([module_size]))  # fn 167: module size in dots
        self._buf += fn(b"1E" + bytes([_QR_ERROR[error]]))  # fn 169: error correction level
        self._buf += fn(b"1P0" + payload)  # fn 180: store the data
        self._buf += fn(b"1Q0")  # fn 181: print the stored symbol
        return self

    def raster(self, rows: list[list[bool]]) -> EscPosEncoder:
        """A bilevel image (True = black dot) as ``GS v 0`` raster data."""
        if not rows or not rows[0]:
            raise EscPosError("GS v 0", "empty image")
        width = len(rows[0])
        width_bytes = (width + 7) // 8
        if width_bytes > 0xFFFF or len(rows) > 0xFFFF:
            raise EscPosError("GS v 0", f"image {width}x{len(rows)} too large")
        data = bytearray()
        for row in rows:
            if len(row) != width:
                raise EscPosError("GS v 0", "rows of different widths")
            for start in range(0, width_bytes * 8, 8):
                byte = 0
                for bit in range(8):
                    x = start + bit
                    if x < width and row[x]:
                        byte |= 0x80 >> bit
                data.append(byte)
        height = len(rows)
        self._buf += (
            GS + b"v0\x00" + bytes([width_bytes & 0xFF, width_bytes >> 8, height & 0xFF, height >> 8])
        )
        self._buf += data
        return self

    def cut(self, *, feed: int = 3) -> EscPosEncoder:
        """Feed ``feed`` lines' worth past the cutter, then a partial cut (``GS V 66 n``)."""
        self._buf += GS + b"V" + bytes([66, max(0, min(feed, 255))])
        return self

    def getvalue(self) -> bytes:
        return bytes(self._buf)


def _bitmap(png: bytes, max_width: int, max_height: int) -> list[list[bool]]:
    """A PNG scaled to fit, thresholded to black and white dots."""
    from PIL import Image  # Pillow comes with ReportLab

    with Image.open(io.BytesIO(png)) as img:
        gray = img.convert("L")
        scale = min(max_width / gray.width, max_height / gray.height, 4.0)
        size = (max(1, int(gray.width * scale)), max(1, int(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.NEAREST)
        pixels = gray.load()
        assert pixels is not None
        return [[int(pixels[x, y]) < 128 for x in range(size[0])] for y in range(size[1])]  # type: ignore[arg-type]


def _text_line(enc: EscPosEncoder, block: TextLine, columns: int) -> None:
    scale = 2 if block.double else 1
    enc.align(block.align).bold(block.bold).size(scale, scale)
    for part in wrap_columns(block.text, columns // 2 if block.double else columns):
        enc.line(part)


def _pair(enc: EscPosEncoder, block: PairLine, columns: int) -> None:
    left, right = block.left, block.right
    gap = columns - display_width(left) - display_width(right)
    enc.align("left").bold(block.bold).size(1, 1)
    if gap >= 1:
        enc.line(left + " " * gap + right)
    else:
        for part in wrap_columns(left, columns):
            enc.line(part)
        for part in wrap_columns(right, columns):
            enc.line(" " * (columns - display_width(part)) + part)


def render_escpos(receipt: Receipt, *, copy: str = "merchant", paper_name: str | Paper = "58mm") -> bytes:
    """One copy of the slip as ESC/POS bytes for a 58 or 80 mm thermal printer."""
    return render_blocks_escpos(receipt_blocks(receipt, copy=copy), paper_name=paper_name)


def render_report_escpos(title: str, lines: list[str], *, paper_name: str | Paper = "58mm") -> bytes:
    """A report (settlement, totals) as ESC/POS bytes."""
    return render_blocks_escpos(report_blocks(title, lines), paper_name=paper_name)


def render_blocks_escpos(blocks: list[Block], *, paper_name: str | Paper = "58mm") -> bytes:
    """Layout blocks as one ESC/POS print job, ending with a cut."""
    roll = paper(paper_name)
    columns = roll.columns
    enc = EscPosEncoder().initialise()
    for block in blocks:
        if isinstance(block, TextLine):
            _text_line(enc, block, columns)
        elif isinstance(block, PairLine):
            _pair(enc, block, columns)
        elif isinstance(block, Rule):
            enc.align("left").bold(False).size(1, 1).line(block.char * columns)
        elif isinstance(block, Space):
            enc.feed(block.lines)
        elif isinstance(block, QrCode):
            enc.align("center").qr(block.data, module_size=6 if roll.dots >= 576 else 5)
            enc.raw(LF)
            enc.bold(False).size(1, 1)
            for part in wrap_columns(block.caption, columns):
                enc.line(part)
        elif isinstance(block, SignatureImage):
            enc.align("center").raster(_bitmap(block.png, roll.dots // 2, 120)).raw(LF)
    return enc.cut().getvalue()
