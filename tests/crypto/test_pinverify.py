"""IBM 3624 offsets and Visa PVV, against psec and by round trip."""

from __future__ import annotations

import psec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.crypto.errors import InputError
from poskit.crypto.pinverify import (
    decimalize_pvv,
    generate_ibm3624_offset,
    generate_pvv,
    ibm3624_natural_pin,
    ibm3624_validation_data,
    pvv_tsp,
    verify_ibm3624_offset,
    verify_pvv,
)

H = bytes.fromhex
keys = st.binary(min_size=16, max_size=16)
pins = st.text("0123456789", min_size=4, max_size=12)
pans = st.text("0123456789", min_size=13, max_size=19)


def test_psec_documented_offset_example() -> None:
    """psec's documented example: PIN 4524 with table 1234567890123456 has offset 0000."""
    pvk = H("0123456789ABCDEFFEDCBA9876543210")
    offset = generate_ibm3624_offset(
        pvk, "4524", validation_data="1122334455667788", decimalization="1234567890123456"
    )
    assert offset == "0000"


@settings(max_examples=100, deadline=None)
@given(pvk=keys, pin=pins, pan=pans)
def test_ibm3624_matches_psec(pvk: bytes, pin: str, pan: str) -> None:
    """Offsets agree with psec using poskit's validation data (12 PAN digits + FFFF)."""
    expected = psec.pin.generate_ibm3624_offset(pvk, "0123456789012345", pin, pan, len(pan) - 13, 12, "F")
    offset = generate_ibm3624_offset(pvk, pin, pan=pan)
    assert offset == expected
    assert verify_ibm3624_offset(pvk, pin, offset, pan=pan)


@settings(max_examples=100, deadline=None)
@given(pvk=keys, pin=st.text("0123456789", min_size=4, max_size=4), pan=pans, pvki=st.sampled_from("0123456"))
def test_pvv_matches_psec(pvk: bytes, pin: str, pan: str, pvki: str) -> None:
    """Visa PVVs agree with psec and verify."""
    pvv = generate_pvv(pvk, pin, pan=pan, pvki=pvki)
    assert pvv == psec.pin.generate_visa_pvv(pvk, pvki, pin, pan)
    assert verify_pvv(pvk, pin, pvv, pan=pan, pvki=pvki)


def test_wrong_pin_fails() -> None:
    """A different PIN does not verify against the offset or the PVV."""
    pvk, pan = H("0123456789ABCDEFFEDCBA9876543210"), "6225880112345678"
    offset = generate_ibm3624_offset(pvk, "1234", pan=pan)
    pvv = generate_pvv(pvk, "1234", pan=pan, pvki="1")
    assert not verify_ibm3624_offset(pvk, "1235", offset, pan=pan)
    assert not verify_ibm3624_offset(pvk, "12345", offset, pan=pan)
    assert not verify_pvv(pvk, "4321", pvv, pan=pan, pvki="1")


def test_tsp_and_decimalization() -> None:
    """The TSP takes 11 PAN digits before the check digit, the PVKI and 4 PIN digits."""
    assert pvv_tsp("6225880112345678", "1", "123456") == "88011234567" + "1" + "1234"
    assert decimalize_pvv("AB12CD34") == "1234"
    assert decimalize_pvv("ABCDEF12") == "1201"
    assert ibm3624_validation_data("6225880112345678") == "588011234567FFFF"


def test_natural_pin_uses_table() -> None:
    """The natural PIN maps every hex digit through the decimalization table."""
    pvk = H("0123456789ABCDEFFEDCBA9876543210")
    natural = ibm3624_natural_pin(pvk, "588011234567", 6)
    assert len(natural) == 6 and natural.isdigit()
    with pytest.raises(InputError, match="decimalization"):
        ibm3624_natural_pin(pvk, "588011234567", 4, decimalization="012345678901234A")
