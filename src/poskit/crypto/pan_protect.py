"""PANs at rest: AES-256-GCM tokens for storage and keyed fingerprints for lookups.

* :meth:`PanProtector.encrypt` gives a text token ``pan1.<KCV>.<base64url(nonce || ciphertext ||
  tag)>``: versioned, tagged with the data key's check value (so a key rotation can tell which
  key a token needs) and authenticated with the associated data ``poskit-pan-v1``.
* :meth:`PanProtector.fingerprint` is HMAC-SHA256 of the PAN under a separate key, in hex: equal
  PANs give equal fingerprints (duplicate checks, "find transactions of this card") without
  storing anything reversible, and without the key nobody can test guesses offline.

Both keys exist only as LMK-wrapped key blocks: the data key is AES-256 usage D0 (mode B,
non-exportable); the hash key is a 32-byte HMAC key, usage M7 (mode G, non-exportable).
"""

from __future__ import annotations

import base64
import binascii

from poskit.crypto.errors import CryptoError, InputError
from poskit.crypto.hexinput import parse_digits
from poskit.crypto.hsm import KeyBlock, SoftHSM

__all__ = ["TOKEN_PREFIX", "PanProtector", "create_keys"]

TOKEN_PREFIX = "pan1"  # noqa: S105 - a format tag, not a secret
_AAD = b"poskit-pan-v1"


def create_keys(hsm: SoftHSM) -> tuple[KeyBlock, KeyBlock]:
    """A new (data key, hash key) pair for :class:`PanProtector`."""
    data_key = hsm.generate_key("D0", algorithm="AES", length=32, mode="B", exportability="N")
    hash_key = hsm.generate_key("M7", algorithm="HMAC", length=32, mode="G", exportability="N")
    return data_key, hash_key


class PanProtector:
    """Encrypts, decrypts and fingerprints PANs through a :class:`SoftHSM`."""

    __slots__ = ("_data_key", "_hash_key", "_hsm", "_kcv")

    def __init__(self, hsm: SoftHSM, *, data_key: KeyBlock, hash_key: KeyBlock) -> None:
        self._hsm = hsm
        self._data_key = data_key
        self._hash_key = hash_key
        self._kcv = hsm.kcv(data_key).hex().upper()
        hsm.generate_hmac(b"", key=hash_key)  # fail now, not at the first PAN, on a wrong key

    def __repr__(self) -> str:
        return f"PanProtector(data_key_kcv={self._kcv!r})"

    @staticmethod
    def create_keys(hsm: SoftHSM) -> tuple[KeyBlock, KeyBlock]:
        """A new (data key, hash key) pair; same as the module-level :func:`create_keys`."""
        return create_keys(hsm)

    @staticmethod
    def _check(pan: str) -> bytes:
        return parse_digits(pan, "pan", min_length=12, max_length=19).encode("ascii")

    def encrypt(self, pan: str) -> str:
        """A storable token for ``pan`` (random nonce: equal PANs give different tokens)."""
        blob = self._hsm.encrypt_aead(self._check(pan), key=self._data_key, aad=_AAD)
        text = base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=")
        return f"{TOKEN_PREFIX}.{self._kcv}.{text}"

    def decrypt(self, token: str) -> str:
        """The PAN of a token from :meth:`encrypt`."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise InputError("token", f"not a {TOKEN_PREFIX} PAN token")
        if parts[1] != self._kcv:
            raise CryptoError(
                f"PAN token was encrypted under the data key with KCV {parts[1]}, not {self._kcv}"
            )
        try:
            blob = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except (binascii.Error, ValueError):
            raise InputError("token", "body is not base64url") from None
        pan = self._hsm.decrypt_aead(blob, key=self._data_key, aad=_AAD).decode("ascii")
        return pan

    def fingerprint(self, pan: str) -> str:
        """HMAC-SHA256 of ``pan`` under the hash key, as 64 hex digits."""
        return self._hsm.generate_hmac(self._check(pan), key=self._hash_key).hex()
