"""The receipt as a PDF on a 58 or 80 mm wide page, with an embedded CJK TrueType font.

Chinese text needs a real CJK font embedded in the file (a substituted font shows
empty boxes on another machine). ReportLab embeds a subset of a TrueType font
(``.ttf`` or a ``.ttc`` collection member); OpenType/CFF fonts such as Noto CJK
``.otf`` cannot be embedded by ReportLab, so the lookup only accepts TrueType.
The page is as long as the slip, like a thermal roll.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from poskit.terminal.printing.layout import (
    Block,
    PairLine,
    Paper,
    QrCode,
    Rule,
    SignatureImage,
    Space,
    TextLine,
    char_width,
    paper,
    receipt_blocks,
    report_blocks,
    wrap_columns,
)
from poskit.terminal.printing.qr import qr_matrix
from poskit.terminal.receipt import Receipt

__all__ = [
    "CJK_FONT_CANDIDATES",
    "CjkFont",
    "CjkFontMissingError",
    "find_cjk_font",
    "render_blocks_pdf",
    "render_pdf",
    "render_report_pdf",
]

# TrueType CJK fonts Debian and other distributions ship (path, collection index).
CJK_FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    ("/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 0),
    ("/Library/Fonts/Arial Unicode.ttf", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
)

_FONT_SIZE = 8.5  # pt: 16 hanzi across 48 mm, the density of a 58 mm thermal slip
_LEADING = 1.35


class CjkFontMissingError(LookupError):
    """No TrueType font with Chinese glyphs could be found to embed in the PDF."""

    def __init__(self, tried: Sequence[str]) -> None:
        super().__init__(
            "no CJK TrueType font found for PDF receipts (tried: "
            + ", ".join(tried)
            + "): install one (Debian/Ubuntu: apt-get install fonts-wqy-zenhei) or set "
            "POSKIT_CJK_FONT=/path/to/font.ttf[,index]"
        )
        self.tried = tuple(tried)


@dataclasses.dataclass(frozen=True, slots=True)
class CjkFont:
    path: Path
    index: int = 0

    @property
    def name(self) -> str:
        # one registered name per font file and index, so ReportLab caches it once
        return f"PoskitCJK-{self.path.stem}-{self.index}"

    def register(self) -> str:
        if self.name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(self.name, str(self.path), subfontIndex=self.index))
        return self.name


@functools.lru_cache(maxsize=32)
def _usable(path: Path, index: int) -> bool:
    # parsing a CJK font takes a while: remember the verdict per file and index
    if not path.is_file() or path.suffix.lower() not in (".ttf", ".ttc"):
        return False
    try:
        font = TTFont("probe", str(path), subfontIndex=index)
    except (TTFError, OSError):
        return False
    # a CJK font must map the common hanzi; 签 (U+7B7E) is on every slip
    return 0x7B7E in font.face.charToGlyph


def _fc_match() -> list[tuple[str, int]]:
    exe = shutil.which("fc-match")
    if exe is None:
        return []
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments
            [exe, "-s", "-f", "%{file}|%{index}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    found: list[tuple[str, int]] = []
    for line in out.splitlines()[:20]:
        path, _, index = line.partition("|")
        if path.lower().endswith((".ttf", ".ttc")):
            found.append((path, int(index) if index.isdigit() else 0))
    return found


def find_cjk_font(
    candidates: Sequence[tuple[str, int]] | None = None, *, environ: dict[str, str] | None = None
) -> CjkFont:
    """The first usable CJK TrueType font: $POSKIT_CJK_FONT, known paths, then fontconfig."""
    env = os.environ if environ is None else environ
    options: list[tuple[str, int]] = []
    if env.get("POSKIT_CJK_FONT"):
        wanted, _, number = env["POSKIT_CJK_FONT"].partition(",")
        options.append((wanted, int(number) if number.isdigit() else 0))
    options += list(CJK_FONT_CANDIDATES if candidates is None else candidates)
    if candidates is None:
        options += _fc_match()
    for path, index in options:
        if _usable(Path(path), index):
            return CjkFont(Path(path), index)
    raise CjkFontMissingError([p for p, _ in options] or ["(no candidates)"])


class _Pen:
    """Lays the blocks out from the top; with no canvas it only measures the height."""

    def __init__(self, canvas: Canvas | None, font: str, roll: Paper, top: float) -> None:
        self.canvas = canvas
        self.font = font
        self.left = (roll.width_mm - roll.printable_mm) / 2 * mm
        self.width = roll.printable_mm * mm
        self.columns = roll.columns
        self.y = top

    def _fits(self, text: str, size: float) -> list[str]:
        """Wrap by the font's real advance widths."""
        lines: list[str] = []
        rest = text
        while rest and pdfmetrics.stringWidth(rest, self.font, size) > self.width:
            cut = len(rest)
            while cut > 1 and pdfmetrics.stringWidth(rest[:cut], self.font, size) > self.width:
                cut -= 1
            space = rest.rfind(" ", 0, cut + 1)
            if space > cut // 2:
                cut = space
            lines.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip(" ")
        lines.append(rest)
        return lines

    def _draw(self, text: str, size: float, align: str, bold: bool) -> None:
        self.y -= size * _LEADING
        if self.canvas is None:
            return
        width = pdfmetrics.stringWidth(text, self.font, size)
        x = {
            "left": self.left,
            "center": self.left + (self.width - width) / 2,
            "right": self.left + self.width - width,
        }[align]
        text_object = self.canvas.beginText(x, self.y + size * 0.25)
        text_object.setFont(self.font, size)
        # the CJK font has no bold face: stroke the outlines as well as filling them
        text_object.setTextRenderMode(2 if bold else 0)
        text_object.textOut(text)
        self.canvas.setLineWidth(0.3)
        self.canvas.drawText(text_object)

    def _draw_grid(self, text: str) -> None:
        """Each character centred in its printer columns (hanzi take two), squeezed if wider, so
        space-aligned columns line up as on a thermal printer whatever the font's advance widths."""
        cell = self.width / self.columns
        size = _FONT_SIZE
        self.y -= size * _LEADING
        if self.canvas is None:
            return
        column = 0
        for ch in text:
            span = char_width(ch) * cell
            if ch != " " and span:
                advance = pdfmetrics.stringWidth(ch, self.font, size)
                scale = min(1.0, span / advance) if advance else 1.0
                glyph = self.canvas.beginText(
                    self.left + column * cell + (span - advance * scale) / 2, self.y + size * 0.25
                )
                glyph.setFont(self.font, size)
                glyph.setHorizScale(scale * 100)
                glyph.textOut(ch)
                self.canvas.drawText(glyph)
            column += char_width(ch)

    def block(self, block: Block) -> None:
        size = _FONT_SIZE
        if isinstance(block, TextLine) and block.mono:
            for part in wrap_columns(block.text, self.columns):
                self._draw_grid(part)
        elif isinstance(block, TextLine):
            size *= 2 if block.double else 1
            for part in self._fits(block.text, size):
                self._draw(part, size, block.align, block.bold)
        elif isinstance(block, PairLine):
            both = pdfmetrics.stringWidth(block.left + "  " + block.right, self.font, size)
            if both <= self.width:
                self._draw(block.left, size, "left", block.bold)
                self.y += size * _LEADING  # the value goes on the same line
                self._draw(block.right, size, "right", block.bold)
            else:
                for part in self._fits(block.left, size):
                    self._draw(part, size, "left", block.bold)
                for part in self._fits(block.right, size):
                    self._draw(part, size, "right", block.bold)
        elif isinstance(block, Rule):
            self.y -= size * _LEADING
            if self.canvas is not None:
                self.canvas.setLineWidth(0.5)
                self.canvas.setDash([2, 1.5] if block.char == "-" else [])
                middle = self.y + size * (0.9 if block.char == "_" else 0.6)
                self.canvas.line(self.left, middle, self.left + self.width, middle)
                self.canvas.setDash([])
        elif isinstance(block, Space):
            self.y -= size * _LEADING * block.lines
        elif isinstance(block, QrCode):
            self._qr(block)
        elif isinstance(block, SignatureImage):
            self._image(block.png)

    def _qr(self, block: QrCode) -> None:
        rows = qr_matrix(block.data, border=0)
        side = min(self.width, 30 * mm)
        module = side / len(rows)
        x0 = self.left + (self.width - side) / 2
        self.y -= side
        if self.canvas is not None:
            self.canvas.setFillGray(0)
            for r, row in enumerate(rows):
                for c, dark in enumerate(row):
                    if dark:
                        self.canvas.rect(
                            x0 + c * module,
                            self.y + (len(rows) - 1 - r) * module,
                            module,
                            module,
                            stroke=0,
                            fill=1,
                        )
        self.y -= _FONT_SIZE * 0.4
        if block.caption:
            for part in self._fits(block.caption, _FONT_SIZE):
                self._draw(part, _FONT_SIZE, "center", False)

    def _image(self, png: bytes) -> None:
        image = ImageReader(io.BytesIO(png))
        width, height = image.getSize()
        scale = min(self.width * 0.8 / width, 22 * mm / height)
        w, h = width * scale, height * scale
        self.y -= h + 2
        if self.canvas is not None:
            self.canvas.drawImage(image, self.left + (self.width - w) / 2, self.y, w, h, mask="auto")


def render_pdf(
    receipt: Receipt,
    *,
    copy: str = "merchant",
    paper_name: str | Paper = "58mm",
    font: CjkFont | None = None,
) -> bytes:
    """One copy of the slip as a PDF page ``paper_name`` wide; raises CjkFontMissingError."""
    title = f"POS receipt {receipt.terminal_id} {receipt.batch_no:06d}/{receipt.voucher_no:06d}"
    return render_blocks_pdf(
        receipt_blocks(receipt, copy=copy),
        title=title,
        author=receipt.merchant_name,
        paper_name=paper_name,
        font=font,
    )


def render_report_pdf(
    title: str, lines: list[str], *, paper_name: str | Paper = "58mm", font: CjkFont | None = None
) -> bytes:
    """A report (settlement, totals) as a PDF page; its columns stay aligned."""
    return render_blocks_pdf(report_blocks(title, lines), title=title, paper_name=paper_name, font=font)


def render_blocks_pdf(
    blocks: list[Block],
    *,
    title: str,
    author: str = "",
    paper_name: str | Paper = "58mm",
    font: CjkFont | None = None,
) -> bytes:
    """Layout blocks on one page as long as they need; raises CjkFontMissingError."""
    roll = paper(paper_name)
    font_name = (font or find_cjk_font()).register()
    margin = 4 * mm
    measure = _Pen(None, font_name, roll, 0.0)
    for block in blocks:
        measure.block(block)
    height = -measure.y + 2 * margin
    out = io.BytesIO()
    # invariant: no creation date or random ID, so the same slip gives the same bytes
    canvas = Canvas(
        out,
        pagesize=(roll.width_mm * mm, height),
        invariant=1,
        pageCompression=1,
        initialFontName=font_name,  # no unembedded Helvetica resource in the file
    )
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setCreator("poskit")
    pen = _Pen(canvas, font_name, roll, height - margin)
    for block in blocks:
        pen.block(block)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
