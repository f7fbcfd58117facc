"""The test cards' tracks carry real CVVs and iCVVs under the published test CVK."""

from __future__ import annotations

import psec

from poskit.cards.book import CARD_BOOK
from poskit.cards.magstripe import ICVV_SERVICE_CODE, chip_track2_for, track2_for
from poskit.cards.test_keys import TEST_CVKS, cvk_range
from poskit.crypto.cvv import generate_cvv
from poskit.host.issuer import CVV_OFFSET


def test_published_visa_cvv_example() -> None:
    """The Visa method's published example: CVK 0123456789ABCDEF FEDCBA9876543210, PAN
    4123456789012345, expiry 8701, service code 101 gives CVV 561."""
    cvk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert generate_cvv(cvk, "4123456789012345", "8701", "101") == "561"


def test_stripe_cvv_and_chip_icvv_agree_with_psec() -> None:
    """Each card's stripe carries psec's CVV over its service code at the issuer's offset, and its
    chip's track 2 equivalent psec's iCVV (service code 999), with the same service code shown."""
    for card in CARD_BOOK:
        stripe, chip = track2_for(card), chip_track2_for(card)
        cvk = TEST_CVKS[cvk_range(card.pan)]
        cvv = psec.cvv.generate_cvv(cvk, card.pan, card.expiry, card.service_code)
        icvv = psec.cvv.generate_cvv(cvk, card.pan, card.expiry, ICVV_SERVICE_CODE)
        assert len(cvv) == 3 and len(icvv) == 3, card.name  # no top-up case among the test cards
        assert stripe.discretionary[CVV_OFFSET : CVV_OFFSET + 3] == cvv, card.name
        assert chip.discretionary[CVV_OFFSET : CVV_OFFSET + 3] == icvv, card.name
        assert chip.service_code == stripe.service_code == card.service_code
        assert len(str(chip)) <= 37


def test_each_bin_range_has_its_own_cvk() -> None:
    """Visa (4), Mastercard/Verve (5) and the other cards are personalised under different CVKs,
    chosen by the longest matching PAN prefix."""
    assert cvk_range("4761739001010010") == "4" and cvk_range("5555555555554444") == "5"
    assert cvk_range("6222021001123456789") == ""
    assert len(set(TEST_CVKS.values())) == len(TEST_CVKS)
