"""Fixtures for the virtual-card tests: a powered card and an APDU helper."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from poskit.cards.icc import VirtualCard, virtual_card
from poskit.emv.apdu import Apdu, ResponseApdu


def counter_random(seed: int = 1) -> Callable[[int], bytes]:
    counter: Iterator[int] = itertools.count(seed)

    def random(n: int) -> bytes:
        base = next(counter)
        return bytes((base * 37 + i * 11) & 0xFF for i in range(n))

    return random


class Session:
    """A card on one interface with a ``send`` that parses the response."""

    def __init__(self, card: VirtualCard, interface: str = "contact") -> None:
        self.card = card
        self.atr = card.power_on(interface)  # type: ignore[arg-type]

    def send(self, apdu: Apdu | bytes) -> ResponseApdu:
        raw = apdu.to_bytes() if isinstance(apdu, Apdu) else apdu
        return ResponseApdu.parse(self.card.transmit(raw))


@pytest.fixture
def session() -> Callable[..., Session]:
    """Factory: ``session("visa-credit")`` or ``session(card, "contactless")``."""

    def make(card: str | VirtualCard, interface: str = "contact") -> Session:
        chip = card if isinstance(card, VirtualCard) else virtual_card(card, random=counter_random())
        return Session(chip, interface)

    return make
