"""Money rules from outside (protocol.md §8.3): duplicates, reversed repeats, late originals, reversals.

Every request here is built by the outside client from the JSON dialect specs with its own
crypto; the cards are the public test data of ``poskit cards --json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.outside.cards import book_card
from tests.outside.client import OutsideTerminal, icc_data
from tests.outside.flags import flag_kinds, terminal_flags

from poskit.cards.test_keys import TEST_IMK_AC  # published test data, like the cards themselves

DIALECTS = [("cups", "cups-ecb"), ("ascii87", "x919")]
STRIPE = "magstripe-debit"


def _stripe_sale(t: OutsideTerminal, amount_minor: int) -> dict[str, str]:
    card = book_card(STRIPE)
    return t.sale_request(card["pan"], card["track2"], card["pin"], amount_minor)


def _other_card_sale(t: OutsideTerminal, amount_minor: int) -> dict[str, str]:
    """A chip card read as a fallback swipe (so the host reads its stripe)."""
    card = book_card("mastercard-credit")
    return t.sale_request(card["pan"], card["track2"], card["pin"], amount_minor, entry="80")


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_repeat_with_other_content_is_refused_94_and_flagged(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    demo_settings: Any,
    dialect: str,
    mac: str,
) -> None:
    """Same key with another amount or card: 94 without 37/38, no debit, a duplicate_mismatch flag
    in `poskit terminals show`; the true repeat gets the original's RRN and authorisation code."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance(STRIPE), issuer_balance("mastercard-credit")
        sale = _stripe_sale(t, 777)
        first = await t.exchange(sale)
        assert first["39"] == "00", first
        other_amount = await t.exchange({**_stripe_sale(t, 7770), "11": sale["11"]})
        assert other_amount["39"] == "94", other_amount
        assert "37" not in other_amount and "38" not in other_amount
        other_card = await t.exchange({**_other_card_sale(t, 777), "11": sale["11"]})
        assert other_card["39"] == "94", other_card
        assert (issuer_balance(STRIPE), issuer_balance("mastercard-credit")) == (before[0] - 777, before[1])
        assert "duplicate_mismatch" in flag_kinds(demo_settings.data_dir, t.tid)
        repeat = await t.exchange(sale)
        assert repeat["39"] == "00"
        assert (repeat["37"], repeat["38"]) == (first["37"], first["38"])
        assert issuer_balance(STRIPE) == before[0] - 777


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_repeat_of_a_reversed_sale_is_answered_12(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """A sale, its reversal, then the same sale again: 12 (never the old 00), the money stays returned."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance(STRIPE)
        sale = _stripe_sale(t, 500)
        assert (await t.exchange(sale))["39"] == "00"
        assert (await t.reversal(sale))["39"] == "00"
        assert issuer_balance(STRIPE) == before
        again = await t.exchange(sale)
        assert again["39"] == "12", again
        assert "38" not in again
        assert issuer_balance(STRIPE) == before


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_late_original_after_an_orphan_reversal_is_refused_12(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """A reversal naming a sale the host never saw is acknowledged 00; that sale arriving late is
    refused 12 in both dialects (cups: same trace; ascii87: field 90) and nothing is charged."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        sale = _stripe_sale(t, 1200)
        orphan = await t.reversal(sale)
        assert orphan["39"] == "00", orphan
        before = issuer_balance(STRIPE)
        late = await t.exchange(sale)
        assert late["39"] == "12", late
        assert issuer_balance(STRIPE) == before


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_reversal_with_another_amount_or_card_reverses_nothing(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    demo_settings: Any,
    dialect: str,
    mac: str,
) -> None:
    """A reversal with another amount is answered 64, with another card 25; the sale stays charged,
    each raises a high reversal_mismatch flag shown by `poskit terminals show`, and the matching
    reversal that follows still undoes it."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance(STRIPE)
        sale = _stripe_sale(t, 900)
        assert (await t.exchange(sale))["39"] == "00"
        partial = await t.reversal(sale, **{"4": f"{100:012d}"})
        assert partial["39"] == "64", partial
        other_card = await t.reversal(sale, **{"2": book_card("mastercard-credit")["pan"]})
        assert other_card["39"] == "25", other_card
        assert issuer_balance(STRIPE) == before - 900
        flagged = [
            f for f in terminal_flags(demo_settings.data_dir, t.tid) if f["kind"] == "reversal_mismatch"
        ]
        assert sorted(f["details"]["difference"] for f in flagged) == ["amount", "card"]
        assert {f["severity"] for f in flagged} == {"high"}
        matching = await t.reversal(sale)
        assert matching["39"] == "00", matching
        assert issuer_balance(STRIPE) == before


CHIP = "mastercard-credit"  # a chip card no live-host chip test uses, so its ATC is ours


def _chip_sale(
    t: OutsideTerminal, atc: int, unpredictable: bytes, amount_minor: int = 840, stan: str | None = None
) -> dict[str, str]:
    card = book_card(CHIP)
    psn = card["card_sequence"]
    icc = icc_data(
        TEST_IMK_AC,
        card["pan"],
        psn,
        amount_minor=amount_minor,
        atc=atc,
        unpredictable=unpredictable,
        aid="A0000000041010",
    )
    request = t.chip_sale_request(card["pan"], psn, card["track2_equivalent"], icc, amount_minor)
    return request if stan is None else {**request, "11": stan}


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_chip_repeat_is_answered_from_the_original_only_with_its_cryptogram(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    last_online_atc: Callable[[str], int],
    demo_settings: Any,
    dialect: str,
    mac: str,
) -> None:
    """A chip sale repeated byte for byte gets the original 00, RRN and authorisation code (not an
    ATC-replay 34); the same key and ATC with another, valid, cryptogram (new unpredictable number)
    is refused 94, debits nothing and raises a duplicate_mismatch flag."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance(CHIP)
        atc = last_online_atc(CHIP) + 1
        sale = _chip_sale(t, atc, bytes.fromhex("11223344"))
        first = await t.exchange(sale)
        assert first["39"] == "00", first
        assert issuer_balance(CHIP) == before - 840
        repeat = await t.exchange(sale)
        assert repeat["39"] == "00", repeat
        assert (repeat["37"], repeat["38"]) == (first["37"], first["38"])
        other_cryptogram = await t.exchange(_chip_sale(t, atc, bytes.fromhex("55667788"), stan=sale["11"]))
        assert other_cryptogram["39"] == "94", other_cryptogram
        assert "37" not in other_cryptogram and "38" not in other_cryptogram
        assert issuer_balance(CHIP) == before - 840
        flags = terminal_flags(demo_settings.data_dir, t.tid)
        flagged = [f for f in flags if f["kind"] == "duplicate_mismatch"]
        assert [f["severity"] for f in flagged] == ["high"]
        assert "cryptogram" in flagged[0]["summary"] and "amount" not in flagged[0]["summary"]


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_repeated_reversal_replays_only_with_the_same_content(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    demo_settings: Any,
    dialect: str,
    mac: str,
) -> None:
    """A reversal sent again byte for byte gets its stored 00 and reverses nothing twice; under its
    key with another amount it is refused 94 with a duplicate_mismatch flag."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance(STRIPE)
        sale = _stripe_sale(t, 650)
        assert (await t.exchange(sale))["39"] == "00"
        reversal = t.reversal_request(sale)
        assert (await t.exchange(reversal))["39"] == "00"
        assert (await t.exchange(reversal))["39"] == "00"
        assert issuer_balance(STRIPE) == before
        other_amount = await t.exchange({**reversal, "4": f"{65:012d}"})
        assert other_amount["39"] == "94", other_amount
        assert issuer_balance(STRIPE) == before
        assert "duplicate_mismatch" in flag_kinds(demo_settings.data_dir, t.tid)


async def test_ascii87_reused_reversal_trace_naming_another_sale_is_94(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    demo_settings: Any,
) -> None:
    """ascii87 reversals have their own trace: one reusing a stored reversal's trace but naming
    another sale in field 90 is refused 94 (not the stored 00), that sale stays charged, and its
    own reversal under a fresh trace still undoes it."""
    async with outside_terminal(dialect="ascii87", mac="x919") as t:
        assert (await t.sign_on())["39"] == "00"
        before = issuer_balance(STRIPE)
        first, second = _stripe_sale(t, 410), _stripe_sale(t, 420)
        assert (await t.exchange(first))["39"] == "00"
        assert (await t.exchange(second))["39"] == "00"
        reversal = t.reversal_request(first)
        assert (await t.exchange(reversal))["39"] == "00"
        assert issuer_balance(STRIPE) == before - 420
        reused = {**t.reversal_request(second), "11": reversal["11"]}
        answer = await t.exchange(reused)
        assert answer["39"] == "94", answer
        assert issuer_balance(STRIPE) == before - 420
        flags = terminal_flags(demo_settings.data_dir, t.tid)
        assert any(f["kind"] == "duplicate_mismatch" and "original" in f["summary"] for f in flags)
        assert (await t.reversal(second))["39"] == "00"
        assert issuer_balance(STRIPE) == before
