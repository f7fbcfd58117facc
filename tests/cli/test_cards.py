"""``poskit cards``: the public test-card book, readable in an 80-column terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from poskit.cards.book import CARD_BOOK


def test_card_book_fits_80_columns_with_every_pan_whole(tmp_path: Path) -> None:
    """In an 80-column terminal no line is wider than 80 and every card's name, PAN and PIN print
    whole (nothing cut to '…'), so a user can copy them."""
    env = {**os.environ, "COLUMNS": "80", "POSKIT_DATA_DIR": str(tmp_path / "none")}
    out = subprocess.run(
        [sys.executable, "-m", "poskit", "cards"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert "…" not in out, out
    for card in CARD_BOOK:
        assert card.name in out and card.pan in out and card.pin in out, card.name
    assert "CNY 100,000.00" in out and "exp 12/30" in out  # money grouped, expiry as printed on a card
