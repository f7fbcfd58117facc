"""Field-level rules of docs/protocol.md, checked over TCP by the outside client, both dialects."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.outside.client import OutsideTerminal

from poskit.cards.book import card_by_name
from poskit.cards.magstripe import track2_for

DIALECTS = [("cups", "cups-ecb"), ("ascii87", "x919")]


def _card() -> tuple[str, str, str]:
    card = card_by_name("magstripe-debit")
    return card.pan, str(track2_for(card)), card.pin


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_nineteen_digit_field_60_is_decoded_and_answered(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """A sale whose field 60 has the 19 digits of a UnionPay production terminal (60.1-60.8) is approved."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance("magstripe-debit")
        request = t.sale_request(*_card(), amount_minor=321)
        code = "22" if dialect == "cups" else "00"
        request["60"] = f"{code}{t.batch:06d}000" + "601" + "000" + "00"
        assert len(request["60"]) == 19
        answer = await t.exchange(request)
        assert answer["39"] == "00", answer
        assert answer["60"][:11] == request["60"][:11]
        assert issuer_balance("magstripe-debit") == before - 321


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_eighteen_digit_field_60_is_a_format_error(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """Field 60 of 18 digits is no valid sub-field cut (60.8 is n2): answered 30, nothing charged."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance("magstripe-debit")
        request = t.sale_request(*_card(), amount_minor=321)
        request["60"] = request["60"][:11] + "601" + "000" + "0"
        answer = await t.exchange(request)
        assert answer["39"] == "30", answer
        assert issuer_balance("magstripe-debit") == before
