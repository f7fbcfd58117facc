"""Magnetic stripe data of the test cards, computed from the published test issuer keys.

Track 2 discretionary data follows the common issuer layout: PIN verification key
index (1 digit), PVV (4 digits, zeros for IBM 3624 cards), CVV (3 digits), then
zero padding up to the 37-character track 2 maximum. The chip's track 2 equivalent (tag 57)
has the same layout with an iCVV (the CVV computed with service code 999) instead.
"""

from __future__ import annotations

import functools

from poskit.cards.book import TestCard
from poskit.cards.test_keys import TEST_CVKS, TEST_PVK_VISA, TEST_PVKI, cvk_range
from poskit.cards.track2 import Track2
from poskit.crypto.cvv import generate_cvv
from poskit.crypto.pinverify import generate_pvv

__all__ = ["ICVV_SERVICE_CODE", "MAX_TRACK2", "chip_track2_for", "track2_for"]

MAX_TRACK2 = 37
#: The service code an iCVV is computed with (EMV: the chip's track 2 equivalent).
ICVV_SERVICE_CODE = "999"


def _track2(card: TestCard, cvv_service_code: str) -> Track2:
    if card.pin_method == "visa-pvv":
        pin_data = TEST_PVKI + generate_pvv(TEST_PVK_VISA, card.pin, pan=card.pan, pvki=TEST_PVKI)
    else:
        pin_data = "00000"
    cvv = generate_cvv(TEST_CVKS[cvk_range(card.pan)], card.pan, card.expiry, cvv_service_code)
    discretionary = pin_data + cvv
    used = len(card.pan) + 1 + 4 + 3 + len(discretionary)
    discretionary += "0" * max(0, MAX_TRACK2 - used)
    return Track2(
        pan=card.pan, expiry=card.expiry, service_code=card.service_code, discretionary=discretionary
    )


@functools.cache
def track2_for(card: TestCard) -> Track2:
    """The track 2 this test card's stripe carries (CVV over its service code)."""
    return _track2(card, card.service_code)


@functools.cache
def chip_track2_for(card: TestCard) -> Track2:
    """The track 2 equivalent in this card's chip (tag 57): an iCVV (service code 999) in place
    of the CVV, so a track copied from the chip cannot be written to a stripe."""
    return _track2(card, ICVV_SERVICE_CODE)
