"""Magstripe rules around chip cards: "please insert" and technical fallback.

A card whose service code starts with 2 or 6 has a chip; swiped on a terminal whose chip
reader works it must be inserted instead (reference §2.2, "请插卡"). Only after repeated
chip read failures (:class:`ChipFallback`, three by default) may the same card be swiped,
and the transaction is then marked FALLBACK (field 22 ``80x``, field 60.5 ``2``).
"""

from __future__ import annotations

import dataclasses
import enum

from poskit.cards.track2 import ServiceCode

__all__ = ["ChipFallback", "EntryMode", "must_insert", "swipe_entry_mode"]


class EntryMode(enum.Enum):
    """How the card data was captured (drives field 22 and field 60)."""

    MANUAL = "manual"
    MAGSTRIPE = "magstripe"
    CHIP = "chip"
    CONTACTLESS = "contactless"
    FALLBACK = "fallback"


def must_insert(service_code: str, chip_reader_ok: bool) -> bool:
    """True when a swiped card has a chip (service code 2xx/6xx) and the chip reader works."""
    return chip_reader_ok and ServiceCode(service_code).chip_card


@dataclasses.dataclass
class ChipFallback:
    """Counts consecutive chip read failures of the card in the reader (Book 4 §11.4 style).

    ``record_failure`` after each chip failure that allows fallback, ``record_success``
    after a good chip read; ``fallback_allowed`` tells whether a swipe may now be taken.
    """

    limit: int = 3
    failures: int = 0

    def record_failure(self) -> None:
        self.failures += 1

    def record_success(self) -> None:
        self.failures = 0

    @property
    def fallback_allowed(self) -> bool:
        return self.failures >= self.limit

    def reset(self) -> None:
        self.failures = 0


def swipe_entry_mode(
    service_code: str, *, chip_reader_ok: bool, fallback: ChipFallback | None = None
) -> EntryMode | None:
    """Entry mode for a swipe, or None when the card must be inserted instead."""
    if not ServiceCode(service_code).chip_card:
        return EntryMode.MAGSTRIPE
    if fallback is not None and fallback.fallback_allowed:
        return EntryMode.FALLBACK
    if must_insert(service_code, chip_reader_ok):
        return None
    return EntryMode.FALLBACK
