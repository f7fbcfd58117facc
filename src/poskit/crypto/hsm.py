"""The software HSM: the only place in poskit where clear keys exist.

Every key the HSM hands out is a :data:`KeyBlock`: a TR-31 version D key block (text) wrapped
under the local master key (LMK). Callers store and pass key blocks; clear key material never
leaves this module except where a flow needs it by design (components printed for custodians
at a key ceremony, keys exported under a KEK or a TR-31 KBPK).

Usage and mode of use are enforced on every operation (see :mod:`poskit.crypto.keyusage`): a
MAC key cannot decrypt a PIN block, a PIN key cannot produce a MAC, only a KEK imports and
exports, a PIN verification key only verifies (or generates) PIN offsets/PVVs, an issuer master
key only derives card keys. Violations raise :class:`~poskit.crypto.errors.KeyUsageError`.

Unwrapped keys and their cipher contexts are cached per key block in a bounded LRU, so a MAC
verify or PIN translate costs microseconds rather than a TR-31 unwrap.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from poskit.crypto import cvv as _cvv
from poskit.crypto import dukpt as _dukpt
from poskit.crypto import dukpt_aes as _dukpt_aes
from poskit.crypto import emv as _emv
from poskit.crypto import pinverify as _pinverify
from poskit.crypto._engine import BlockCipher
from poskit.crypto.des import adjust_odd_parity
from poskit.crypto.errors import (
    CryptoError,
    InputError,
    KeyBlockError,
    KeyCheckValueError,
    KeyUsageError,
    MacVerificationError,
)
from poskit.crypto.kcv import kcv as _kcv
from poskit.crypto.keyusage import (
    ALGORITHM_CODES,
    USAGES,
    Algorithm,
    algorithm_from_code,
    check_key_length,
    describe_usage,
)
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.mac import Cmac, MacAlgorithm, MacCalculator, mac_calculator
from poskit.crypto.pinblock import (
    _decipher_iso4,
    _encipher_iso4,
    decode_pinblock,
    encode_iso4_pin_field,
    encode_pinblock,
)
from poskit.crypto.tr31 import KeyBlockHeader, KeyBlockWrapper, parse_header

__all__ = ["KeyBlock", "KeyInfo", "SoftHSM"]

KeyBlock = str
"""A key wrapped under the LMK as a TR-31 version D key block."""

RandomSource = Callable[[int], bytes]

_MAC_FAMILY = frozenset({"M0", "M1", "M3"})
_ENCRYPT = frozenset("BE")
_DECRYPT = frozenset("BD")
_GENERATE = frozenset("CG")
_VERIFY = frozenset("CV")
_DERIVE = frozenset("X")
_EXPORTABLE = frozenset("ES")

# MAC algorithm -> (usages, key algorithms)
_MAC_RULES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "cups-ecb": (_MAC_FAMILY, frozenset({"TDES"})),
    "x919": (_MAC_FAMILY, frozenset({"TDES"})),
    "iso9797-1": (_MAC_FAMILY, frozenset({"TDES", "SM4"})),
    "cmac": (frozenset({"M6"}), frozenset({"TDES", "AES"})),
    "sm4-ecb": (_MAC_FAMILY, frozenset({"SM4"})),
}


@dataclass(frozen=True)
class KeyInfo:
    """Safe metadata of a key block: no key material, only its check value."""

    usage: str
    algorithm: Algorithm
    mode: str
    length: int
    exportability: str
    kcv: str
    key_version: str = "00"

    @property
    def meaning(self) -> str:
        """What the usage code means, e.g. ``"PIN encryption key"``."""
        policy = USAGES.get(self.usage)
        return policy.meaning if policy else self.usage


class _Key:
    """An unwrapped key with its lazily built cipher contexts. Never leaves this module."""

    __slots__ = (
        "_cipher",
        "_lock",
        "_macs",
        "algorithm",
        "exportability",
        "key_version",
        "material",
        "mode",
        "usage",
    )

    def __init__(self, header: KeyBlockHeader, material: bytes) -> None:
        self.usage = header.usage
        self.algorithm: Algorithm = algorithm_from_code(header.algorithm)
        self.mode = header.mode
        self.exportability = header.exportability
        self.key_version = header.key_version
        self.material = material
        self._cipher: BlockCipher | None = None
        self._macs: dict[str, MacCalculator] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"_Key({self.usage}, {self.algorithm})"

    def cipher(self) -> BlockCipher:
        c = self._cipher
        if c is None:
            if self.algorithm == "HMAC":
                raise InputError("key", "an HMAC key is not a block cipher key")
            c = self._cipher = BlockCipher(self.material, self.algorithm)
        return c

    def mac(self, algorithm: str) -> MacCalculator:
        m = self._macs.get(algorithm)
        if m is None:
            with self._lock:
                m = self._macs.get(algorithm)
                if m is None:
                    m = _new_mac(self, algorithm)
                    self._macs[algorithm] = m
        return m


def _new_mac(key: _Key, algorithm: str) -> MacCalculator:
    if algorithm == "cmac":
        return Cmac(key.material, algorithm="AES" if key.algorithm == "AES" else "TDES", length=8)
    if algorithm == "iso9797-1":
        cipher: Literal["SM4", "TDES"] = "SM4" if key.algorithm == "SM4" else "TDES"
        return mac_calculator(key.material, "iso9797-1", cipher=cipher)
    return mac_calculator(key.material, algorithm)  # type: ignore[arg-type]


class SoftHSM:
    """A software payment HSM whose keys are TR-31 blocks under one :class:`LocalMasterKey`."""

    def __init__(
        self,
        lmk: LocalMasterKey,
        *,
        random: RandomSource = os.urandom,
        cache_size: int = 1024,
    ) -> None:
        self._lmk = lmk
        self._random = random
        self._wrapper = KeyBlockWrapper(lmk._key, "D", random=random)
        self._cache: OrderedDict[str, _Key] = OrderedDict()
        self._cache_size = max(cache_size, 1)
        self._cache_lock = threading.Lock()
        self._seal_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"poskit softhsm state seal"
        ).derive(lmk._key)

    def __repr__(self) -> str:
        return f"SoftHSM(lmk={self._lmk.identifier!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SoftHSM cannot be pickled")

    @property
    def lmk_identifier(self) -> str:
        """The identifier (check value) of this HSM's LMK: safe to store with key blocks."""
        return self._lmk.identifier

    # ------------------------------------------------------------------ key storage

    def _wrap(
        self,
        material: bytes,
        usage: str,
        algorithm: Algorithm,
        mode: str,
        exportability: str,
        key_version: str = "00",
    ) -> KeyBlock:
        header = KeyBlockHeader(
            version="D",
            usage=usage,
            algorithm=ALGORITHM_CODES[algorithm],
            mode=mode,
            key_version=key_version,
            exportability=exportability,
        )
        return self._wrapper.wrap(header, material, masked_key_length=_mask_length(algorithm))

    def _key(self, block: KeyBlock, argument: str = "key") -> _Key:
        cache = self._cache
        try:
            key = cache[block]
        except KeyError:
            pass
        except TypeError:
            raise InputError(argument, "expected a key block string") from None
        else:
            with contextlib.suppress(KeyError):  # evicted concurrently: still valid here
                cache.move_to_end(block)
            return key
        if not isinstance(block, str):
            raise InputError(argument, "expected a key block string")
        try:
            header, material = self._wrapper.unwrap(block)
        except KeyBlockError as exc:
            raise KeyBlockError(
                exc.reason, field=exc.field, position=exc.position, argument=argument
            ) from None
        try:
            key = _Key(header, material)
        except InputError as exc:
            raise KeyBlockError(exc.reason, field="algorithm", position=8, argument=argument) from None
        with self._cache_lock:
            cache[block] = key
            while len(cache) > self._cache_size:
                cache.popitem(last=False)
        return key

    def owns_key(self, key: KeyBlock) -> bool:
        """True if ``key`` is a key block that verifies under this HSM's LMK."""
        try:
            self._key(key)
        except CryptoError:
            return False
        return True

    def _check_new(
        self, usage: str, algorithm: str, length: int, mode: str | None, exportability: str
    ) -> str:
        policy = USAGES.get(usage)
        if policy is None:
            raise InputError("usage", f"{usage!r} is not a key usage this HSM supports")
        if algorithm not in policy.algorithms:
            raise InputError(
                "algorithm",
                f"{algorithm} is not allowed for {describe_usage(usage)} "
                f"(allowed: {', '.join(sorted(policy.algorithms))})",
            )
        check_key_length(algorithm, length)
        mode = policy.default_mode if mode is None else mode
        if mode not in policy.modes:
            raise InputError(
                "mode",
                f"{mode!r} is not a mode of use for {describe_usage(usage)} "
                f"(allowed: {', '.join(sorted(policy.modes))})",
            )
        if exportability not in ("E", "N", "S"):
            raise InputError("exportability", f"{exportability!r}, expected E, N or S")
        return mode

    def _random_key(self, algorithm: str, length: int) -> bytes:
        material = self._random(length)
        if len(material) != length:
            raise InputError("random", f"returned {len(material)} bytes, expected {length}")
        return adjust_odd_parity(material) if algorithm == "TDES" else material

    def generate_key(
        self,
        usage: str,
        *,
        algorithm: Algorithm = "TDES",
        length: int = 16,
        mode: str | None = None,
        exportability: str = "E",
    ) -> KeyBlock:
        """A new random key of ``usage`` (TDES keys get odd parity)."""
        mode = self._check_new(usage, algorithm, length, mode, exportability)
        return self._wrap(self._random_key(algorithm, length), usage, algorithm, mode, exportability)

    def import_clear_key(
        self,
        key: bytes,
        usage: str,
        *,
        algorithm: Algorithm = "TDES",
        mode: str | None = None,
        exportability: str = "E",
    ) -> KeyBlock:
        """Wrap a clear key. For published test keys and key ceremonies only."""
        mode = self._check_new(usage, algorithm, len(key), mode, exportability)
        return self._wrap(bytes(key), usage, algorithm, mode, exportability)

    def import_components(
        self,
        components: Sequence[bytes],
        usage: str,
        *,
        algorithm: Algorithm = "TDES",
        mode: str | None = None,
        exportability: str = "E",
    ) -> tuple[KeyBlock, bytes]:
        """Combine two or more clear components by XOR (dual control); the key and its KCV.

        TDES keys are parity-adjusted after combining, as HSMs do.
        """
        if len(components) < 2:
            raise InputError("components", "dual control needs at least 2 components")
        length = len(components[0])
        if any(len(c) != length for c in components):
            raise InputError("components", "components differ in length")
        value = 0
        for c in components:
            value ^= int.from_bytes(c, "big")
        material = value.to_bytes(length, "big")
        if algorithm == "TDES":
            material = adjust_odd_parity(material)
        block = self.import_clear_key(
            material, usage, algorithm=algorithm, mode=mode, exportability=exportability
        )
        return block, self.kcv(block)

    def generate_components(
        self,
        usage: str,
        count: int = 2,
        *,
        algorithm: Algorithm = "TDES",
        length: int = 16,
        mode: str | None = None,
        exportability: str = "E",
    ) -> tuple[KeyBlock, list[tuple[bytes, bytes]]]:
        """A new key as ``count`` random components for custodians: (key, [(component, kcv)])."""
        if count < 2:
            raise InputError("count", "dual control needs at least 2 components")
        mode = self._check_new(usage, algorithm, length, mode, exportability)
        components = [self._random_key(algorithm, length) for _ in range(count)]
        block, _ = self.import_components(
            components, usage, algorithm=algorithm, mode=mode, exportability=exportability
        )
        printed = [(c, _kcv(c, algorithm=algorithm)) for c in components]
        return block, printed

    def kcv(self, key: KeyBlock, *, length: int = 3) -> bytes:
        """The key check value of a key block (see :mod:`poskit.crypto.kcv`)."""
        k = self._key(key)
        return _kcv(k.material, algorithm=k.algorithm, length=length)

    def describe(self, key: KeyBlock) -> KeyInfo:
        """Safe metadata of a key block (usage, algorithm, mode, length, exportability, KCV)."""
        k = self._key(key)
        return KeyInfo(
            usage=k.usage,
            algorithm=k.algorithm,
            mode=k.mode,
            length=len(k.material),
            exportability=k.exportability,
            kcv=self.kcv(key).hex().upper(),
            key_version=k.key_version,
        )

    def rewrap(self, key: KeyBlock, new: SoftHSM) -> KeyBlock:
        """The same key and attributes wrapped under ``new``'s LMK (LMK rotation)."""
        k = self._key(key)
        return new._wrap(k.material, k.usage, k.algorithm, k.mode, k.exportability, k.key_version)

    def transfer_key(self, key: KeyBlock, *, to: SoftHSM) -> KeyBlock:
        """Move an exportable key into another HSM (e.g. a PIN pad's secure element).

        The clear key passes only between the two HSM objects.
        """
        k = self._key(key)
        self._require_exportable("transfer key", k)
        return to._wrap(k.material, k.usage, k.algorithm, k.mode, k.exportability, k.key_version)

    # ------------------------------------------------------------------ policy checks

    @staticmethod
    def _require(
        operation: str,
        key: _Key,
        usages: frozenset[str],
        modes: frozenset[str],
        algorithms: frozenset[str] | None = None,
    ) -> None:
        if key.usage not in usages:
            needed = ", ".join(describe_usage(u) for u in sorted(usages))
            raise KeyUsageError(operation, key.usage, f"needs {needed}")
        if key.mode not in modes:
            raise KeyUsageError(
                operation,
                key.usage,
                f"its mode of use {key.mode} does not allow this (needs {' or '.join(sorted(modes))})",
            )
        if algorithms is not None and key.algorithm not in algorithms:
            raise KeyUsageError(
                operation,
                key.usage,
                f"a {key.algorithm} key cannot do this (needs {' or '.join(sorted(algorithms))})",
            )

    @staticmethod
    def _require_exportable(operation: str, key: _Key) -> None:
        if key.exportability not in _EXPORTABLE:
            raise KeyUsageError(operation, key.usage, "the key is marked non-exportable (N)")

    # ------------------------------------------------------------------ KEK import/export

    def export_key_under_kek(self, key: KeyBlock, *, kek: KeyBlock) -> bytes:
        """``key`` encrypted (ECB) under a KEK, as CUPS sign-on field 62 carries working keys.

        An 8-byte single-length key exports as 8 bytes.
        """
        k = self._key(key)
        kk = self._key(kek, "kek")
        self._require("export key under KEK", kk, frozenset({"K0"}), _ENCRYPT)
        self._require_exportable("export key under KEK", k)
        cipher = kk.cipher()
        if len(k.material) % cipher.block_size:
            raise InputError(
                "key", f"{len(k.material)} bytes cannot be ECB-encrypted under a {kk.algorithm} KEK"
            )
        return cipher.encrypt(k.material)

    def import_key_under_kek(
        self,
        encrypted: bytes,
        *,
        kek: KeyBlock,
        usage: str,
        algorithm: Algorithm = "TDES",
        mode: str | None = None,
        expected_kcv: bytes | None = None,
        exportability: str = "E",
    ) -> KeyBlock:
        """Decrypt a key sent under a KEK (ECB) and wrap it under the LMK.

        ``expected_kcv`` is compared over its own length, so CUPS 4-byte KCVs work; a mismatch
        raises :class:`KeyCheckValueError`.
        """
        kk = self._key(kek, "kek")
        self._require("import key under KEK", kk, frozenset({"K0"}), _DECRYPT)
        cipher = kk.cipher()
        if not encrypted or len(encrypted) % cipher.block_size:
            raise InputError(
                "encrypted",
                f"{len(encrypted)} bytes, not whole {cipher.block_size}-byte blocks",
            )
        material = cipher.decrypt(encrypted)
        mode = self._check_new(usage, algorithm, len(material), mode, exportability)
        if expected_kcv is not None:
            actual = _kcv(material, algorithm=algorithm, length=len(expected_kcv))
            if not hmac.compare_digest(actual, expected_kcv):
                raise KeyCheckValueError(expected_kcv, actual)
        return self._wrap(material, usage, algorithm, mode, exportability)

    def export_tr31(self, key: KeyBlock, *, kbpk: KeyBlock, exportability: str | None = None) -> str:
        """``key`` as a TR-31 block under a KBPK (K1 or K0): version D for AES, B for TDES.

        ``exportability`` may tighten the exported block (e.g. ``N`` for a terminal).
        """
        k = self._key(key)
        kp = self._key(kbpk, "kbpk")
        self._require("export TR-31", kp, frozenset({"K0", "K1"}), _ENCRYPT, frozenset({"TDES", "AES"}))
        self._require_exportable("export TR-31", k)
        out = k.exportability if exportability is None else exportability
        if out not in ("E", "N", "S") or (k.exportability == "S" and out == "E"):
            raise InputError("exportability", f"{out!r} cannot replace {k.exportability}")
        version: Literal["B", "D"] = "D" if kp.algorithm == "AES" else "B"
        if version == "B" and len(kp.material) == 8:
            raise KeyUsageError("export TR-31", kp.usage, "a single-length DES KBPK is too weak")
        header = KeyBlockHeader(
            version=version,
            usage=k.usage,
            algorithm=ALGORITHM_CODES[k.algorithm],
            mode=k.mode,
            key_version=k.key_version,
            exportability=out,
        )
        wrapper = KeyBlockWrapper(kp.material, version, random=self._random)
        return wrapper.wrap(header, k.material, masked_key_length=_mask_length(k.algorithm))

    def import_tr31(self, block: str, *, kbpk: KeyBlock) -> KeyBlock:
        """A TR-31 block (version B or D) under a KBPK, re-wrapped under the LMK."""
        kp = self._key(kbpk, "kbpk")
        self._require("import TR-31", kp, frozenset({"K0", "K1"}), _DECRYPT, frozenset({"TDES", "AES"}))
        header, _ = parse_header(block)
        expected: Literal["B", "D"] = "D" if kp.algorithm == "AES" else "B"
        if header.version != expected:
            raise KeyBlockError(
                f"version {header.version} does not match a {kp.algorithm} KBPK (expected {expected})",
                field="version ID",
                position=1,
            )
        header, material = KeyBlockWrapper(kp.material, expected).unwrap(block)
        try:
            algorithm = algorithm_from_code(header.algorithm)
        except InputError:
            raise KeyBlockError(
                f"algorithm {header.algorithm!r} is not supported", field="algorithm", position=8
            ) from None
        try:
            mode = self._check_new(header.usage, algorithm, len(material), header.mode, header.exportability)
        except InputError as exc:
            raise KeyUsageError("import TR-31", header.usage, exc.reason) from None
        return self._wrap(material, header.usage, algorithm, mode, header.exportability, header.key_version)

    # ------------------------------------------------------------------ PIN blocks

    def _pin_key(self, op: str, key: _Key, modes: frozenset[str], fmt: int) -> None:
        """Check a PIN key against the operation and PIN block format before any work."""
        self._require(op, key, frozenset({"P0"}), modes)
        if fmt == 4:
            if key.algorithm != "AES":
                raise KeyUsageError(op, key.usage, "format 4 PIN blocks need an AES PIN key")
        elif fmt in (0, 1, 3):
            if key.algorithm != "TDES":
                raise KeyUsageError(op, key.usage, f"format {fmt} PIN blocks need a TDES PIN key")
        else:
            raise InputError("format", f"{fmt}, expected 0, 1, 3 or 4")

    def _pin_in(self, op: str, block: bytes, pan: str, key: _Key, fmt: int) -> str:
        self._pin_key(op, key, _DECRYPT, fmt)
        if fmt == 4:
            return _decipher_iso4(key.cipher(), block, pan)
        if len(block) != 8:
            raise InputError("block", f"{len(block)} bytes, expected an 8-byte PIN block")
        return decode_pinblock(key.cipher().decrypt(block), pan, fmt=fmt)  # type: ignore[arg-type]

    def _pin_out(self, op: str, pin: str, pan: str, key: _Key, fmt: int) -> bytes:
        self._pin_key(op, key, _ENCRYPT, fmt)
        if fmt == 4:
            field = encode_iso4_pin_field(pin, random=self._random)
            return _encipher_iso4(key.cipher(), field, pan)
        clear = encode_pinblock(pin, pan, fmt=fmt, random=self._random)  # type: ignore[arg-type]
        return key.cipher().encrypt(clear)

    def encrypt_pin(self, pin: str, pan: str, *, key: KeyBlock, fmt: int = 0) -> bytes:
        """The PIN pad operation: ``pin`` as an encrypted ISO 9564 PIN block under ``key``."""
        return self._pin_out("encrypt PIN", pin, pan, self._key(key), fmt)

    def translate_pin_block(
        self,
        block: bytes,
        *,
        pan: str,
        source_key: KeyBlock,
        dest_key: KeyBlock,
        source_format: int = 0,
        dest_format: int = 0,
    ) -> bytes:
        """Re-encrypt a PIN block from one PIN key (and format) to another.

        Raises :class:`~poskit.crypto.errors.PinBlockFormatError` if it does not decode.
        """
        src = self._key(source_key, "source_key")
        dst = self._key(dest_key, "dest_key")
        self._pin_key("translate PIN block", dst, _ENCRYPT, dest_format)
        pin = self._pin_in("translate PIN block", block, pan, src, source_format)
        return self._pin_out("translate PIN block", pin, pan, dst, dest_format)

    def _pvk(self, op: str, pvk: KeyBlock, usage: str, modes: frozenset[str]) -> BlockCipher:
        k = self._key(pvk, "pvk")
        self._require(op, k, frozenset({usage}), modes, frozenset({"TDES"}))
        return k.cipher()

    def verify_pin_ibm3624(
        self,
        block: bytes,
        *,
        pan: str,
        key: KeyBlock,
        pvk: KeyBlock,
        offset: str,
        fmt: int = 0,
        decimalization: str = _pinverify.DEFAULT_DECIMALIZATION,
        validation_data: str | None = None,
    ) -> bool:
        """True if the PIN in ``block`` matches the IBM 3624 natural PIN plus ``offset``."""
        op = "verify PIN (IBM 3624)"
        cipher = self._pvk(op, pvk, "V1", _VERIFY)
        pin = self._pin_in(op, block, pan, self._key(key), fmt)
        return _pinverify.verify_ibm3624_offset(
            cipher,
            pin,
            offset,
            pan=pan,
            validation_data=validation_data,
            decimalization=decimalization,
        )

    def verify_pin_pvv(
        self,
        block: bytes,
        *,
        pan: str,
        key: KeyBlock,
        pvk: KeyBlock,
        pvki: str,
        pvv: str,
        fmt: int = 0,
    ) -> bool:
        """True if the PIN in ``block`` has the Visa PVV ``pvv``."""
        op = "verify PIN (PVV)"
        cipher = self._pvk(op, pvk, "V2", _VERIFY)
        pin = self._pin_in(op, block, pan, self._key(key), fmt)
        return _pinverify.verify_pvv(cipher, pin, pvv, pan=pan, pvki=pvki)

    def generate_ibm3624_offset(
        self,
        pin: str,
        *,
        pan: str,
        pvk: KeyBlock,
        decimalization: str = _pinverify.DEFAULT_DECIMALIZATION,
        validation_data: str | None = None,
    ) -> str:
        """The IBM 3624 offset for a chosen ``pin`` (card issuance)."""
        cipher = self._pvk("generate IBM 3624 offset", pvk, "V1", _GENERATE)
        return _pinverify.generate_ibm3624_offset(
            cipher, pin, pan=pan, validation_data=validation_data, decimalization=decimalization
        )

    def generate_pvv(self, pin: str, *, pan: str, pvk: KeyBlock, pvki: str) -> str:
        """The Visa PVV of ``pin`` (card issuance)."""
        cipher = self._pvk("generate PVV", pvk, "V2", _GENERATE)
        return _pinverify.generate_pvv(cipher, pin, pan=pan, pvki=pvki)

    # ------------------------------------------------------------------ MAC

    def _mac_key(self, op: str, key: KeyBlock, algorithm: str, modes: frozenset[str]) -> _Key:
        rule = _MAC_RULES.get(algorithm)
        if rule is None:
            raise InputError("algorithm", f"unknown MAC algorithm {algorithm!r}")
        k = self._key(key)
        self._require(op, k, rule[0], modes, rule[1])
        return k

    def generate_mac(self, data: bytes, *, key: KeyBlock, algorithm: MacAlgorithm) -> bytes:
        """The MAC of ``data`` (8 bytes; CUPS ECB gives 8 ASCII hex characters)."""
        return self._mac_key("generate MAC", key, algorithm, _GENERATE).mac(algorithm).generate(data)

    def verify_mac(self, data: bytes, mac: bytes, *, key: KeyBlock, algorithm: MacAlgorithm) -> None:
        """Raise :class:`MacVerificationError` unless ``mac`` (4 bytes or more) is right."""
        k = self._mac_key("verify MAC", key, algorithm, _VERIFY)
        if not k.mac(algorithm).verify(data, mac):
            raise MacVerificationError()

    def generate_hmac(self, data: bytes, *, key: KeyBlock) -> bytes:
        """HMAC-SHA256 of ``data`` under an M7 key."""
        k = self._key(key)
        self._require("generate HMAC", k, frozenset({"M7"}), _GENERATE, frozenset({"HMAC"}))
        return hmac.new(k.material, data, hashlib.sha256).digest()

    # ------------------------------------------------------------------ data encryption

    def _data_key(self, op: str, key: KeyBlock, modes: frozenset[str]) -> _Key:
        k = self._key(key)
        self._require(op, k, frozenset({"D0"}), modes, frozenset({"TDES", "AES", "SM4"}))
        return k

    def encrypt_data(
        self,
        data: bytes,
        *,
        key: KeyBlock,
        mode: Literal["ecb", "cbc"] = "ecb",
        iv: bytes | None = None,
    ) -> bytes:
        """ECB or CBC encryption of whole blocks under a data key (no implicit padding)."""
        cipher = self._data_key("encrypt data", key, _ENCRYPT).cipher()
        if mode == "ecb":
            return cipher.encrypt(data)
        if mode == "cbc":
            return cipher.encrypt_cbc(bytes(cipher.block_size) if iv is None else iv, data)
        raise InputError("mode", f"{mode!r}, expected 'ecb' or 'cbc'")

    def decrypt_data(
        self,
        data: bytes,
        *,
        key: KeyBlock,
        mode: Literal["ecb", "cbc"] = "ecb",
        iv: bytes | None = None,
    ) -> bytes:
        """ECB or CBC decryption of whole blocks under a data key."""
        cipher = self._data_key("decrypt data", key, _DECRYPT).cipher()
        if mode == "ecb":
            return cipher.decrypt(data)
        if mode == "cbc":
            return cipher.decrypt_cbc(bytes(cipher.block_size) if iv is None else iv, data)
        raise InputError("mode", f"{mode!r}, expected 'ecb' or 'cbc'")

    def _track2_tdb(self, field35_hex: str) -> tuple[str, int, int]:
        text = field35_hex.upper().replace("=", "D")
        if any(ch not in "0123456789ABCDEF" for ch in text):
            raise InputError("field35", "track 2 holds a character other than digits, = or D")
        length = (len(text) + 1) // 2
        if length < 9:
            raise InputError("field35", f"{len(text)} digits, too short for track encryption")
        start, end = (length - 1 - 8) * 2, (length - 1) * 2
        return text, start, end

    def encrypt_track2_cups(self, field35_hex: str, *, key: KeyBlock) -> str:
        """Encrypt track 2 the UnionPay way: only the 8 bytes before the last byte (TDB).

        ``=`` becomes ``D``; the rest stays in clear. Needs a TDES D0 key (the TDK).
        """
        cipher = self._data_key("encrypt track 2", key, _ENCRYPT).cipher()
        if cipher.block_size != 8:
            raise KeyUsageError("encrypt track 2", "D0", "the track key must be TDES")
        text, start, end = self._track2_tdb(field35_hex)
        tdb = cipher.encrypt(bytes.fromhex(text[start:end])).hex().upper()
        return text[:start] + tdb + text[end:]

    def decrypt_track2_cups(self, field35_hex: str, *, key: KeyBlock) -> str:
        """Undo :meth:`encrypt_track2_cups` (``D`` separators are kept)."""
        cipher = self._data_key("decrypt track 2", key, _DECRYPT).cipher()
        if cipher.block_size != 8:
            raise KeyUsageError("decrypt track 2", "D0", "the track key must be TDES")
        text, start, end = self._track2_tdb(field35_hex)
        tdb = cipher.decrypt(bytes.fromhex(text[start:end])).hex().upper()
        return text[:start] + tdb + text[end:]

    def encrypt_aead(self, plaintext: bytes, *, key: KeyBlock, aad: bytes = b"") -> bytes:
        """AES-GCM under an AES D0 key: 12-byte random nonce || ciphertext || 16-byte tag."""
        k = self._key(key)
        self._require("encrypt (AES-GCM)", k, frozenset({"D0"}), _ENCRYPT, frozenset({"AES"}))
        nonce = self._random(12)
        return nonce + AESGCM(k.material).encrypt(nonce, plaintext, aad)

    def decrypt_aead(self, blob: bytes, *, key: KeyBlock, aad: bytes = b"") -> bytes:
        """Open :meth:`encrypt_aead` output; :class:`CryptoError` if it fails authentication."""
        k = self._key(key)
        self._require("decrypt (AES-GCM)", k, frozenset({"D0"}), _DECRYPT, frozenset({"AES"}))
        if len(blob) < 28:
            raise CryptoError("decrypt (AES-GCM): ciphertext too short")
        try:
            return AESGCM(k.material).decrypt(blob[:12], blob[12:], aad)
        except InvalidTag:
            raise CryptoError("decrypt (AES-GCM): authentication failed (wrong key or tampered)") from None

    # ------------------------------------------------------------------ card verification

    def _cvk(self, op: str, cvk: KeyBlock, modes: frozenset[str]) -> bytes:
        k = self._key(cvk, "cvk")
        self._require(op, k, frozenset({"C0"}), modes, frozenset({"TDES"}))
        return k.material

    def generate_cvv(self, pan: str, expiry_yymm: str, service_code: str, *, cvk: KeyBlock) -> str:
        """CVV/CVC for the track (CVV2: service code 000; iCVV: 999)."""
        return _cvv.generate_cvv(self._cvk("generate CVV", cvk, _GENERATE), pan, expiry_yymm, service_code)

    def verify_cvv(self, pan: str, expiry_yymm: str, service_code: str, cvv: str, *, cvk: KeyBlock) -> bool:
        """True if ``cvv`` is right for these inputs."""
        return _cvv.verify_cvv(self._cvk("verify CVV", cvk, _VERIFY), pan, expiry_yymm, service_code, cvv)

    def _udk(self, op: str, imk: KeyBlock, pan: str, psn: str, derivation: str) -> bytes:
        k = self._key(imk, "imk")
        self._require(op, k, frozenset({"E0", "E6"}), _DERIVE, frozenset({"TDES"}))
        return _emv.icc_master_key_with(k.cipher(), pan, psn, option=_option(derivation))

    def generate_dcvv(
        self,
        pan: str,
        expiry_yymm: str,
        service_code: str,
        atc: str,
        *,
        imk: KeyBlock,
        psn: str = "00",
        derivation: str = "A",
    ) -> str:
        """Visa dCVV from the issuer master key (card key by EMV option A/B, PSN 00)."""
        udk = self._udk("generate dCVV", imk, pan, psn, derivation)
        return _cvv.generate_dcvv(udk, pan, expiry_yymm, service_code, atc)

    def verify_dcvv(
        self,
        pan: str,
        expiry_yymm: str,
        service_code: str,
        atc: str,
        dcvv: str,
        *,
        imk: KeyBlock,
        psn: str = "00",
        derivation: str = "A",
    ) -> bool:
        """True if ``dcvv`` is right for these inputs."""
        udk = self._udk("verify dCVV", imk, pan, psn, derivation)
        return _cvv.verify_dcvv(udk, pan, expiry_yymm, service_code, atc, dcvv)

    # ------------------------------------------------------------------ EMV

    def _session_key(
        self,
        op: str,
        imk: KeyBlock,
        pan: str,
        psn: str,
        atc: bytes,
        derivation: str,
        session: str,
    ) -> bytes:
        k = self._key(imk, "imk")
        self._require(op, k, frozenset({"E0"}), _DERIVE, frozenset({"TDES"}))
        if len(k.material) != 16:
            raise KeyUsageError(op, k.usage, "EMV issuer master keys must be double-length")
        mk = _emv.icc_master_key_with(k.cipher(), pan, psn, option=_option(derivation))
        if session not in ("common", "none"):
            raise InputError("session", f"{session!r}, expected 'common' or 'none'")
        return _emv.derive_session_key(mk, atc, method=session)  # type: ignore[arg-type]

    def generate_script_mac(
        self, *, imk: KeyBlock, pan: str, psn: str, atc: bytes, data: bytes, derivation: str = "A"
    ) -> bytes:
        """Issuer script secure-messaging MAC (8 bytes) under the card's SMI session key.

        ``imk`` is the issuer master key for secure-messaging integrity (usage E2); the card
        key is derived like the AC key (EMV Book 2 A1.4), then the common session key from the ATC.
        """
        op = "issuer script MAC"
        k = self._key(imk, "imk")
        self._require(op, k, frozenset({"E2"}), _DERIVE, frozenset({"TDES"}))
        if len(k.material) != 16:
            raise KeyUsageError(op, k.usage, "EMV issuer master keys must be double-length")
        mk = _emv.icc_master_key_with(k.cipher(), pan, psn, option=_option(derivation))
        sk = _emv.derive_session_key(mk, atc, method="common")
        return _emv.generate_ac(sk, data)[:8]

    def verify_arqc(
        self,
        *,
        imk: KeyBlock,
        pan: str,
        psn: str,
        atc: bytes,
        data: bytes,
        arqc: bytes,
        derivation: str = "A",
        session: str = "common",
        padding: Literal[1, 2] = 2,
    ) -> bool:
        """True if ``arqc`` is the card's cryptogram over ``data`` (constant-time)."""
        sk = self._session_key("verify ARQC", imk, pan, psn, atc, derivation, session)
        return _emv.verify_arqc(sk, data, arqc, padding=padding)

    def generate_arpc(
        self,
        *,
        imk: KeyBlock,
        pan: str,
        psn: str,
        atc: bytes,
        arqc: bytes,
        arc: bytes | None = None,
        csu: bytes | None = None,
        method: int = 1,
        proprietary: bytes = b"",
        derivation: str = "A",
        session: str = "common",
    ) -> bytes:
        """ARPC method 1 (needs ``arc``, 8 bytes) or method 2 (needs ``csu``, 4 bytes)."""
        sk = self._session_key("generate ARPC", imk, pan, psn, atc, derivation, session)
        if method == 1:
            if arc is None:
                raise InputError("arc", "required for ARPC method 1")
            return _emv.generate_arpc_method1(sk, arqc, arc)
        if method == 2:
            if csu is None:
                raise InputError("csu", "required for ARPC method 2")
            return _emv.generate_arpc_method2(sk, arqc, csu, proprietary)
        raise InputError("method", f"{method}, expected 1 or 2")

    # ------------------------------------------------------------------ DUKPT (host side)

    def _bdk(self, op: str, bdk: KeyBlock, aes: bool) -> _Key:
        k = self._key(bdk, "bdk")
        self._require(op, k, frozenset({"B0"}), _DERIVE)
        want = "AES" if aes else "TDES"
        if k.algorithm != want:
            raise KeyUsageError(op, k.usage, f"a {k.algorithm} BDK cannot do {want} DUKPT")
        if not aes and len(k.material) != 16:
            raise KeyUsageError(op, k.usage, "TDES DUKPT needs a double-length BDK")
        return k

    def derive_dukpt_initial_key(self, *, bdk: KeyBlock, ksn: bytes, aes: bool = False) -> KeyBlock:
        """The initial key (IPEK / AES IK) for the device with ``ksn``, as a B1 key block."""
        k = self._bdk("derive DUKPT initial key", bdk, aes)
        if aes:
            material = _dukpt_aes.derive_initial_key(k.material, _dukpt_aes.ksn_initial_key_id(ksn))
            return self._wrap(material, "B1", "AES", "X", "E")
        return self._wrap(_dukpt.derive_ipek(k.material, ksn), "B1", "TDES", "X", "E")

    def _dukpt_key(
        self,
        op: str,
        bdk: KeyBlock,
        ksn: bytes,
        aes: bool,
        purpose: str,
        key_type: _dukpt_aes.KeyType = "AES128",
    ) -> bytes:
        k = self._bdk(op, bdk, aes)
        if aes:
            usage = {
                "pin": _dukpt_aes.KeyUsage.PIN_ENCRYPTION,
                "mac-request": _dukpt_aes.KeyUsage.MAC_GENERATION,
                "mac-response": _dukpt_aes.KeyUsage.MAC_VERIFICATION,
                "data-request": _dukpt_aes.KeyUsage.DATA_ENCRYPT,
                "data-response": _dukpt_aes.KeyUsage.DATA_DECRYPT,
            }[purpose]
            return _dukpt_aes.derive_working_key(k.material, ksn, usage, key_type)
        variant = {
            "pin": _dukpt.DukptVariant.PIN,
            "mac-request": _dukpt.DukptVariant.MAC_REQUEST,
            "mac-response": _dukpt.DukptVariant.MAC_RESPONSE,
            "data-request": _dukpt.DukptVariant.DATA_REQUEST,
            "data-response": _dukpt.DukptVariant.DATA_RESPONSE,
        }[purpose]
        return _dukpt.derive_working_key(k.material, ksn, variant)

    def dukpt_translate_pin_block(
        self,
        block: bytes,
        *,
        ksn: bytes,
        bdk: KeyBlock,
        pan: str,
        dest_key: KeyBlock,
        aes: bool = False,
        dest_format: int = 0,
        source_format: int | None = None,
    ) -> bytes:
        """Translate a PIN block from a DUKPT PIN pad to a zone PIN key.

        The source format defaults to 0 for TDES DUKPT and 4 for AES DUKPT. AES DUKPT with
        source format 0, 1 or 3 uses a 2-key TDES PIN working key (X9.24-3 key type 2TDEA),
        as PIN pads do on networks whose PIN field holds 8-byte blocks.
        """
        op = "translate DUKPT PIN block"
        dest = self._key(dest_key, "dest_key")
        self._pin_key(op, dest, _ENCRYPT, dest_format)
        fmt = (4 if aes else 0) if source_format is None else source_format
        if fmt == 4:
            if not aes:
                raise InputError("source_format", "4, expected 0, 1 or 3 for TDES DUKPT")
            key = self._dukpt_key(op, bdk, ksn, aes, "pin")
            pin = _decipher_iso4(BlockCipher(key, "AES"), block, pan)
        else:
            if fmt not in (0, 1, 3):
                raise InputError("source_format", f"{fmt}, expected 0, 1, 3 or 4")
            if len(block) != 8:
                raise InputError("block", f"{len(block)} bytes, expected an 8-byte PIN block")
            key = self._dukpt_key(op, bdk, ksn, aes, "pin", key_type="TDES2")
            clear = BlockCipher(key, "TDES").decrypt(block)
            pin = decode_pinblock(clear, pan, fmt=fmt)  # type: ignore[arg-type]
        return self._pin_out(op, pin, pan, dest, dest_format)

    def _dukpt_mac(self, data: bytes, key: bytes, aes: bool, length: int) -> bytes:
        if aes:
            return Cmac(key, algorithm="AES", length=length).generate(data)
        return _dukpt.generate_mac(key, data)[:length]

    def dukpt_verify_mac(
        self, data: bytes, mac: bytes, *, ksn: bytes, bdk: KeyBlock, aes: bool = False
    ) -> None:
        """Verify a PIN pad's request MAC (X9.19 / AES-CMAC); :class:`MacVerificationError`."""
        key = self._dukpt_key("verify DUKPT MAC", bdk, ksn, aes, "mac-request")
        maximum = 16 if aes else 8
        if not 4 <= len(mac) <= maximum:
            raise MacVerificationError(f"MAC of {len(mac)} bytes")
        if not hmac.compare_digest(self._dukpt_mac(data, key, aes, len(mac)), mac):
            raise MacVerificationError()

    def dukpt_generate_mac(
        self, data: bytes, *, ksn: bytes, bdk: KeyBlock, aes: bool = False, length: int = 8
    ) -> bytes:
        """The response MAC the PIN pad verifies (MAC-response variant / MAC-verification key)."""
        key = self._dukpt_key("generate DUKPT MAC", bdk, ksn, aes, "mac-response")
        return self._dukpt_mac(data, key, aes, length)

    def dukpt_decrypt_data(self, data: bytes, *, ksn: bytes, bdk: KeyBlock, aes: bool = False) -> bytes:
        """Decrypt a PIN pad's request data (CBC, zero IV; zero padding left in place)."""
        key = self._dukpt_key("decrypt DUKPT data", bdk, ksn, aes, "data-request")
        if aes:
            return BlockCipher(key, "AES").decrypt_cbc(bytes(16), data)
        return _dukpt.decrypt_data(key, data)

    def dukpt_encrypt_data(self, data: bytes, *, ksn: bytes, bdk: KeyBlock, aes: bool = False) -> bytes:
        """Encrypt response data for the PIN pad (CBC, zero IV, zero-padded)."""
        key = self._dukpt_key("encrypt DUKPT data", bdk, ksn, aes, "data-response")
        if aes:
            padded = data + bytes(-len(data) % 16)
            return BlockCipher(key, "AES").encrypt_cbc(bytes(16), padded)
        return _dukpt.encrypt_data(key, data)

    # ------------------------------------------------------------------ sealed state

    def _seal(self, purpose: bytes, data: bytes) -> bytes:
        """Encrypt opaque state (e.g. DUKPT registers) under a key derived from the LMK."""
        nonce = self._random(12)
        return b"PKS1" + nonce + AESGCM(self._seal_key).encrypt(nonce, data, purpose)

    def _unseal(self, purpose: bytes, blob: bytes) -> bytes:
        if blob[:4] != b"PKS1" or len(blob) < 32:
            raise CryptoError("sealed state: not a poskit sealed blob")
        try:
            return AESGCM(self._seal_key).decrypt(blob[4:16], blob[16:], purpose)
        except InvalidTag:
            raise CryptoError("sealed state: authentication failed (another LMK, or tampered)") from None


def _mask_length(algorithm: str) -> int | None:
    # Pad key data to the longest key of the algorithm so key blocks do not reveal the length.
    return {"TDES": 24, "AES": 32, "SM4": 16, "HMAC": 64}.get(algorithm)


def _option(derivation: str) -> Literal["A", "B"]:
    if derivation == "A":
        return "A"
    if derivation == "B":
        return "B"
    raise InputError("derivation", f"{derivation!r}, expected 'A' or 'B'")
