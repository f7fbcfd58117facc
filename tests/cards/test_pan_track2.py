"""PANs, Luhn, masking and track 2 parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poskit.cards.bins import lookup_bin
from poskit.cards.book import CARD_BOOK, UnknownCardError, card_by_name
from poskit.cards.magstripe import track2_for
from poskit.cards.pan import PanError, luhn_check_digit, luhn_valid, mask_pan, validate_pan
from poskit.cards.track2 import ServiceCode, Track2, Track2Error


def test_published_test_pans_pass_luhn() -> None:
    """Well-known gateway test PANs are Luhn-valid; a changed digit is not."""
    for pan in ("4111111111111111", "5555555555554444", "6250946000000016", "4761739001010010"):
        assert luhn_valid(pan)
    assert not luhn_valid("4111111111111112")


@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_check_digit_makes_any_body_valid(body: str) -> None:
    """Appending the computed check digit always yields a valid PAN."""
    assert luhn_valid(body + luhn_check_digit(body))


def test_validate_pan_names_position() -> None:
    """A non-digit is reported with its 1-based position; a bad check digit at the last position."""
    with pytest.raises(PanError, match="position 5"):
        validate_pan("4111X11111111111")
    with pytest.raises(PanError, match="Luhn"):
        validate_pan("4111111111111112")
    with pytest.raises(PanError, match="length"):
        validate_pan("41111")


def test_mask_shows_first_six_and_last_four() -> None:
    """Masking keeps the BIN and last four only."""
    assert mask_pan("6222021001123456789") == "622202*********6789"
    assert mask_pan("4111111111111111") == "411111******1111"


def test_track2_parse_and_service_code_rules() -> None:
    """Track 2 parses with = or D; service code 2xx marks a chip card, xx0 a PIN requirement."""
    t = Track2.parse(";4761739001010010=30122011234567890?")
    assert t.pan == "4761739001010010" and t.expiry == "3012" and t.service_code == "201"
    assert Track2.parse("4761739001010010D30122011234567890F") == t
    assert ServiceCode("201").chip_card and not ServiceCode("101").chip_card
    assert ServiceCode("120").pin_required and not ServiceCode("201").pin_required
    assert t.to_field35().startswith("4761739001010010D3012")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("4761739001010010", "separator"),
        ("4761739001010011=3012201", "Luhn"),
        ("4761739001010010=3013201", "month"),
        ("4761739001010010=30", "missing"),
        ("4761739001010010=3012A01", "not a digit"),
    ],
)
def test_track2_bad_input(text: str, reason: str) -> None:
    """Malformed tracks raise Track2Error with the reason."""
    with pytest.raises(Track2Error, match=reason):
        Track2.parse(text)


def test_track2_repr_hides_card_data() -> None:
    """The repr of a track never contains the PAN or expiry."""
    t = Track2.parse("4761739001010010=30122011234567890")
    assert "4761739001010010" not in repr(t) and "3012" not in repr(t)


def test_card_book_is_consistent() -> None:
    """The book has at least 10 cards covering the scenarios, all Luhn-valid, unique names and PANs."""
    assert len(CARD_BOOK) >= 10
    assert len({c.name for c in CARD_BOOK}) == len(CARD_BOOK)
    assert len({c.pan for c in CARD_BOOK}) == len(CARD_BOOK)
    assert all(luhn_valid(c.pan) for c in CARD_BOOK)
    kinds = {c.funding for c in CARD_BOOK}
    assert kinds == {"debit", "credit"}
    assert any(c.interfaces == ("magstripe",) for c in CARD_BOOK)
    assert any("contactless" in c.interfaces for c in CARD_BOOK)
    assert {"blocked", "lost", "stolen"} <= {c.status for c in CARD_BOOK}
    assert any(c.expiry < "2601" for c in CARD_BOOK)
    assert any(c.daily_limit for c in CARD_BOOK)
    assert len({c.pan[:6] for c in CARD_BOOK}) >= 5


def test_unknown_card_lists_the_book() -> None:
    """Asking for a missing card names the cards that exist."""
    with pytest.raises(UnknownCardError, match="unionpay-debit"):
        card_by_name("no-such-card")


def test_bin_table_longest_prefix() -> None:
    """The BIN table gives scheme, funding and origin; longest prefix wins."""
    assert lookup_bin("6222021001123456789").funding == "debit"
    assert lookup_bin("6250946000000016").funding == "credit"
    visa = lookup_bin("4761739001010010")
    assert visa.scheme == "visa" and visa.origin("156") == "foreign"


def test_test_card_tracks_are_valid_and_fit() -> None:
    """Every stripe track parses back, carries the card's expiry/service code and fits 37 chars."""
    for card in CARD_BOOK:
        track = track2_for(card)
        assert len(str(track)) <= 37
        assert Track2.parse(str(track)) == track
        assert track.expiry == card.expiry and track.service_code == card.service_code
