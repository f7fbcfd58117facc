"""The host as an outside terminal sees it over TCP, both dialects (protocol.md contract)."""

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
async def test_sign_on_sale_reversal_settlement(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """Sign-on keys pass their KCVs; the sale debits, the reversal credits back; settlement answers 00."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance("magstripe-debit")
        sale, answer = await t.sale(*_card(), amount_minor=1234)
        assert answer["39"] == "00", answer
        assert len(answer["37"]) == 12 and answer["38"].strip()
        assert issuer_balance("magstripe-debit") == before - 1234
        assert (await t.reversal(sale))["39"] == "00"
        assert issuer_balance("magstripe-debit") == before
        settled = await t.settle(0, 0)
        assert settled["39"] == "00", settled


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_forged_mac_gets_a0_and_the_next_genuine_sale_00(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """A sale with one flipped MAC bit: A0 and no debit; the genuine terminal's next sale is 00."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance("magstripe-debit")
        payload = t.encode(t.sale_request(*_card(), amount_minor=500), mac=True)
        forged = await t.send_raw(t.forge_mac(payload))
        assert forged is not None and t.decode(forged)["39"] == "A0"
        assert issuer_balance("magstripe-debit") == before
        _, genuine = await t.sale(*_card(), amount_minor=500)
        assert genuine["39"] == "00"
        assert issuer_balance("magstripe-debit") == before - 500


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_echo_is_answered_00(
    outside_terminal: Callable[..., OutsideTerminal], dialect: str, mac: str
) -> None:
    """The echo test (cups 0820 60.3=301, ascii87 0800 70=301) is answered 00 without a MAC."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        assert (await t.echo())["39"] == "00"


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_operator_field_with_nul_is_refused_30(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """Field 63 (operator, ans) carrying a NUL byte is a format error: 30, no debit."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance("magstripe-debit")
        request = {**t.sale_request(*_card(), amount_minor=300), "63": "0\x001"}
        answer = await t.exchange(request)
        assert answer["39"] == "30", answer
        assert issuer_balance("magstripe-debit") == before
