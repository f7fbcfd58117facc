"""Signature images for the e-signature: from the TUI's drawing grid or from an image file.

Both end as a small bilevel (1-bit) PNG, the form the engine compresses for the
0820 upload and the printers draw on the slip.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

__all__ = ["MAX_SIGNATURE_FILE", "SignatureImageError", "grid_to_png", "load_signature_image"]

MAX_SIGNATURE_FILE = 4 * 1024 * 1024
_MAX_SIZE = (384, 128)  # dots: half a 58 mm print head wide is plenty for a signature


class SignatureImageError(ValueError):
    """The drawing or file cannot be used as a signature."""

    def __init__(self, reason: str, path: Path | None = None) -> None:
        where = f" ({path})" if path is not None else ""
        super().__init__(f"signature image rejected{where}: {reason}")
        self.reason = reason
        self.path = path


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def grid_to_png(grid: list[list[bool]], *, cell: tuple[int, int] = (4, 8)) -> bytes:
    """The drawn cells (True = ink) as a bilevel PNG, each terminal cell ``cell`` pixels."""
    if not grid or not grid[0]:
        raise SignatureImageError("empty drawing")
    if not any(any(row) for row in grid):
        raise SignatureImageError("nothing was drawn")
    width, height = len(grid[0]), len(grid)
    cw, ch = cell
    image = Image.new("1", (width * cw, height * ch), 1)
    for y, row in enumerate(grid):
        if len(row) != width:
            raise SignatureImageError("rows of different widths")
        for x, ink in enumerate(row):
            if ink:
                image.paste(0, (x * cw, y * ch, (x + 1) * cw, (y + 1) * ch))
    return _png(image)


def load_signature_image(path: Path) -> bytes:
    """An image file (PNG, JPEG, BMP ...) as a cropped, scaled-down bilevel PNG."""
    path = Path(path).expanduser()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SignatureImageError(exc.strerror or "cannot read the file", path) from None
    if size > MAX_SIGNATURE_FILE:
        raise SignatureImageError(f"file of {size} bytes is larger than {MAX_SIGNATURE_FILE}", path)
    try:
        with Image.open(path) as img:
            img.load()
            gray = img.convert("L")
    except (UnidentifiedImageError, OSError) as exc:
        raise SignatureImageError(f"not an image ({exc.__class__.__name__})", path) from None
    ink = gray.point(lambda v: 255 if v < 128 else 0)
    box = ink.getbbox()
    if box is None:
        raise SignatureImageError("the image is blank", path)
    cropped = gray.crop(box)
    cropped.thumbnail(_MAX_SIZE)
    return _png(cropped.point(lambda v: 0 if v < 128 else 255).convert("1"))
