"""Magstripe card authentication at the issuer, from outside (protocol.md §8.7), both dialects.

The tracks are the public test data of ``poskit cards --json``; the hostile variants are made
from them by the test, as anyone holding a card's PAN could.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.outside.cards import book_card
from tests.outside.client import OutsideTerminal

DIALECTS = [("cups", "cups-ecb"), ("ascii87", "x919")]
STRIPE, CHIP = "magstripe-debit", "unionpay-debit"


def _with_cvv(track2: str, cvv: str) -> str:
    """The track with its CVV (discretionary digits 6-8) replaced."""
    pan, rest = track2.split("=")
    discretionary = rest[7:]
    return f"{pan}={rest[:7]}{discretionary[:5]}{cvv}{discretionary[8:]}"


def _other_cvv(track2: str) -> str:
    good = track2.split("=")[1][7:][5:8]
    return _with_cvv(track2, f"{(int(good) + 1) % 1000:03d}")


async def _code(
    t: OutsideTerminal, card: str, track2: str | None, *, pin: bool = True, entry: str = "02"
) -> str:
    data = book_card(card)
    _, answer = await t.sale(
        data["pan"],
        track2,
        data["pin"] if pin else None,
        300,
        entry=entry,
        expiry=None if track2 else data["expiry"],
    )
    return answer["39"]


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_hostile_card_data_is_declined_without_debiting(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """Another CVV 05; a swipe without track 2 30; no PIN on the PIN-required card 55; a chip card
    swiped without the fallback indicator 45 (its real track or a made-up 101 track); a made-up
    track under fallback 05 — none debits a card — while the genuine swipe and fallback get 00."""
    stripe_track, chip = book_card(STRIPE)["track2"], book_card(CHIP)
    made_up = f"{chip['pan']}={chip['expiry']}10112345678"  # service code 101, junk discretionary data
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance(STRIPE), issuer_balance(CHIP)

        assert await _code(t, STRIPE, _other_cvv(stripe_track)) == "05"
        assert await _code(t, STRIPE, None) == "30"
        assert await _code(t, STRIPE, stripe_track, pin=False) == "55"
        assert await _code(t, CHIP, chip["track2"]) == "45"
        assert await _code(t, CHIP, made_up) == "45"
        assert await _code(t, CHIP, made_up, entry="80") == "05"
        assert await _code(t, CHIP, _other_cvv(chip["track2"]), entry="80") == "05"
        assert await _code(t, CHIP, chip["track2_equivalent"], entry="80") == "05"  # iCVV is not the stripe's
        assert (issuer_balance(STRIPE), issuer_balance(CHIP)) == before

        assert await _code(t, STRIPE, stripe_track) == "00"
        assert await _code(t, CHIP, chip["track2"], entry="80") == "00"
        assert (issuer_balance(STRIPE), issuer_balance(CHIP)) == (before[0] - 300, before[1] - 300)
