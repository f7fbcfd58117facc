"""The issuer simulator's track checks: service code against its record, CVV on the stripe,
iCVV on the chip's track 2 equivalent."""

from __future__ import annotations

from poskit.cards.book import card_by_name
from poskit.cards.magstripe import chip_track2_for, track2_for
from poskit.cards.test_keys import TEST_CVK
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.host.issuer import IssuerCard, check_track_data

CARD = card_by_name("unionpay-debit")
RECORD = IssuerCard(
    1, 1, CARD.name, "001", CARD.expiry, CARD.service_code, "active", "visa-pvv", "1", "0000", 0, 3, None
)


def _check(track: object, *, chip_read: bool, fallback: bool = True) -> str | None:
    hsm = SoftHSM(LocalMasterKey.generate())
    cvk = hsm.import_clear_key(TEST_CVK, "C0", algorithm="TDES", exportability="N")
    decision = check_track_data(
        hsm,
        cvk,
        RECORD,
        track,  # type: ignore[arg-type]
        pan=CARD.pan,
        swiped=not chip_read,
        fallback=fallback,
        chip_read=chip_read,
    )
    return None if decision is None else decision.response_code


def test_stripe_needs_cvv_and_chip_needs_icvv() -> None:
    """A chip read passes with the iCVV and fails (05) with the stripe's CVV; a fallback swipe the
    other way round; a swipe of a chip card without fallback is 45; no track on a swipe is 30."""
    assert _check(chip_track2_for(CARD), chip_read=True) is None
    assert _check(track2_for(CARD), chip_read=True) == "05"
    assert _check(track2_for(CARD), chip_read=False) is None
    assert _check(chip_track2_for(CARD), chip_read=False) == "05"
    assert _check(track2_for(CARD), chip_read=False, fallback=False) == "45"
    assert _check(None, chip_read=False) == "30"
