"""Personalisation: the certificate chain, track 2, keys and every chip profile of the book."""

from __future__ import annotations

import datetime as dt

import pytest

from poskit.cards.book import CARD_BOOK, card_by_name
from poskit.cards.icc import (
    ATTACK_CARDS,
    ATTACK_PROFILES,
    PROFILES,
    VirtualCardTransport,
    personalise,
    profile_by_name,
    reset_virtual_cards,
    virtual_card,
    virtual_card_for,
)
from poskit.cards.icc.keys import ca_key, icc_key, issuer_key
from poskit.cards.icc.personalise import expiry_date, static_data, track2_equivalent
from poskit.cards.magstripe import chip_track2_for, track2_for
from poskit.cards.test_keys import TEST_IMK_AC
from poskit.crypto.emv import derive_icc_master_key
from poskit.emv.capk import load_test_ca_store
from poskit.emv.oda import recover_icc_key, recover_issuer_key, verify_sda
from poskit.emv.tlv import decode_flat


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_certificate_chain_verifies(name: str) -> None:
    """For every profile the CA -> issuer -> ICC chain and the SSAD verify like a terminal does."""
    image = personalise(
        card_by_name("unionpay-debit") if name in ("expired-card", "low-balance") else card_by_name(name),
        profile_by_name(name),
    )
    for app in image.applications:
        card: dict[str, bytes] = {}
        for record in app.records.values():
            card.update(decode_flat(record))
        static = static_data(app.records[(2, 1)], bytes.fromhex(app.profile.aip))
        today = dt.date(2025, 5, 1)
        issuer = recover_issuer_key(card, load_test_ca_store(), app.profile.aid[:10], today)
        assert issuer == issuer_key().public
        assert verify_sda(card, issuer, static) == b"\xda\xc1"
        assert recover_icc_key(card, issuer, static, today) == icc_key().public


def test_track2_and_dates() -> None:
    """Track 2 equivalent is PAN D YYMM service code discretionary, F-padded, with an iCVV."""
    card = card_by_name("unionpay-debit")
    assert track2_equivalent(card, "0000000000").hex().upper() == "6222021001123456789D30122200000000000F"
    assert expiry_date("3002") == "300228" and expiry_date("2802") == "280229"
    chip = personalise(card).applications[0].data["57"].hex().upper().rstrip("F")
    assert chip == chip_track2_for(card).to_field35()  # the chip carries an iCVV, not the CVV
    assert chip != track2_for(card).to_field35()


def test_keys_and_master_keys() -> None:
    """The chip holds MK-AC derived from the test IMK; key reprs hide secrets."""
    image = personalise(card_by_name("visa-credit"))
    assert image.mk_ac == derive_icc_master_key(TEST_IMK_AC, "4761739001010010", "01")
    assert image.mk_ac.hex() not in repr(image)
    assert ca_key().public.length * 8 == 1408
    assert issuer_key().public.length * 8 == 1152
    assert icc_key().public.length * 8 == 1024


def test_personalisation_is_deterministic() -> None:
    """The same card gives byte-identical records on every run (fixed test keys)."""
    card = card_by_name("mastercard-credit")
    first = personalise(card).applications[0].records
    second = personalise(card, profile_by_name("mastercard-credit")).applications[0].records
    assert first == second


def test_every_book_chip_profile_exists() -> None:
    """Each emv_profile named by the card book has a chip profile."""
    for card in CARD_BOOK:
        if card.emv_profile is not None:
            assert profile_by_name(card.emv_profile).name == card.emv_profile


def test_attack_cards_reuse_victim_data() -> None:
    """Attack cards carry a genuine card's PAN under their own profile."""
    assert {c.name for c in ATTACK_CARDS} == set(ATTACK_PROFILES)
    mixup = next(c for c in ATTACK_CARDS if c.name == "attack-brand-mixup")
    assert mixup.pan == card_by_name("mastercard-credit").pan
    assert virtual_card("attack-brand-mixup").image.applications[0].profile.aid == "A0000000031010"
    with pytest.raises(KeyError):
        profile_by_name("no-such-profile")


def test_card_without_chip() -> None:
    """Personalising a magstripe-only card without a profile is refused."""
    with pytest.raises(ValueError, match="no chip"):
        personalise(card_by_name("magstripe-debit"))


def test_personalised_aip_per_interface() -> None:
    """The issuer-side view of the AIP differs by interface."""
    app = profile_by_name("unionpay-debit").application("A000000333010101")
    assert app.personalised_aip("contact") == bytes.fromhex("7C00")
    assert app.personalised_aip("contactless") == bytes.fromhex("2000")
    with pytest.raises(KeyError):
        profile_by_name("unionpay-debit").application("A0")


def test_virtual_card_for_keeps_one_chip_per_card(monkeypatch: pytest.MonkeyPatch) -> None:
    """virtual_card_for returns the same chip (counters kept) until reset."""
    # Work on an empty cache of its own: the chips other tests hold keep their counters, since the
    # session's live host remembers each card's last ATC and would decline an older one (34).
    monkeypatch.setattr("poskit.cards.icc._CHIPS", {})
    chip = virtual_card_for("unionpay-debit")
    assert virtual_card_for(card_by_name("unionpay-debit")) is chip
    assert VirtualCardTransport(chip, contactless=True).interface == "contactless"
    reset_virtual_cards()
    assert virtual_card_for("unionpay-debit") is not chip
