"""poskit's own terminal on the ascii87 dialect (international hosts): the same day, another wire format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from poskit.money import Amount

pytestmark = pytest.mark.usefixtures("live_host")


def cny(text: str) -> Amount:
    return Amount.parse(text, "CNY")


async def test_ascii87_terminal_sells_voids_refunds_and_settles(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """Sale (swipe and chip), void, refund and a balanced settlement, all in ascii87 with X9.19 MACs."""
    counter = new_counter(dialect="ascii87", mac_algorithm="x919")
    before = issuer_balance("magstripe-debit")
    sale = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("30.00"))
    assert sale.approved, sale.message
    chip = await counter.engine("unionpay-credit", entry="chip", pins=("111111",)).sale(cny("12.00"))
    assert chip.approved, chip.message
    void = await counter.engine().void(sale.stan, "123456")
    assert void.approved, void.message
    assert issuer_balance("magstripe-debit") == before
    date = counter.store.find_voucher(chip.stan).local_datetime.strftime("%m%d")
    refund = await counter.engine().refund(cny("2.00"), chip.rrn, date, "123456")
    assert refund.approved, refund.message
    settled = await counter.engine().settle()
    assert settled.approved and settled.extra["balanced"] is True, settled.message


async def test_ascii87_lost_answer_is_reversed(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int], drop_responses: Any
) -> None:
    """0420 with field 90 pointing at the original: the host finds and reverses it."""
    counter = new_counter(dialect="ascii87", mac_algorithm="x919")
    assert (await counter.engine().sign_on()).approved
    before = issuer_balance("magstripe-debit")
    lost = await counter.engine("magstripe-debit", pins=("654321",), link=drop_responses(counter.link)).sale(
        cny("7.00")
    )
    assert lost.reversal_pending
    nxt = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("1.00"))
    assert nxt.approved, nxt.message
    assert issuer_balance("magstripe-debit") == before - 100
