"""Magstripe card authentication at the issuer, over TCP: CVV, service code, track, PIN."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from poskit.cards.book import TestCard, card_by_name
from poskit.cards.magstripe import track2_for
from poskit.cards.track2 import Track2
from poskit.iso8583.dialects import get_dialect
from poskit.iso8583.model import CardData, EntryMode, Request, TxnType
from poskit.money import Amount

pytestmark = pytest.mark.usefixtures("live_host")


def _swipe(
    counter: Any,
    card: TestCard,
    track: Track2 | None,
    *,
    pin: bool = True,
    fallback: bool = False,
) -> Request:
    return Request(
        TxnType.SALE,
        counter.terminal_id,
        "898310058120001",
        counter.store.next_stan(),
        counter.store.batch_no(),
        amount=Amount.parse("3.00", "CNY"),
        card=CardData(
            entry_mode=EntryMode.SWIPE,
            pan=None if track else card.pan,
            expiry=None if track else card.expiry,
            track2=track.to_field35() if track else None,
            pin_block=counter.element.encrypt_pin(card.pin, card.pan) if pin else None,
            pin_max_length=6,
        ),
        operator="01",
        local_datetime=datetime.now().replace(microsecond=0),
        reading_capability="6",
        chip_condition="2" if fallback else "0",
    )


async def _answer(counter: Any, request: Request) -> str:
    dialect = get_dialect("cups")
    raw = dialect.seal(dialect.encode_request(request), mac=counter.element.generate_mac)
    payload = await counter.link.exchange(dialect.frame(raw), timeout=10)
    envelope = dialect.unframe(payload)
    return str(dialect.decode_response(dialect.decode(envelope.message), envelope=envelope).response_code)


def _with_cvv(track: Track2, cvv: str) -> Track2:
    d = track.discretionary
    return dataclasses.replace(track, discretionary=d[:5] + cvv + d[8:])


async def test_card_authentication_declines_without_debiting(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """Wrong CVV 05; swipe without track 30; no PIN on a PIN-required card 55; chip card swiped
    without fallback 45 (even with a made-up 101 track); a made-up track under fallback 05 — and
    none of them debits the card, while the genuine track with its PIN is approved."""
    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    stripe_card, chip_card = card_by_name("magstripe-debit"), card_by_name("unionpay-debit")
    stripe = track2_for(stripe_card)
    good_cvv = stripe.discretionary[5:8]
    wrong_cvv = f"{(int(good_cvv) + 1) % 1000:03d}"
    made_up = Track2(chip_card.pan, chip_card.expiry, "101", "12345678")
    before = issuer_balance("magstripe-debit"), issuer_balance("unionpay-debit")

    assert await _answer(counter, _swipe(counter, stripe_card, _with_cvv(stripe, wrong_cvv))) == "05"
    assert await _answer(counter, _swipe(counter, stripe_card, None)) == "30"
    assert await _answer(counter, _swipe(counter, stripe_card, stripe, pin=False)) == "55"
    assert await _answer(counter, _swipe(counter, chip_card, made_up)) == "45"
    assert await _answer(counter, _swipe(counter, chip_card, track2_for(chip_card))) == "45"
    assert await _answer(counter, _swipe(counter, chip_card, made_up, fallback=True)) == "05"
    assert (issuer_balance("magstripe-debit"), issuer_balance("unionpay-debit")) == before

    assert await _answer(counter, _swipe(counter, stripe_card, stripe)) == "00"
    fallback = _swipe(counter, chip_card, track2_for(chip_card), fallback=True)
    assert await _answer(counter, fallback) == "00"
