"""ODA certificate and signature formats (Book 2): sign/recover round trips and tampering."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.cards.icc.keys import ca_key, icc_key, issuer_key
from poskit.emv.certificates import (
    OdaError,
    RsaPrivateKey,
    cda_dynamic_data,
    recover_dynamic_data,
    recover_icc_certificate,
    recover_issuer_certificate,
    recover_static_data,
    rsa_private,
    rsa_public,
    sign_dynamic_data,
    sign_icc_certificate,
    sign_issuer_certificate,
    sign_static_data,
    split_cda_dynamic_data,
)

STATIC = b"static data to be authenticated" + bytes.fromhex("7C00")


def _issuer_cert() -> tuple[bytes, bytes]:
    return sign_issuer_certificate(
        ca_key(),
        issuer_identifier="476173",
        expiry="1249",
        serial=b"\x00\x00\x01",
        issuer=issuer_key().public,
    )


def test_raw_rsa_round_trip() -> None:
    """Raw RSA private then public operation gives back the block."""
    key = icc_key()
    block = b"\x6a" + bytes(range(1, key.public.length - 1)) + b"\xbc"
    assert rsa_public(rsa_private(block, key), key.public) == block


def test_issuer_certificate_round_trip_with_remainder() -> None:
    """The 1152-bit issuer key does not fit the 1408-bit CA certificate: a remainder is needed."""
    cert, remainder = _issuer_cert()
    assert len(cert) == ca_key().public.length and len(remainder) == 4
    recovered = recover_issuer_certificate(cert, remainder, b"\x03", ca_key().public)
    assert recovered.public_key == issuer_key().public
    assert recovered.issuer_identifier == "476173"
    assert recovered.expiry == "1249"


def test_tampered_issuer_certificate_fails() -> None:
    """A flipped byte, a wrong remainder or the wrong CA key make recovery fail."""
    cert, remainder = _issuer_cert()
    tampered = bytes([cert[0] ^ 0x01]) + cert[1:]
    with pytest.raises(OdaError):
        recover_issuer_certificate(tampered, remainder, b"\x03", ca_key().public)
    with pytest.raises(OdaError, match="hash"):
        recover_issuer_certificate(cert, bytes(4), b"\x03", ca_key().public)
    with pytest.raises(OdaError):
        recover_issuer_certificate(cert[:-1], remainder, b"\x03", ca_key().public)
    with pytest.raises(OdaError, match="issuer certificate"):
        recover_issuer_certificate(
            cert[: issuer_key().public.length], remainder, b"\x03", issuer_key().public
        )


def test_icc_certificate_covers_static_data() -> None:
    """The ICC certificate binds the PAN and the static data to be authenticated."""
    cert, remainder = sign_icc_certificate(
        issuer_key(),
        pan="4761739001010010",
        expiry="1230",
        serial=b"\x00\x00\x01",
        icc=icc_key().public,
        static_data=STATIC,
    )
    recovered = recover_icc_certificate(
        cert, remainder, icc_key().public.exponent_bytes, issuer_key().public, STATIC
    )
    assert recovered.pan == "4761739001010010"
    assert recovered.public_key == icc_key().public
    with pytest.raises(OdaError, match="hash"):
        recover_icc_certificate(
            cert, remainder, icc_key().public.exponent_bytes, issuer_key().public, STATIC + b"x"
        )


def test_signed_static_data() -> None:
    """SSAD verifies over the same static data and returns the data authentication code."""
    ssad = sign_static_data(issuer_key(), data_authentication_code=b"\xda\xc1", static_data=STATIC)
    assert recover_static_data(ssad, issuer_key().public, STATIC) == b"\xda\xc1"
    with pytest.raises(OdaError):
        recover_static_data(ssad, issuer_key().public, STATIC[:-1] + b"\x01")


def test_dynamic_signature_and_cda_data() -> None:
    """SDAD covers the terminal's data; CDA dynamic data splits into its four fields."""
    dynamic = cda_dynamic_data(bytes(8), 0x80, bytes(range(8)), bytes(20))
    sdad = sign_dynamic_data(icc_key(), icc_dynamic_data=dynamic, terminal_dynamic_data=b"\x11\x22\x33\x44")
    assert recover_dynamic_data(sdad, icc_key().public, b"\x11\x22\x33\x44") == dynamic
    assert split_cda_dynamic_data(dynamic) == (bytes(8), 0x80, bytes(range(8)), bytes(20))
    with pytest.raises(OdaError):
        recover_dynamic_data(sdad, icc_key().public, b"\x11\x22\x33\x45")
    with pytest.raises(OdaError):
        split_cda_dynamic_data(dynamic[:-1])


def test_private_key_repr_hides_exponent() -> None:
    """Key reprs never print the private exponent."""
    assert str(icc_key().private_exponent)[:12] not in repr(icc_key())


@pytest.mark.parametrize("load", [ca_key, issuer_key, icc_key])
def test_test_keys_are_consistent_rsa_keys(load: Callable[[], RsaPrivateKey]) -> None:
    """The checked-in test keys (loaded without cryptography's own check) are sound: p·q = n and
    e·d = 1 modulo lcm(p-1, q-1)."""
    key = load()
    assert key.primes is not None
    p, q = key.primes
    assert p * q == key.public.modulus
    lcm = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    assert key.public.exponent * key.private_exponent % lcm == 1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=2))
def test_crt_signing_equals_plain_exponentiation(seed: int) -> None:
    """Raw RSA with the primes (CRT) gives the same result as pow(m, d, n), and recovers."""
    for key in (ca_key(), issuer_key(), icc_key()):
        value = seed % key.public.modulus
        data = value.to_bytes(key.public.length, "big")
        plain = dataclasses.replace(key, primes=None)
        assert rsa_private(data, key) == rsa_private(data, plain)
        assert rsa_public(rsa_private(data, key), key.public) == data
