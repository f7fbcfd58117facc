"""PDF receipts: embedded CJK font, masked PAN and amount in the text layer, page widths, font errors.

Checked with poppler-utils (pdffonts, pdftotext, pdfinfo); the tests skip where they are missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from reportlab.pdfbase.ttfonts import TTFont

from poskit.terminal.printing.pdf import (
    CjkFont,
    CjkFontMissingError,
    find_cjk_font,
    render_pdf,
    render_report_pdf,
)
from poskit.terminal.receipt import Receipt

POPPLER = shutil.which("pdffonts") and shutil.which("pdftotext") and shutil.which("pdfinfo")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdffonts/pdftotext) not installed")


def _font_or_skip() -> CjkFont:
    try:
        return find_cjk_font()
    except CjkFontMissingError as exc:
        pytest.skip(str(exc))


def _run(tool: str, path: Path, *args: str) -> str:
    return subprocess.run(
        [tool, *args, str(path), "-"] if tool == "pdftotext" else [tool, *args, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def font() -> CjkFont:
    return _font_or_skip()


@needs_poppler
@pytest.mark.parametrize("paper", ["58mm", "80mm"])
def test_pdf_embeds_the_cjk_font_and_shows_only_the_masked_pan(
    tmp_path: Path, receipt: Receipt, font: CjkFont, full_pan: str, paper: str
) -> None:
    """pdffonts lists only embedded fonts (the CJK TrueType); pdftotext finds masked PAN and amount."""
    path = tmp_path / "slip.pdf"
    path.write_bytes(render_pdf(receipt, copy="merchant", paper_name=paper, font=font))
    fonts = _run("pdffonts", path).splitlines()[2:]
    assert fonts, "no fonts in the PDF"
    assert all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    face = TTFont("probe", str(font.path), subfontIndex=font.index).face.name.decode()
    assert any("TrueType" in line and f"+{face}" in line for line in fonts), fonts  # a subset: ABCDEF+Name
    text = _run("pdftotext", path, "-layout")
    assert "621700******5670" in text
    assert "1,234.50" in text and "CNY" in text
    assert "快乐豆咖啡" in text and "签购单" in text
    assert full_pan not in text and full_pan not in path.read_bytes().decode("latin-1")


@needs_poppler
@pytest.mark.parametrize(("paper", "points"), [("58mm", 164.41), ("80mm", 226.77)])
def test_page_is_as_wide_as_the_roll(
    tmp_path: Path, receipt: Receipt, font: CjkFont, paper: str, points: float
) -> None:
    """The page is 58 or 80 mm wide (in points) and as long as the slip."""
    path = tmp_path / "slip.pdf"
    path.write_bytes(render_pdf(receipt, paper_name=paper, font=font))
    size = next(line for line in _run("pdfinfo", path).splitlines() if line.startswith("Page size:"))
    width, height = (float(v) for v in size.split(":")[1].split("pts")[0].split(" x "))
    assert width == pytest.approx(points, abs=0.05)
    assert height > 2 * width


@needs_poppler
def test_signed_slip_shows_the_signature_and_feature_code(
    tmp_path: Path, make_receipt: Callable[..., Receipt], signature: bytes, font: CjkFont
) -> None:
    """A signed receipt has the signature image and its feature code."""
    path = tmp_path / "signed.pdf"
    signed = make_receipt().with_signature(signature, feature_code="0A1B2C3D4E5F6071")
    path.write_bytes(render_pdf(signed, copy="cardholder", font=font))
    assert "0A1B2C3D4E5F6071" in _run("pdftotext", path)
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=False)
    if images.returncode == 0:
        assert len(images.stdout.strip().splitlines()) >= 3  # header, rule, one image


def test_same_slip_gives_the_same_bytes(receipt: Receipt, font: CjkFont) -> None:
    """No timestamps or random ids: rendering twice gives identical PDFs."""
    assert render_pdf(receipt, font=font) == render_pdf(receipt, font=font)


@needs_poppler
def test_report_pdf_keeps_lines(tmp_path: Path, font: CjkFont) -> None:
    """A settlement report's lines come out in the text layer."""
    path = tmp_path / "report.pdf"
    path.write_bytes(
        render_report_pdf("结算单 SETTLEMENT", ["批次号 BATCH: 000007", "对账平 BALANCED"], font=font)
    )
    text = _run("pdftotext", path)
    assert "000007" in text and "BALANCED" in text


def test_missing_cjk_font_is_a_clear_error(tmp_path: Path, receipt: Receipt) -> None:
    """With no usable font, the error names what was tried and how to install one."""
    not_a_font = tmp_path / "fake.ttf"
    not_a_font.write_bytes(b"not a font")
    with pytest.raises(CjkFontMissingError) as caught:
        find_cjk_font([(str(not_a_font), 0), ("/nonexistent/font.ttc", 0)], environ={})
    message = str(caught.value)
    assert "fonts-wqy-zenhei" in message and "POSKIT_CJK_FONT" in message and str(not_a_font) in message


def test_a_latin_only_font_is_not_accepted() -> None:
    """DejaVu has no hanzi, so it is skipped rather than embedded with empty boxes."""
    dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not Path(dejavu).exists():
        pytest.skip("DejaVu not installed")
    with pytest.raises(CjkFontMissingError):
        find_cjk_font([(dejavu, 0)], environ={})


def test_environment_variable_selects_the_font(font: CjkFont) -> None:
    """POSKIT_CJK_FONT=path,index is tried first."""
    chosen = find_cjk_font([], environ={"POSKIT_CJK_FONT": f"{font.path},{font.index}"})
    assert chosen == font
