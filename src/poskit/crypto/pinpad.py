"""A DUKPT PIN pad: the terminal side of DUKPT on top of a (PIN pad's own) SoftHSM.

The PIN pad is loaded with an initial key block (usage B1, e.g. from
:meth:`SoftHSM.derive_dukpt_initial_key`, moved in with :meth:`SoftHSM.transfer_key`) and its
KSN. Each :meth:`DukptPinPad.next_transaction` advances the counter and yields that
transaction's keys: PIN blocks (format 0 for TDES, format 4 for AES), request MACs, response MAC
checks and data encryption, all returning the KSN the host needs. The registers are persisted
only as a blob sealed under the HSM's LMK (:meth:`~DukptPinPad.state_blob`).
"""

from __future__ import annotations

import hmac
from typing import Literal

from poskit.crypto import dukpt as _dukpt
from poskit.crypto import dukpt_aes as _dukpt_aes
from poskit.crypto._engine import BlockCipher
from poskit.crypto.errors import InputError, KeyUsageError, MacVerificationError
from poskit.crypto.hsm import KeyBlock, SoftHSM
from poskit.crypto.mac import Cmac
from poskit.crypto.pinblock import _encipher_iso4, encode_iso4_pin_field, encode_pinblock

__all__ = ["DukptPinPad", "DukptTransaction"]

_SEAL_PURPOSE = b"poskit dukpt pin pad v1"


class DukptTransaction:
    """The keys of one DUKPT transaction. Its repr shows only the KSN."""

    __slots__ = ("_hsm", "_key", "ksn", "scheme")

    def __init__(self, hsm: SoftHSM, scheme: Literal["TDES", "AES"], ksn: bytes, key: bytes):
        self._hsm = hsm
        self.scheme = scheme
        self.ksn = ksn
        self._key = key  # TDES: transaction key; AES: intermediate derivation key

    def __repr__(self) -> str:
        return f"DukptTransaction({self.scheme}, ksn={self.ksn.hex().upper()})"

    def _tdes(self, variant: _dukpt.DukptVariant) -> bytes:
        return _dukpt.variant_key(self._key, variant)

    def _aes(self, usage: _dukpt_aes.KeyUsage, key_type: _dukpt_aes.KeyType = "AES128") -> bytes:
        return _dukpt_aes.working_key_from_intermediate(self._key, self.ksn, usage, key_type)

    def encrypt_pin(self, pin: str, pan: str, *, fmt: int | None = None) -> bytes:
        """The PIN block: format 0 under the PIN variant (TDES), format 4 (AES).

        ``fmt`` 0, 1 or 3 with AES DUKPT gives an 8-byte block under a 2-key TDES PIN working
        key (X9.24-3 key type 2TDEA) for networks whose PIN field holds 8 bytes.
        """
        fmt = (4 if self.scheme == "AES" else 0) if fmt is None else fmt
        if fmt == 4:
            if self.scheme != "AES":
                raise InputError("fmt", "4, expected 0, 1 or 3 for TDES DUKPT")
            key = self._aes(_dukpt_aes.KeyUsage.PIN_ENCRYPTION)
            field = encode_iso4_pin_field(pin, random=self._hsm._random)
            return _encipher_iso4(BlockCipher(key, "AES"), field, pan)
        if fmt not in (0, 1, 3):
            raise InputError("fmt", f"{fmt}, expected 0, 1, 3 or 4")
        if self.scheme == "AES":
            key = self._aes(_dukpt_aes.KeyUsage.PIN_ENCRYPTION, "TDES2")
        else:
            key = self._tdes(_dukpt.DukptVariant.PIN)
        clear = encode_pinblock(pin, pan, fmt=fmt, random=self._hsm._random)  # type: ignore[arg-type]
        return BlockCipher(key, "TDES").encrypt(clear)

    def _mac(self, data: bytes, response: bool) -> bytes:
        if self.scheme == "AES":
            usage = _dukpt_aes.KeyUsage.MAC_VERIFICATION if response else _dukpt_aes.KeyUsage.MAC_GENERATION
            return Cmac(self._aes(usage), algorithm="AES", length=8).generate(data)
        variant = _dukpt.DukptVariant.MAC_RESPONSE if response else _dukpt.DukptVariant.MAC_REQUEST
        return _dukpt.generate_mac(self._tdes(variant), data)

    def generate_mac(self, data: bytes) -> bytes:
        """The 8-byte request MAC (X9.19 for TDES, AES-CMAC for AES)."""
        return self._mac(data, response=False)

    def verify_response_mac(self, data: bytes, mac: bytes) -> None:
        """Check the host's response MAC; :class:`MacVerificationError` if it is wrong."""
        if len(mac) < 4 or not hmac.compare_digest(self._mac(data, response=True)[: len(mac)], mac):
            raise MacVerificationError()

    def encrypt_data(self, data: bytes) -> bytes:
        """Request data encrypted for the host (CBC, zero IV, zero-padded)."""
        if self.scheme == "AES":
            key = self._aes(_dukpt_aes.KeyUsage.DATA_ENCRYPT)
            return BlockCipher(key, "AES").encrypt_cbc(bytes(16), data + bytes(-len(data) % 16))
        return _dukpt.encrypt_data(self._tdes(_dukpt.DukptVariant.DATA_REQUEST), data)

    def decrypt_response_data(self, data: bytes) -> bytes:
        """Response data from the host, decrypted (padding left in place)."""
        if self.scheme == "AES":
            key = self._aes(_dukpt_aes.KeyUsage.DATA_DECRYPT)
            return BlockCipher(key, "AES").decrypt_cbc(bytes(16), data)
        return _dukpt.decrypt_data(self._tdes(_dukpt.DukptVariant.DATA_RESPONSE), data)


class DukptPinPad:
    """A PIN pad holding TDES or AES DUKPT registers; persisted only LMK-sealed."""

    __slots__ = ("_device", "_hsm")

    def __init__(self, hsm: SoftHSM, device: _dukpt.TdesDukptDevice | _dukpt_aes.AesDukptDevice) -> None:
        self._hsm = hsm
        self._device = device

    def __repr__(self) -> str:
        return f"DukptPinPad({self.scheme}, ksn={self.ksn.hex().upper()})"

    @classmethod
    def load(cls, hsm: SoftHSM, initial_key: KeyBlock, ksn: bytes) -> DukptPinPad:
        """Load an initial key block (usage B1) and its KSN (10 bytes TDES, 12 bytes AES)."""
        key = hsm._key(initial_key, "initial_key")
        if key.usage != "B1":
            raise KeyUsageError("load DUKPT PIN pad", key.usage, "needs B1 (DUKPT initial key)")
        if key.algorithm == "AES":
            return cls(hsm, _dukpt_aes.AesDukptDevice.from_initial_key(key.material, ksn))
        if key.algorithm == "TDES":
            return cls(hsm, _dukpt.TdesDukptDevice.from_initial_key(key.material, ksn))
        raise KeyUsageError("load DUKPT PIN pad", key.usage, f"a {key.algorithm} key")

    @property
    def scheme(self) -> Literal["TDES", "AES"]:
        """``"TDES"`` (X9.24-1) or ``"AES"`` (X9.24-3)."""
        return "AES" if isinstance(self._device, _dukpt_aes.AesDukptDevice) else "TDES"

    @property
    def ksn(self) -> bytes:
        """The KSN the next transaction will use."""
        return self._device.ksn

    def next_transaction(self) -> DukptTransaction:
        """The next transaction's keys; the counter advances (raises when exhausted)."""
        ksn, key = self._device.use()
        return DukptTransaction(self._hsm, self.scheme, ksn, key)

    def encrypt_pin(self, pin: str, pan: str) -> tuple[bytes, bytes]:
        """One-shot: (KSN, encrypted PIN block) of a new transaction."""
        txn = self.next_transaction()
        return txn.ksn, txn.encrypt_pin(pin, pan)

    def state_blob(self) -> bytes:
        """The registers sealed under the HSM's LMK (safe to write to disk)."""
        return self._hsm._seal(_SEAL_PURPOSE, self._device.to_bytes())

    @classmethod
    def from_state_blob(cls, hsm: SoftHSM, blob: bytes) -> DukptPinPad:
        """Restore a PIN pad from :meth:`state_blob` output."""
        data = hsm._unseal(_SEAL_PURPOSE, blob)
        if data[:4] == b"PKA1":
            return cls(hsm, _dukpt_aes.AesDukptDevice.from_bytes(data))
        if data[:4] == b"PKD1":
            return cls(hsm, _dukpt.TdesDukptDevice.from_bytes(data))
        raise InputError("blob", "not a DUKPT PIN pad state")
