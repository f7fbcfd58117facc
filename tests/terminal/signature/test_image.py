"""Signature PNG <-> bilevel bitmap <-> JBIG conversion helpers."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageDraw

from poskit.terminal.signature.image import (
    SignatureImageError,
    bilevel_to_png,
    jbig_to_png,
    png_to_bilevel,
    signature_to_jbig,
)
from poskit.terminal.signature.jbig85 import JbigError, decode_t85, encode_t85


def _png(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def _pixel(rows: list[bytes], x: int, y: int) -> int:
    return (rows[y][x // 8] >> (7 - x % 8)) & 1


def _ink_pixels(rows: list[bytes], width: int) -> set[tuple[int, int]]:
    return {(x, y) for y in range(len(rows)) for x in range(width) if _pixel(rows, x, y)}


def _pad_png(size: tuple[int, int], strokes: list[list[tuple[int, int]]], *, pen: int = 3) -> bytes:
    pad = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(pad)
    for stroke in strokes:
        draw.line(stroke, fill=(20, 20, 60), width=pen)
    return _png(pad)


def test_small_signature_is_cropped_with_margin_and_not_scaled() -> None:
    """Ink smaller than the limit is cropped to its box plus a 4-pixel white margin, unscaled."""
    pad = Image.new("L", (300, 200), 255)
    ink = {(120 + dx, 80 + dy) for dx in range(30) for dy in range(10) if (dx + dy) % 3 == 0}
    for point in ink:
        pad.putpixel(point, 0)
    width, height, rows = png_to_bilevel(_png(pad))
    assert (width, height) == (30 + 8, 10 + 8)
    assert _ink_pixels(rows, width) == {(x - 120 + 4, y - 80 + 4) for x, y in ink}


def test_wide_signature_is_scaled_to_max_width_keeping_aspect() -> None:
    """A 1000-pixel-wide signature shrinks to 384 wide with its height scaled alike."""
    png = _pad_png((1200, 500), [[(100, 100), (1099, 300)], [(100, 300), (1099, 100)]], pen=6)
    width, height, rows = png_to_bilevel(png)
    assert width == 384
    # Ink box about 1000 x 200+pen -> 376 x ~78, plus the margins.
    assert 80 <= height <= 90
    ink = _ink_pixels(rows, width)
    assert ink, "thin strokes must survive the reduction"
    assert min(x for x, _ in ink) == 4 and max(x for x, _ in ink) == width - 5
    assert min(y for _, y in ink) == 4 and max(y for _, y in ink) == height - 5


def test_max_width_and_threshold_are_honoured() -> None:
    """A smaller max_width shrinks the output; a low threshold ignores light-grey strokes."""
    pad = Image.new("L", (400, 100), 255)
    draw = ImageDraw.Draw(pad)
    draw.line([(10, 50), (390, 50)], fill=0, width=4)
    draw.line([(10, 20), (390, 80)], fill=160, width=4)
    width, _, _ = png_to_bilevel(_png(pad), max_width=128)
    assert width == 128
    _, dark_only_height, _ = png_to_bilevel(_png(pad), threshold=100)
    _, with_grey_height, _ = png_to_bilevel(_png(pad), threshold=200)
    assert dark_only_height < with_grey_height


def test_transparent_background_is_treated_as_white() -> None:
    """Strokes on a transparent pad (RGBA, black under alpha 0) are the only ink found."""
    pad = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    ImageDraw.Draw(pad).line([(50, 50), (150, 50)], fill=(0, 0, 0, 255), width=2)
    width, height, rows = png_to_bilevel(_png(pad))
    assert (width, height) == (101 + 8, 2 + 8)
    assert len(_ink_pixels(rows, width)) == 101 * 2


def test_blank_signature_is_refused() -> None:
    """A pad with nothing darker than the threshold is refused as blank."""
    with pytest.raises(SignatureImageError, match="blank"):
        png_to_bilevel(_png(Image.new("L", (100, 50), 230)))


def test_non_png_and_garbage_are_refused() -> None:
    """JPEG input and non-image bytes raise SignatureImageError, not Pillow's exceptions."""
    with pytest.raises(SignatureImageError, match="expected PNG, got JPEG"):
        png_to_bilevel(_png(Image.new("RGB", (20, 20)), "JPEG"))
    with pytest.raises(SignatureImageError, match="not a readable PNG"):
        png_to_bilevel(b"\x89PNG\r\n\x1a\n not really")
    noisy = _png(Image.effect_noise((200, 200), 80))
    with pytest.raises(SignatureImageError, match="not a readable PNG"):
        png_to_bilevel(noisy[: len(noisy) // 2])


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG signature, IHDR for an 8-bit grey image and an empty IDAT: nothing to decode."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"")


def test_oversized_png_is_refused_before_decoding() -> None:
    """A PNG header announcing a huge image is refused without decompressing anything."""
    with pytest.raises(SignatureImageError, match="larger than"):
        png_to_bilevel(_png_header_only(5000, 5000))
    with pytest.raises(SignatureImageError):
        png_to_bilevel(_png_header_only(30000, 30000))


def test_bad_conversion_arguments_are_refused() -> None:
    """Thresholds outside 1..255 and margins that fill the frame are refused."""
    png = _pad_png((100, 50), [[(10, 10), (90, 40)]])
    with pytest.raises(SignatureImageError, match="threshold"):
        png_to_bilevel(png, threshold=0)
    with pytest.raises(SignatureImageError, match="margin"):
        png_to_bilevel(png, max_width=8, margin=4)


def test_bilevel_to_png_renders_black_ink_on_white() -> None:
    """Set bits become black pixels and clear bits white, in a 1-bit PNG of the same size."""
    rows = [bytes.fromhex(h) for h in ("7ce238", "049240", "04e25c", "449244", "38e238")]
    image = Image.open(io.BytesIO(bilevel_to_png(23, 5, rows)))
    assert image.format == "PNG" and image.size == (23, 5) and image.mode == "1"
    for y in range(5):
        for x in range(23):
            assert image.getpixel((x, y)) == (0 if _pixel(rows, x, y) else 255)


def test_bilevel_to_png_checks_its_input() -> None:
    """Wrong row counts, row lengths and sizes raise SignatureImageError."""
    with pytest.raises(SignatureImageError, match="rows given"):
        bilevel_to_png(8, 2, [b"\x00"])
    with pytest.raises(SignatureImageError, match="row 1 has 2 bytes"):
        bilevel_to_png(8, 2, [b"\x00", b"\x00\x00"])
    with pytest.raises(SignatureImageError, match="out of range"):
        bilevel_to_png(0, 1, [])


def test_signature_to_jbig_and_back() -> None:
    """PNG -> JBIG decodes to the same bitmap as png_to_bilevel, and jbig_to_png draws it."""
    png = _pad_png((640, 240), [[(40, 200), (120, 40), (200, 180), (320, 60), (600, 120)]], pen=4)
    bitmap = png_to_bilevel(png)
    bie = signature_to_jbig(png)
    assert bie[19] == 0x08  # T.85 basic options: TPBON, three-line template
    assert decode_t85(bie) == bitmap
    width, height, rows = bitmap
    shown = Image.open(io.BytesIO(jbig_to_png(bie)))
    assert shown.size == (width, height)
    assert {
        (x, y) for y in range(height) for x in range(width) if shown.getpixel((x, y)) == 0
    } == _ink_pixels(rows, width)


def test_jbig_to_png_applies_the_signature_pixel_budget() -> None:
    """A BIE larger than a signature (here 1200 x 1000) is refused unless the budget is raised."""
    bie = encode_t85([bytes(150)] * 1000, 1200, 1000)
    with pytest.raises(JbigError, match="budget"):
        jbig_to_png(bie)
    assert Image.open(io.BytesIO(jbig_to_png(bie, max_pixels=2_000_000))).size == (1200, 1000)
