"""Traffic mixes of ``poskit bench host``: request kinds, per-terminal chip cards, real ARQCs."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from poskit.benchmarks import host as host_bench
from poskit.benchmarks._harness import terminal_engine
from poskit.benchmarks._mix import MIXES, MixError, chip_card_data, choose_kind, load_chip_cards
from poskit.cards.icc import virtual_card
from poskit.cards.pan import luhn_valid
from poskit.cards.test_keys import TEST_IMK_AC
from poskit.config import Settings
from poskit.emv.issuer import parse_field55, verify_arqc
from poskit.iso8583.model import EntryMode
from poskit.money import Amount
from poskit.testing import LiveServices


def test_single_kind_mixes_and_the_mixed_shares() -> None:
    """magstripe/chip/contactless mixes give only their kind; mixed gives about 30/50/20 %."""
    rng = random.Random(1)
    for kind in ("magstripe", "chip", "contactless"):
        assert {choose_kind(kind, rng) for _ in range(50)} == {kind}
    counts = Counter(choose_kind("mixed", rng) for _ in range(10_000))
    for kind, share in MIXES["mixed"].items():
        assert abs(counts[kind] / 10_000 - share) < 0.03


def test_unknown_mix_is_refused() -> None:
    """An unknown mix name is a MixError (a ValueError the CLI reports), before any work."""
    with pytest.raises(MixError, match="magstripe, chip, contactless, mixed"):
        choose_kind("swipe-only", random.Random(1))
    with pytest.raises(MixError):
        host_bench.run(quick=True, mix="swipe-only")


def test_chip_cards_are_distinct_per_terminal() -> None:
    """Every terminal gets its own funded and nearly empty chip card, with valid distinct PANs."""
    pairs = load_chip_cards(50)
    pans = [c.pan for p in pairs for c in (p.funded, p.empty)]
    assert len(set(pans)) == 100 and all(luhn_valid(p) for p in pans)
    assert all(p.funded.has("chip") and p.funded.has("contactless") for p in pairs)
    assert all(p.empty.balance < 5_000 <= p.funded.balance for p in pairs)


@pytest.mark.parametrize("contactless", [False, True])
def test_chip_request_carries_an_arqc_the_issuer_verifies(
    demo_settings: Settings, live_host: LiveServices, contactless: bool
) -> None:
    """The card data of a chip (PIN) or contactless (no CVM) request holds field 55 with an ARQC
    that verifies under the issuer's master key, and successive requests raise the ATC."""
    _store, engine = terminal_engine(
        demo_settings, live_host.address, "B0000001" if contactless else "B0000002", "magstripe-debit"
    )
    try:
        assert asyncio.run(engine.sign_on()).approved
        card = load_chip_cards(1)[0].funded
        chip = virtual_card(card)
        last_atc = None
        for stan in (1, 2):
            data = chip_card_data(
                engine,
                chip,
                card,
                Amount.of(1234, "CNY"),
                contactless=contactless,
                sequence_number=stan,
                rng=random.Random(stan),
            )
            assert data.entry_mode == (EntryMode.CONTACTLESS_CHIP if contactless else EntryMode.CHIP)
            assert (data.pin_block is None) is contactless  # QPS: no CVM under the limit
            assert data.icc_data is not None
            check = verify_arqc(
                imk_ac=TEST_IMK_AC,
                pan=card.pan,
                psn=(data.card_sequence or "00")[-2:],
                icc=parse_field55(data.icc_data),
                last_atc=last_atc,
            )
            assert check.ok, check.reason
            assert check.cryptogram_type == "ARQC"
            last_atc = check.atc
    finally:
        _store.close()


@pytest.mark.slow
def test_mixed_run_is_answered_and_the_ledger_balances() -> None:
    """A short mixed closed-loop run against the host process: every request answered (00 or the
    planned 51s), chip and contactless among them, no errors, ledger check clean."""
    result = host_bench.run(quick=True, terminals=4, requests=120, idle=0, mix="mixed")
    data = result.data
    assert data["errors"] == [] and data["answered"] == data["requests"] == 120
    assert set(data["codes"]) <= {"00", "51"}
    assert data["codes"].get("51", 0) == data["declines_planned"]
    assert data["kinds"]["chip"] > 0 and data["kinds"]["contactless"] > 0
    assert data["ledger_ok"] is True
    assert result.name == "host-mixed"
