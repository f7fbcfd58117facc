"""A card refused before the issuer is still a transaction the merchant can see (issue 16).

A replayed ATC (34), a cryptogram that does not verify (59) or a stripe whose CVV is wrong (05)
is an attempt at the merchant's counter: it is recorded as a declined transaction and listed in
the portal, and a repeat of it gets the same answer. A request that fails authentication (bad
MAC, A0) is not the merchant's: nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.outside.cards import book_card
from tests.outside.client import OutsideTerminal
from tests.outside.test_card_authentication import _other_cvv
from tests.outside.test_money import CHIP, _chip_sale  # the chip card whose ATC the outside tests own

from poskit.portal.accounts import get_user
from poskit.portal.data.transactions import TxnFilter, list_transactions
from poskit.store.db import make_engine

DIALECTS = [("cups", "cups-ecb"), ("ascii87", "x919")]


def _listed(demo_settings: Any, tid: str) -> list[dict[str, Any]]:
    """The merchant owner's portal transaction list for one terminal, newest first."""
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            cafe = get_user(conn, "cafe")
            assert cafe is not None
            page = list_transactions(conn, cafe, TxnFilter(terminal=tid), tz=ZoneInfo("Asia/Shanghai"))
            return page.rows
    finally:
        engine.dispose()


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_replayed_atc_is_declined_34_and_listed_in_the_portal(
    outside_terminal: Callable[..., OutsideTerminal],
    last_online_atc: Callable[[str], int],
    issuer_balance: Callable[[str], int],
    demo_settings: Any,
    dialect: str,
    mac: str,
) -> None:
    """After a chip sale at ATC n, another sale (new trace) at ATC n is 34; the portal lists it
    as declined 34 beside the approved one; its repeat is answered 34 again; no money moves."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        atc = last_online_atc(CHIP) + 1
        first = await t.exchange(_chip_sale(t, atc, bytes.fromhex("01020304"), 1200))
        assert first["39"] == "00", first
        before = issuer_balance(CHIP)
        replay = _chip_sale(t, atc, bytes.fromhex("05060708"), 1300)
        answer = await t.exchange(replay)
        assert answer["39"] == "34", answer
        assert (await t.exchange(replay))["39"] == "34"  # the repeat: the recorded answer
        assert issuer_balance(CHIP) == before
        rows = _listed(demo_settings, t.tid)
        assert [(r["status"], r["response_code"], r["amount"]) for r in rows] == [
            ("declined", "34", 1300),
            ("approved", "00", 1200),
        ]


async def test_stripe_with_a_wrong_cvv_is_listed_but_a_bad_mac_is_not(
    outside_terminal: Callable[..., OutsideTerminal], demo_settings: Any
) -> None:
    """A swipe whose CVV does not verify (05) is listed as a declined attempt; the same sale with
    a forged MAC (A0) is not the terminal's and leaves no row."""
    card = book_card("magstripe-debit")
    wrong = _other_cvv(card["track2"])
    async with outside_terminal() as t:
        assert (await t.sign_on())["39"] == "00"
        forged = t.sale_request(card["pan"], card["track2"], card["pin"], 700)
        payload = t.forge_mac(t.encode(forged, mac=True))
        refused = t.decode(await t.send_raw(payload) or b"")
        assert refused["39"] == "A0", refused
        assert _listed(demo_settings, t.tid) == []
        declined = await t.exchange(t.sale_request(card["pan"], wrong, card["pin"], 700))
        assert declined["39"] == "05", declined
        assert [(r["status"], r["response_code"]) for r in _listed(demo_settings, t.tid)] == [
            ("declined", "05")
        ]
