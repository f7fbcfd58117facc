"""The PIN pad's secure element: the only place on the terminal where keys are used.

A real PIN entry device keeps its keys in tamper-responsive memory. poskit's
software equivalent keeps them as key blocks wrapped under the device's own master
key (a key file beside the terminal store, mode 0600) and performs every key
operation through a :class:`~poskit.crypto.hsm.SoftHSM` bound to that master key:
installing working keys from a sign-on (checking their check values), encrypting
the PIN block, computing and checking MACs, encrypting track data, and protecting
card numbers kept in the terminal store.

A terminal with key scheme ``dukpt`` encrypts PIN blocks under DUKPT instead of the
sign-on PIK: its registers are kept only as a blob sealed under the device master key
(secure key ``dukpt``), advanced and stored *before* each transaction key is used, so a
crash can never make the PIN pad reuse a KSN. MACs and track data keep using the
sign-on MAK and TDK on every terminal (reversals and other MAC'd messages carry no KSN).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from poskit.cards.pan import mask_pan
from poskit.crypto.errors import CryptoError
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.pan_protect import PanProtector
from poskit.crypto.pinpad import DukptPinPad
from poskit.terminal.store import NotProvisionedError, TerminalStore

__all__ = ["KeysMissingError", "SecureElement", "WorkingKeyMaterial"]


class KeysMissingError(RuntimeError, ValueError):
    """The terminal lacks a key it needs; it must not transact.

    Also a ValueError, so that command lines report it as a one-line error (exit 2).
    """

    def __init__(self, which: str, advice: str) -> None:
        super().__init__(f"{which}: {advice}")
        self.which = which
        self.advice = advice


@dataclasses.dataclass(frozen=True, slots=True)
class WorkingKeyMaterial:
    """Working keys as received at sign-on: encrypted under the TMK, with check values."""

    pik: bytes
    pik_kcv: bytes
    mak: bytes
    mak_kcv: bytes
    tdk: bytes | None = None
    tdk_kcv: bytes | None = None

    def __repr__(self) -> str:
        return "WorkingKeyMaterial(<encrypted under TMK>)"


class SecureElement:
    """Key storage and key operations of one terminal's PIN pad."""

    def __init__(self, hsm: SoftHSM, store: TerminalStore, *, mac_algorithm: str = "cups-ecb") -> None:
        self._hsm = hsm
        self._store = store
        self.mac_algorithm = mac_algorithm
        self._cache: dict[str, str] = {}
        self._last_ksn: bytes | None = None

    @classmethod
    def open(
        cls, key_file: Path, store: TerminalStore, *, create: bool = False, mac_algorithm: str = "cups-ecb"
    ) -> SecureElement:
        """Bind to the device master key in ``key_file`` (created only when provisioning)."""
        if key_file.exists():
            lmk = LocalMasterKey.load(key_file)
        elif create:
            lmk = LocalMasterKey.generate()
            lmk.save(key_file)
        else:
            try:
                tid = store.profile().terminal_id
            except NotProvisionedError:
                tid = "TID"
            raise KeysMissingError(
                "PIN pad master key missing",
                f"{key_file} not found, so every key of this PIN pad is lost; the terminal "
                f"cannot take payments until keys are injected again (`poskit keys inject --terminal {tid}`)",
            )
        return cls(SoftHSM(lmk), store, mac_algorithm=mac_algorithm)

    @property
    def hsm(self) -> SoftHSM:
        return self._hsm

    # key state ----------------------------------------------------------------
    def _key(self, name: str) -> str | None:
        if name not in self._cache:
            block = self._store.get_key(name)
            if block is None:
                return None
            self._cache[name] = block
        return self._cache[name]

    def has_master_key(self) -> bool:
        return self._key("tmk") is not None

    def has_working_keys(self) -> bool:
        """PIK and MAK loaded and, on a DUKPT terminal, a usable DUKPT key."""
        if self._key("pik") is None or self._key("mak") is None:
            return False
        return self.key_scheme != "dukpt" or self.dukpt_problem() is None

    @property
    def key_scheme(self) -> str:
        """``fixed`` (PIN under the sign-on PIK) or ``dukpt``, from the terminal profile."""
        try:
            return self._store.profile().key_scheme
        except NotProvisionedError:
            return "fixed"

    def wipe(self) -> None:
        """Erase every key block (the PIN pad was re-initialised with a new master key)."""
        names = list(self._store.key_names())
        if names:
            self._store.delete_keys(*names)
        self._cache.clear()
        self._last_ksn = None

    def require_working_keys(self) -> None:
        if not self.has_master_key():
            raise KeysMissingError(
                "terminal master key missing",
                "this terminal has no master key; ask the acquirer to inject "
                "keys (`poskit keys inject`) before taking payments",
            )
        if not self.has_working_keys():
            raise KeysMissingError("working keys missing", "sign on to the host to load working keys")

    def install_master_key(self, block: str) -> str:
        """Store a TMK delivered by a key-injection ceremony; returns its check value (hex)."""
        kcv = self._hsm.kcv(block).hex().upper()
        self._store.put_keys({"tmk": (block, kcv)})
        self._cache.pop("tmk", None)
        self.erase_working_keys()
        return kcv

    def install_working_keys(self, material: WorkingKeyMaterial) -> dict[str, str]:
        """Decrypt new working keys under the TMK, checking every check value first.

        Raises :class:`~poskit.crypto.errors.KeyCheckValueError` (and keeps the old keys)
        when any check value differs: a corrupted or forged sign-on response.
        """
        tmk = self._key("tmk")
        if tmk is None:
            raise KeysMissingError("terminal master key missing", "keys must be injected first")
        mak_mode = "C"
        pik = self._hsm.import_key_under_kek(
            material.pik, kek=tmk, usage="P0", mode="E", expected_kcv=material.pik_kcv
        )
        mak_usage = "M3" if self.mac_algorithm == "x919" else "M0"
        mak_cipher = material.mak
        if self.mac_algorithm != "x919" and len(mak_cipher) == 16 and mak_cipher[8:] == bytes(8):
            mak_cipher = mak_cipher[:8]  # single-length MAK followed by 8 zero bytes (spec layout 004)
        mak = self._hsm.import_key_under_kek(
            mak_cipher, kek=tmk, usage=mak_usage, mode=mak_mode, expected_kcv=material.mak_kcv
        )
        new = {"pik": (pik, self._hsm.kcv(pik).hex().upper()), "mak": (mak, self._hsm.kcv(mak).hex().upper())}
        if material.tdk is not None:
            tdk = self._hsm.import_key_under_kek(
                material.tdk, kek=tmk, usage="D0", mode="E", expected_kcv=material.tdk_kcv
            )
            new["tdk"] = (tdk, self._hsm.kcv(tdk).hex().upper())
        self._store.put_keys(new)
        for name in new:
            self._cache.pop(name, None)
        return {name: kcv for name, (_, kcv) in new.items()}

    def erase_working_keys(self) -> None:
        self._store.delete_keys("pik", "mak", "tdk")
        for name in ("pik", "mak", "tdk"):
            self._cache.pop(name, None)

    # DUKPT ----------------------------------------------------------------------
    def install_dukpt_key(self, initial_key: str, ksn: bytes) -> str:
        """Load a DUKPT initial key block (already under this PIN pad's LMK) and its KSN.

        Only the sealed registers are kept, never the initial key itself; returns its
        check value (hex).
        """
        kcv = self._hsm.kcv(initial_key).hex().upper()
        pad = DukptPinPad.load(self._hsm, initial_key, ksn)
        self._store.put_keys({"dukpt": (pad.state_blob().hex().upper(), kcv)})
        self._cache.pop("dukpt", None)
        return kcv

    def erase_dukpt_key(self) -> None:
        self._store.delete_keys("dukpt")
        self._cache.pop("dukpt", None)

    def has_dukpt_key(self) -> bool:
        return self._key("dukpt") is not None

    def _dukpt_pad(self) -> DukptPinPad:
        blob = self._key("dukpt")
        if blob is None:
            tid = self._store.profile().terminal_id
            raise KeysMissingError(
                "DUKPT key missing",
                "this DUKPT terminal has no initial key; ask the acquirer to inject one "
                f"(`poskit keys inject --terminal {tid} --dukpt`)",
            )
        return DukptPinPad.from_state_blob(self._hsm, bytes.fromhex(blob))

    def dukpt_problem(self) -> str | None:
        """Why the DUKPT key cannot encrypt a PIN (missing, unreadable, exhausted), or None."""
        try:
            self._dukpt_pad().ksn  # noqa: B018 - reading the KSN checks exhaustion
        except KeysMissingError as exc:
            return str(exc)
        except CryptoError as exc:
            tid = self._store.profile().terminal_id
            return (
                f"DUKPT key unusable ({exc}); inject a new one "
                f"(`poskit keys inject --terminal {tid} --dukpt`)"
            )
        return None

    def dukpt_ksn(self) -> bytes | None:
        """The KSN the next DUKPT transaction will use (public), or None without a DUKPT key."""
        if not self.has_dukpt_key():
            return None
        try:
            return self._dukpt_pad().ksn
        except CryptoError:
            return None

    def take_ksn(self) -> bytes | None:
        """The KSN of the DUKPT PIN block just encrypted (once), for the request's field 62."""
        ksn, self._last_ksn = self._last_ksn, None
        return ksn

    def _encrypt_pin_dukpt(self, pin: str, pan: str) -> bytes:
        pad = self._dukpt_pad()
        txn = pad.next_transaction()
        kcv = self._store.key_names().get("dukpt", "")
        # Persist the advanced registers before the key is used: a crash must not reuse a KSN.
        self._store.put_keys({"dukpt": (pad.state_blob().hex().upper(), kcv)})
        self._cache.pop("dukpt", None)
        block = txn.encrypt_pin(pin, pan, fmt=0)  # 8-byte format 0 (AES DUKPT: 2TDEA PIN key)
        self._last_ksn = txn.ksn
        return block

    # operations ---------------------------------------------------------------
    def encrypt_pin(self, pin: str, pan: str) -> bytes:
        """ISO 9564 format 0 PIN block under the PIK or DUKPT (the clear PIN goes no further)."""
        if self.key_scheme == "dukpt":
            return self._encrypt_pin_dukpt(pin, pan)
        pik = self._key("pik")
        if pik is None:
            raise KeysMissingError("PIN key missing", "sign on to the host to load working keys")
        return self._hsm.encrypt_pin(pin, pan, key=pik, fmt=0)

    def generate_mac(self, data: bytes) -> bytes:
        mak = self._key("mak")
        if mak is None:
            raise KeysMissingError("MAC key missing", "sign on to the host to load working keys")
        return self._hsm.generate_mac(data, key=mak, algorithm=self.mac_algorithm)  # type: ignore[arg-type]

    def verify_mac(self, data: bytes, mac: bytes) -> bool:
        mak = self._key("mak")
        if mak is None:
            return False
        try:
            self._hsm.verify_mac(data, mac, key=mak, algorithm=self.mac_algorithm)  # type: ignore[arg-type]
        except CryptoError:
            return False
        return True

    def encrypt_track2(self, field35: str) -> str | None:
        """Track 2 with its TDB encrypted under the TDK; None if no TDK was issued."""
        tdk = self._key("tdk")
        if tdk is None:
            return None
        return self._hsm.encrypt_track2_cups(field35, key=tdk)

    # card numbers at rest -----------------------------------------------------------
    def _pan_protector(self) -> PanProtector:
        data, digest = self._key("pan_data"), self._key("pan_hash")
        if data is None or digest is None:
            data, digest = PanProtector.create_keys(self._hsm)
            self._store.put_keys(
                {
                    "pan_data": (data, self._hsm.kcv(data).hex().upper()),
                    "pan_hash": (digest, self._hsm.kcv(digest).hex().upper()),
                }
            )
            self._cache.pop("pan_data", None)
            self._cache.pop("pan_hash", None)
        return PanProtector(self._hsm, data_key=data, hash_key=digest)

    def protect_pan(self, pan: str) -> tuple[str, str]:
        """``(token, masked)`` for storing a card number in the terminal store."""
        return self._pan_protector().encrypt(pan), mask_pan(pan)

    def reveal_pan(self, token: str) -> str:
        """The card number behind a token (for reversals and voids sent to the host)."""
        return self._pan_protector().decrypt(token)
