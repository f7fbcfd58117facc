"""Signature images from the drawing grid and from files: bilevel PNGs, clear refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from poskit.terminal.ui.signature_image import SignatureImageError, grid_to_png, load_signature_image


def _open(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def test_grid_becomes_a_bilevel_png_with_ink_where_drawn() -> None:
    """Each drawn cell is a black block of cell pixels on white; the image is 1-bit."""
    grid = [[False] * 4 for _ in range(3)]
    grid[1][2] = True
    image = _open(grid_to_png(grid, cell=(4, 8)))
    assert image.mode == "1" and image.size == (16, 24)
    assert image.getpixel((9, 12)) == 0 and image.getpixel((0, 0)) == 255


def test_an_empty_pad_is_not_a_signature() -> None:
    """Nothing drawn (or no grid) is refused."""
    with pytest.raises(SignatureImageError, match="nothing was drawn"):
        grid_to_png([[False] * 5] * 2)
    with pytest.raises(SignatureImageError, match="empty drawing"):
        grid_to_png([])


def test_image_file_is_cropped_scaled_and_thresholded(tmp_path: Path) -> None:
    """A large greyscale photo of a signature becomes a small 1-bit PNG around the ink."""
    path = tmp_path / "sig.jpg"
    image = Image.new("L", (1600, 900), 240)
    ImageDraw.Draw(image).line([(200, 700), (800, 200), (1400, 650)], fill=20, width=12)
    image.save(path)
    result = _open(load_signature_image(path))
    assert result.mode == "1"
    assert result.width <= 384 and result.height <= 128
    assert result.getextrema() == (0, 255)  # both ink and paper


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"not an image", "not an image"), (None, "No such file"), (b"blank", "blank")],
)
def test_unusable_files_are_refused_with_the_reason(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    """Missing, non-image and blank files raise SignatureImageError naming the file."""
    path = tmp_path / "sig.png"
    if content == b"blank":
        Image.new("L", (50, 20), 255).save(path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(SignatureImageError, match=reason) as caught:
        load_signature_image(path)
    assert str(path) in str(caught.value)
