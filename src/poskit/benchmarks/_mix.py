"""The traffic mixes of ``poskit bench host``: which kind of request each one is, and its card data.

Chip and contactless requests carry a real first GENERATE AC: for every request the EMV
kernel runs against the card's virtual chip (selection, GPO, records, ODA, CVM, first
GENERATE AC), so field 55 holds an ARQC the host must verify with the issuer's keys. Each
terminal has its own chip cards, so a card's ATC only ever rises on one connection (the
host refuses a repeated or older ATC as a replay).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Literal

from poskit.cards.book import TestCard, card_by_name
from poskit.cards.pan import luhn_check_digit
from poskit.money import Amount

__all__ = [
    "MIXES",
    "ChipCards",
    "Kind",
    "MixError",
    "chip_card_data",
    "choose_kind",
    "load_chip_cards",
]

Kind = Literal["magstripe", "chip", "contactless"]

#: Mix name -> share of each request kind (reversals and declines come on top, by the caller).
MIXES: Final[dict[str, dict[Kind, float]]] = {
    "magstripe": {"magstripe": 1.0},
    "chip": {"chip": 1.0},
    "contactless": {"contactless": 1.0},
    # a day at a busy acquirer: most cards dipped, a share tapped, the rest swiped
    "mixed": {"magstripe": 0.3, "chip": 0.5, "contactless": 0.2},
}

#: Chip cards per terminal: one with funds, one nearly empty for the planned declines.
CHIP_CARDS_PER_TERMINAL: Final = 2
_CHIP_BASE: Final = "unionpay-debit"  # chip + QuickPass, online PIN
_EMPTY_BALANCE: Final = 1_000  # minor units: a planned decline (5,000+) is a 51


class MixError(ValueError):
    """An unknown traffic mix name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"mix must be one of {', '.join(MIXES)}, not {name!r}")
        self.name = name


def choose_kind(mix: str, rng: random.Random) -> Kind:
    """The kind of the next request under ``mix``."""
    try:
        shares = MIXES[mix]
    except KeyError:
        raise MixError(mix) from None
    kinds = list(shares)
    return kinds[0] if len(kinds) == 1 else rng.choices(kinds, weights=[shares[k] for k in kinds])[0]


@dataclasses.dataclass(frozen=True, slots=True)
class ChipCards:
    """One terminal's chip cards: ``funded`` for approvals, ``empty`` for planned declines."""

    funded: TestCard
    empty: TestCard


def load_chip_cards(terminals: int) -> list[ChipCards]:
    """Issuer chip cards for ``terminals`` terminals: the chip base card's BIN and profile,
    distinct PANs and PINs; seed them on the host before the run."""
    base = card_by_name(_CHIP_BASE)
    rng = random.Random(55)
    out = []
    for t in range(terminals):
        pair = []
        for j in range(CHIP_CARDS_PER_TERMINAL):
            body = base.pan[:6] + f"{800000000 + t * CHIP_CARDS_PER_TERMINAL + j:09d}"
            pan = body + luhn_check_digit(body)
            pair.append(
                dataclasses.replace(
                    base,
                    name=f"load-chip-{t}-{j}",
                    pan=pan,
                    pin=f"{rng.randrange(10**6):06d}",
                    balance=base.balance if j == 0 else _EMPTY_BALANCE,
                )
            )
        out.append(ChipCards(pair[0], pair[1]))
    return out


class _PinPad:
    """The kernel's PIN entry: the cardholder types the card's PIN, the terminal encrypts it."""

    def __init__(self, pin: str, encrypt: Callable[[str, str], bytes]) -> None:
        self._pin = pin
        self._encrypt = encrypt
        self.pin_block: bytes | None = None

    def online_pin(self, *, pan: str, amount: Amount) -> bool:
        self.pin_block = self._encrypt(self._pin, pan)
        return True

    def offline_pin(self, *, tries_left: int | None) -> str | None:
        return self._pin


def chip_card_data(
    engine: Any,
    chip: Any,
    card: TestCard,
    amount: Amount,
    *,
    contactless: bool,
    sequence_number: int,
    rng: random.Random,
) -> Any:
    """The request's card data (a :class:`poskit.iso8583.model.CardData`) after the EMV kernel's
    first phase with this card's virtual chip, built as the terminal builds it for the host."""
    from poskit.cards.icc import VirtualCardTransport
    from poskit.emv.kernel import EmvKernel
    from poskit.terminal.emv_flow import terminal_emv_config

    pin_pad = _PinPad(card.pin, engine.element.encrypt_pin)
    kernel = EmvKernel(
        terminal_emv_config(engine),
        VirtualCardTransport(chip, contactless=contactless),
        random=rng.randbytes,
        now=datetime.now,
        choose_application=None,
        pin_entry=pin_pad,
    )
    first = kernel.start(amount, contactless=contactless, sequence_number=sequence_number)
    if first.outcome != "online" or first.pan is None or first.icc_data is None:
        raise RuntimeError(f"the chip of {card.name} did not ask to go online: {first.outcome}")
    return engine._card_data(
        track=first.track2_equivalent,
        pan=first.pan,
        entry="tap" if contactless else "chip",
        pin_block=pin_pad.pin_block,
        icc_data=first.icc_data,
        card_sequence=(first.psn or "00").zfill(3),
        expiry=first.expiry,
    )
