"""QR codes for the e-receipt link (segno): a module matrix for PDF, block characters for screens."""

from __future__ import annotations

import segno

__all__ = ["qr_matrix", "qr_text"]


def qr_matrix(data: str, *, border: int = 0) -> list[list[bool]]:
    """Dark (True) / light modules, row by row, with ``border`` quiet-zone modules around."""
    code = segno.make(data, error="m", micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=border)]


def qr_text(data: str, *, border: int = 2) -> list[str]:
    """The QR code drawn with half-block characters (two module rows per text line).

    Dark modules are drawn as spaces on a light (block-filled) background so phones can
    scan it from a dark terminal too.
    """
    rows = qr_matrix(data, border=border)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    glyphs = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
    return [
        "".join(glyphs[(top, bottom)] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[0::2], rows[1::2], strict=True)
    ]
