"""PANs at rest: encrypted tokens and keyed fingerprints through the HSM."""

from __future__ import annotations

import pytest

from poskit.crypto.errors import CryptoError, InputError
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.pan_protect import PanProtector, create_keys

PAN = "6225880112345678"


def test_token_round_trip_and_format(hsm: SoftHSM) -> None:
    """Tokens are versioned, carry the data key's KCV, hide the PAN and decrypt back."""
    data_key, hash_key = PanProtector.create_keys(hsm)
    protector = PanProtector(hsm, data_key=data_key, hash_key=hash_key)
    token = protector.encrypt(PAN)
    version, check, body = token.split(".")
    assert version == "pan1" and check == hsm.kcv(data_key).hex().upper()
    assert PAN not in token and PAN[-4:] not in body
    assert protector.decrypt(token) == PAN
    assert protector.encrypt(PAN) != token  # random nonce


def test_keys_attributes(hsm: SoftHSM) -> None:
    """The data key is AES-256 D0 and the hash key a 32-byte M7 HMAC key, both non-exportable."""
    data_key, hash_key = create_keys(hsm)
    d, h = hsm.describe(data_key), hsm.describe(hash_key)
    assert (d.usage, d.algorithm, d.length, d.exportability) == ("D0", "AES", 32, "N")
    assert (h.usage, h.algorithm, h.length, h.exportability) == ("M7", "HMAC", 32, "N")


def test_fingerprint_is_keyed_and_stable(hsm: SoftHSM) -> None:
    """Fingerprints are equal for equal PANs, differ across keys and PANs."""
    p1 = PanProtector(hsm, **dict(zip(("data_key", "hash_key"), create_keys(hsm), strict=True)))
    p2 = PanProtector(hsm, **dict(zip(("data_key", "hash_key"), create_keys(hsm), strict=True)))
    assert p1.fingerprint(PAN) == p1.fingerprint(PAN)
    assert len(p1.fingerprint(PAN)) == 64
    assert p1.fingerprint(PAN) != p2.fingerprint(PAN)
    assert p1.fingerprint(PAN) != p1.fingerprint("6225880112345679")


def test_token_errors(hsm: SoftHSM) -> None:
    """Foreign, tampered and malformed tokens are refused without echoing the PAN."""
    p1 = PanProtector(hsm, **dict(zip(("data_key", "hash_key"), create_keys(hsm), strict=True)))
    p2 = PanProtector(hsm, **dict(zip(("data_key", "hash_key"), create_keys(hsm), strict=True)))
    token = p1.encrypt(PAN)
    with pytest.raises(CryptoError, match="KCV"):
        p2.decrypt(token)
    with pytest.raises(CryptoError, match="authentication failed"):
        p1.decrypt(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(InputError, match=r"^token: "):
        p1.decrypt("pan2.X.Y")
    with pytest.raises(InputError, match=r"^pan: not a digit at position 5$") as exc:
        p1.encrypt("6225x80112345678")
    assert "6225" not in str(exc.value)
    assert "6225" not in repr(p1)
