"""Signature pad PNG <-> bilevel bitmap <-> T.85 JBIG, for the terminal and the portal.

The terminal captures the cardholder's signature as a PNG (dark strokes on a light or
transparent background), crops it to the ink, scales it down to the width the receipt
printer and the 0820 upload expect, thresholds it to one bit per pixel and encodes it as
JBIG (:mod:`poskit.terminal.signature.jbig85`). The portal goes the other way to show it.

Bitmaps are ``(width, height, rows)`` with packed rows, MSB = leftmost pixel, 1 = black ink,
zero padding bits: exactly what :func:`encode_t85` takes and :func:`decode_t85` returns.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

from PIL import Image, UnidentifiedImageError

from poskit.terminal.signature.jbig85 import SIGNATURE_MAX_PIXELS, decode_t85, encode_t85

__all__ = [
    "MAX_SOURCE_PIXELS",
    "SignatureImageError",
    "bilevel_to_png",
    "jbig_to_png",
    "png_to_bilevel",
    "signature_to_jbig",
]

#: Refuse source images larger than this (a signature pad is a few hundred thousand pixels).
MAX_SOURCE_PIXELS = 16_000_000
# A scaled-down output pixel is ink when at least a quarter of its source area was ink:
# thin pen strokes survive a 4x reduction instead of fading to white.
_COVERAGE = 64


class SignatureImageError(ValueError):
    """A signature image that cannot be converted; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid signature image: {reason}")
        self.reason = reason


def _open_png(png: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns for large-but-not-huge headers; treat that as a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(png))
        if image.format != "PNG":
            raise SignatureImageError(f"expected PNG, got {image.format or 'unknown format'}")
        if image.width * image.height > MAX_SOURCE_PIXELS:
            size = f"{image.width}x{image.height}"
            raise SignatureImageError(f"{size} is larger than {MAX_SOURCE_PIXELS} pixels")
        image.load()
    except SignatureImageError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise SignatureImageError(f"not a readable PNG ({type(exc).__name__})") from exc
    return image


def _to_gray(image: Image.Image) -> Image.Image:
    """Flatten onto white (transparent pad backgrounds are common) and drop colour."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("L")
    return image.convert("L")


def _pack_mask(mask: Image.Image) -> list[bytes]:
    """An 'L' mask with ink = 255 -> packed rows with ink = 1."""
    raw = mask.convert("1", dither=Image.Dither.NONE).tobytes()
    row_bytes = (mask.width + 7) // 8
    return [raw[y * row_bytes : (y + 1) * row_bytes] for y in range(mask.height)]


def png_to_bilevel(
    png: bytes,
    *,
    max_width: int = 384,
    max_height: int = 384,
    threshold: int = 128,
    margin: int = 4,
) -> tuple[int, int, list[bytes]]:
    """Turn a signature PNG into a cropped, scaled bilevel bitmap ``(width, height, rows)``.

    Pixels darker than ``threshold`` (0..255 luminance, after flattening transparency onto
    white) are ink. The image is cropped to the ink's bounding box, scaled down (never up)
    so that with ``margin`` white pixels on every side it fits ``max_width`` x
    ``max_height`` keeping its aspect ratio. A signature with no ink is refused.
    """
    if not 1 <= threshold <= 255:
        raise SignatureImageError(f"threshold {threshold} is outside 1..255")
    if margin < 0 or max_width <= 2 * margin or max_height <= 2 * margin:
        raise SignatureImageError(f"margin {margin} leaves no room in {max_width}x{max_height}")
    gray = _to_gray(_open_png(png))
    mask = gray.point([255 if value < threshold else 0 for value in range(256)])
    box = mask.getbbox()
    if box is None:
        raise SignatureImageError(f"no ink darker than {threshold}: the signature is blank")
    mask = mask.crop(box)
    room_w, room_h = max_width - 2 * margin, max_height - 2 * margin
    scale = min(1.0, room_w / mask.width, room_h / mask.height)
    if scale < 1.0:
        size = (max(1, round(mask.width * scale)), max(1, round(mask.height * scale)))
        coverage = mask.resize(size, Image.Resampling.BOX)
        mask = coverage.point([255 if value >= _COVERAGE else 0 for value in range(256)])
    framed = Image.new("L", (mask.width + 2 * margin, mask.height + 2 * margin), 0)
    framed.paste(mask, (margin, margin))
    return framed.width, framed.height, _pack_mask(framed)


def bilevel_to_png(width: int, height: int, rows: Sequence[bytes]) -> bytes:
    """Render a bilevel bitmap (1 = black ink) as a black-on-white 1-bit PNG."""
    if width < 1 or height < 1 or width * height > MAX_SOURCE_PIXELS:
        raise SignatureImageError(f"bitmap size {width}x{height} is out of range")
    if len(rows) != height:
        raise SignatureImageError(f"{len(rows)} rows given for height {height}")
    row_bytes = (width + 7) // 8
    for y, row in enumerate(rows):
        if len(row) != row_bytes:
            raise SignatureImageError(f"row {y} has {len(row)} bytes, width {width} needs {row_bytes}")
    # Raw mode "1;I" reads a set bit as black, matching JBIG's 1 = foreground.
    image = Image.frombytes("1", (width, height), b"".join(rows), "raw", "1;I")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def signature_to_jbig(png: bytes, *, max_width: int = 384, threshold: int = 128) -> bytes:
    """Signature PNG -> T.85 BIE ready for F62 (L0 = 128, TPBON, three-line template)."""
    width, height, rows = png_to_bilevel(png, max_width=max_width, threshold=threshold)
    return encode_t85(rows, width, height)


def jbig_to_png(data: bytes, *, max_pixels: int = SIGNATURE_MAX_PIXELS) -> bytes:
    """T.85 BIE (e.g. reassembled F62) -> PNG; raises ``JbigError`` for bad JBIG data."""
    width, height, rows = decode_t85(data, max_pixels=max_pixels)
    return bilevel_to_png(width, height, rows)
