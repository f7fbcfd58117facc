"""Field-level rules of docs/protocol.md, checked over TCP by the outside client, both dialects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

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


def _local_now(zone: str) -> str:
    return datetime.now(ZoneInfo(zone)).strftime("%m%d%H%M%S")


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_sign_on_answer_carries_a_reference_in_37(
    outside_terminal: Callable[..., OutsideTerminal], dialect: str, mac: str
) -> None:
    """The 0810 carries field 37: 12 digits, YDDD hhmmss of the host's clock and the trace's last 2 digits."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        answer = await t.sign_on()
        assert answer["39"] == "00"
        assert len(answer["37"]) == 12 and answer["37"].isdigit(), answer
        assert answer["37"][4:10] == answer["12"]
        assert answer["37"][10:] == answer["11"][-2:]


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_settlement_answer_carries_settlement_date_and_reference(
    outside_terminal: Callable[..., OutsideTerminal], dialect: str, mac: str
) -> None:
    """The 0510 carries field 15 (the business day's MMDD, = 13 of the answer) and a reference in 37."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        _, sale = await t.sale(*_card(), amount_minor=250)
        assert sale["39"] == "00"
        settled = await t.settle(250, 1)
        assert settled["39"] == "00", settled
        assert settled["15"] == settled["13"]
        assert len(settled["37"]) == 12 and settled["37"].isdigit()


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_field_44_carries_issuer_and_acquirer_codes(
    outside_terminal: Callable[..., OutsideTerminal], dialect: str, mac: str
) -> None:
    """Field 44 of a sale answer: the issuing institution code (CCB 01050000 for a 621700 card),
    space-padded to 11, then the acquirer's institution code, as in field 32."""
    pan, track2, pin = _card()
    assert pan.startswith("621700")
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        _, answer = await t.sale(pan, track2, pin, amount_minor=100)
        assert answer["39"] == "00"
        assert answer["44"][:11] == "01050000   "
        assert answer["44"][11:] == answer["32"] == "48020000"


@pytest.mark.parametrize(
    ("merchant", "zone"), [("898310058120001", "Asia/Shanghai"), ("898234058120003", "Africa/Lagos")]
)
@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_fields_12_13_are_in_the_acquirers_time_zone(
    outside_terminal: Callable[..., OutsideTerminal], dialect: str, mac: str, merchant: str, zone: str
) -> None:
    """12/13 of the 0810 are the wall clock of the terminal's acquirer's configured zone."""
    async with outside_terminal(dialect=dialect, mac=mac, merchant=merchant) as t:
        before = _local_now(zone)
        answer = await t.sign_on()
        after = _local_now(zone)
        assert answer["39"] == "00"
        assert before <= answer["13"] + answer["12"] <= after, (before, answer["13"] + answer["12"], after)


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_unregistered_terminal_answer_uses_the_home_acquirers_zone(
    outside_terminal: Callable[..., OutsideTerminal], dialect: str, mac: str
) -> None:
    """An 0800 from a terminal ID nobody registered: 97, with 12/13 in the first acquirer's zone."""
    known = outside_terminal(dialect=dialect, mac=mac)
    async with OutsideTerminal(
        known.address, "NOSUCH01", known.mid, known.tmk, dialect=dialect, mac=mac
    ) as stranger:
        before = _local_now("Asia/Shanghai")
        answer = await stranger.sign_on()
        after = _local_now("Asia/Shanghai")
        assert answer["39"] == "97"
        assert before <= answer["13"] + answer["12"] <= after
