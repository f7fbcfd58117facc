"""DES/TDES, AES and key check values, against published vectors and psec."""

from __future__ import annotations

import psec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.crypto.aes import aes_cmac, decrypt_aes_cbc, encrypt_aes_cbc, encrypt_aes_ecb
from poskit.crypto.des import (
    adjust_odd_parity,
    decrypt_tdes_cbc,
    decrypt_tdes_ecb,
    encrypt_tdes_cbc,
    encrypt_tdes_ecb,
    expand_tdes_key,
    has_odd_parity,
)
from poskit.crypto.errors import InputError
from poskit.crypto.kcv import kcv
from poskit.crypto.mac import cmac

H = bytes.fromhex

tdes_keys = st.sampled_from([8, 16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
blocks8 = st.integers(1, 6).flatmap(lambda n: st.binary(min_size=8 * n, max_size=8 * n))


def test_des_classic_vector() -> None:
    """Single DES: key 0123456789ABCDEF encrypts "Now is t" to 3FA40E8A984D4815 (FIPS 81)."""
    assert encrypt_tdes_ecb(H("0123456789ABCDEF"), b"Now is t") == H("3FA40E8A984D4815")


def test_tdes_kcv_published_values() -> None:
    """The double-length test key 0123..3210 has KCV 08D7B4; the single key D5D44F."""
    assert kcv(H("0123456789ABCDEFFEDCBA9876543210")) == H("08D7B4")
    assert kcv(H("0123456789ABCDEF"), length=8) == H("D5D44FF720683D0D")


def test_aes_kcv_is_cmac_of_zeros() -> None:
    """AES KCV is AES-CMAC over a zero block (53E107 for key 0011..EEFF, a public calculator)."""
    key = H("00112233445566778899AABBCCDDEEFF")
    assert kcv(key, algorithm="AES") == H("53E107")
    assert kcv(key, algorithm="AES", length=16) == aes_cmac(key, bytes(16))


def test_hmac_kcv_is_hmac_of_empty_message() -> None:
    """HMAC key KCV is HMAC-SHA256 of the empty message (E8A065 for key 0011..EEFF)."""
    assert kcv(H("00112233445566778899AABBCCDDEEFF"), algorithm="HMAC") == H("E8A065")


def test_cups_four_byte_kcv_of_single_key() -> None:
    """A single-length (8-byte) key's KCV is plain DES of zeros, as CUPS sign-on uses."""
    key = H("0123456789ABCDEF")
    assert kcv(key, length=4) == kcv(key + key, length=4) == H("D5D44FF7")


def test_aes_cmac_rfc4493_vectors() -> None:
    """AES-CMAC matches RFC 4493 examples 1 and 2."""
    key = H("2B7E151628AED2A6ABF7158809CF4F3C")
    assert aes_cmac(key, b"") == H("BB1D6929E95937287FA37D129B756746")
    assert aes_cmac(key, H("6BC1BEE22E409F96E93D7E117393172A")) == H("070A16B46B4D4144F79BDD9DD04A287C")


def test_tdes_cmac_sp800_38b_vectors() -> None:
    """Three-key TDES CMAC matches NIST SP 800-38B examples (empty and one block)."""
    key = H("8AA83BF8CBDA10620BC1BF19FBB6CD58BC313D4A371CA8B5")
    assert cmac(key, b"", algorithm="TDES") == H("B7A688E122FFAF95")
    assert cmac(key, H("6BC1BEE22E409F96"), algorithm="TDES") == H("8E8F293136283797")


def test_parity_adjust_and_check() -> None:
    """Odd parity is set on every byte and detected."""
    assert adjust_odd_parity(bytes(4)) == H("01010101")
    assert has_odd_parity(H("0123456789ABCDEF"))
    assert not has_odd_parity(H("0023456789ABCDEF"))


def test_key_expansion() -> None:
    """8- and 16-byte keys expand to K1K1K1 and K1K2K1."""
    assert expand_tdes_key(b"A" * 8) == b"A" * 24
    assert expand_tdes_key(b"A" * 8 + b"B" * 8) == b"A" * 8 + b"B" * 8 + b"A" * 8


@pytest.mark.parametrize("length", [0, 7, 9, 32])
def test_bad_tdes_key_length(length: int) -> None:
    """A DES key that is not 8, 16 or 24 bytes is an InputError naming the key."""
    with pytest.raises(InputError, match=r"^key: "):
        encrypt_tdes_ecb(bytes(length), bytes(8))


def test_partial_block_rejected() -> None:
    """Data that is not whole blocks is refused."""
    with pytest.raises(InputError, match="not a multiple"):
        encrypt_tdes_ecb(bytes(16), bytes(7))


@settings(max_examples=80, deadline=None)
@given(key=tdes_keys, data=blocks8, iv=st.binary(min_size=8, max_size=8))
def test_tdes_matches_psec(key: bytes, data: bytes, iv: bytes) -> None:
    """TDES ECB and CBC agree with psec for 8/16/24-byte keys."""
    assert encrypt_tdes_ecb(key, data) == psec.des.encrypt_tdes_ecb(key, data)
    assert decrypt_tdes_ecb(key, data) == psec.des.decrypt_tdes_ecb(key, data)
    assert encrypt_tdes_cbc(key, iv, data) == psec.des.encrypt_tdes_cbc(key, iv, data)
    assert decrypt_tdes_cbc(key, iv, data) == psec.des.decrypt_tdes_cbc(key, iv, data)


@settings(max_examples=50, deadline=None)
@given(
    key=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    data=st.binary(min_size=16, max_size=16),
    iv=st.binary(min_size=16, max_size=16),
)
def test_aes_matches_psec(key: bytes, data: bytes, iv: bytes) -> None:
    """AES ECB and CBC agree with psec and round-trip."""
    assert encrypt_aes_ecb(key, data) == psec.aes.encrypt_aes_ecb(key, data)
    ct = encrypt_aes_cbc(key, iv, data)
    assert ct == psec.aes.encrypt_aes_cbc(key, iv, data)
    assert decrypt_aes_cbc(key, iv, ct) == data


@settings(max_examples=50, deadline=None)
@given(key=st.sampled_from([8, 16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_tdes_kcv_matches_psec(key: bytes) -> None:
    """TDES KCVs agree with psec's encrypt-zeros KCV."""
    assert kcv(key, length=3) == psec.des.generate_kcv(key, 3)
