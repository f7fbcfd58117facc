"""Virtual EMV cards (ICC simulators) for poskit's test-card book.

``virtual_card("unionpay-debit")`` personalises the book's card with its chip profile and
returns a :class:`VirtualCard` answering real APDUs; wrap it in a
:class:`VirtualCardTransport` to give it to the EMV kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from poskit.cards.book import TestCard
from poskit.cards.icc.card import ATR, ApplicationState, CardState, Interface, VirtualCard
from poskit.cards.icc.personalise import AppImage, CardImage, personalise
from poskit.cards.icc.profiles import (
    ATTACK_CARDS,
    ATTACK_PROFILES,
    PROFILES,
    ApplicationProfile,
    CardProfile,
    any_card,
    attack_card,
    profile_by_name,
)
from poskit.cards.icc.transport import VirtualCardTransport

__all__ = [
    "ATR",
    "ATTACK_CARDS",
    "ATTACK_PROFILES",
    "PROFILES",
    "AppImage",
    "ApplicationProfile",
    "ApplicationState",
    "CardImage",
    "CardProfile",
    "CardState",
    "Interface",
    "VirtualCard",
    "VirtualCardTransport",
    "any_card",
    "attack_card",
    "personalise",
    "profile_by_name",
    "reset_virtual_cards",
    "virtual_card",
    "virtual_card_for",
    "virtual_reader",
]

#: One chip per card of the book in this process (see :func:`virtual_card_for`).
_CHIPS: dict[str, VirtualCard] = {}


def virtual_card(
    card: str | TestCard, *, state: CardState | None = None, random: Callable[[int], bytes] = os.urandom
) -> VirtualCard:
    """The chip of a card of the book (or an attack card), personalised and ready."""
    test_card = any_card(card) if isinstance(card, str) else card
    return VirtualCard(personalise(test_card), state, random=random)


def virtual_card_for(card: str | TestCard) -> VirtualCard:
    """The chip of this card, the same object for the same card name within the process.

    A physical card keeps its counters between transactions: its ATC must keep increasing
    or the host's replay check declines it. Use :func:`virtual_card` for a fresh chip.
    """
    name = card if isinstance(card, str) else card.name
    chip = _CHIPS.get(name)
    if chip is None:
        chip = _CHIPS[name] = virtual_card(card)
    return chip


def reset_virtual_cards() -> None:
    """Forget the chips handed out by :func:`virtual_card_for` (fresh counters)."""
    _CHIPS.clear()


def virtual_reader(
    card: str | TestCard | VirtualCard,
    *,
    interface: Interface = "contact",
    random: Callable[[int], bytes] = os.urandom,
) -> VirtualCardTransport:
    """A reader holding that card (inserted for ``contact``, tapped for ``contactless``)."""
    chip = card if isinstance(card, VirtualCard) else virtual_card(card, random=random)
    return VirtualCardTransport(chip, interface=interface)
