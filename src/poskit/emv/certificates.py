"""Offline data authentication formats (EMV Book 2 §5-§6): RSA certificates and signatures.

Both directions live here so the layout is written once: the signing side is used by the
test certification authority and card personalisation, the recovery side by the
terminal's offline data authentication. RSA is raw (``pow``) as in EMV: the signer
applies its private exponent to the formatted block, the verifier recovers it with the
public exponent and checks header, trailer and SHA-1 hash.

Recovery functions raise :class:`OdaError` (with the failed ``step``) on any mismatch; the
checks that need the terminal's context (dates, PAN, CA key index) are in
:mod:`poskit.emv.oda`.
"""

from __future__ import annotations

import dataclasses
import hashlib

__all__ = [
    "IccCertificate",
    "IssuerCertificate",
    "OdaError",
    "RsaPrivateKey",
    "RsaPublicKey",
    "cda_dynamic_data",
    "pad_identifier",
    "recover_dynamic_data",
    "recover_icc_certificate",
    "recover_issuer_certificate",
    "recover_static_data",
    "rsa_private",
    "rsa_public",
    "sign_dynamic_data",
    "sign_icc_certificate",
    "sign_issuer_certificate",
    "sign_static_data",
    "split_cda_dynamic_data",
]

_HEADER = 0x6A
_TRAILER = 0xBC
_SHA1 = 0x01
_RSA = 0x01


class OdaError(ValueError):
    """Offline data authentication failed; ``step`` names the check that failed."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"offline data authentication failed at {step}: {reason}")
        self.step = step
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class RsaPublicKey:
    modulus: int
    exponent: int

    @property
    def length(self) -> int:
        """Modulus length in bytes (N_CA, N_I, N_IC in Book 2)."""
        return (self.modulus.bit_length() + 7) // 8

    @property
    def modulus_bytes(self) -> bytes:
        return self.modulus.to_bytes(self.length, "big")

    @property
    def exponent_bytes(self) -> bytes:
        return self.exponent.to_bytes(max(1, (self.exponent.bit_length() + 7) // 8), "big")

    @classmethod
    def from_bytes(cls, modulus: bytes, exponent: bytes) -> RsaPublicKey:
        return cls(int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big"))


@dataclasses.dataclass(frozen=True, slots=True)
class RsaPrivateKey:
    """An RSA key pair held by a test CA, test issuer or simulated card (repr hides d)."""

    public: RsaPublicKey
    private_exponent: int = dataclasses.field(repr=False)
    #: The prime factors (p, q), when known: signing then uses the Chinese remainder theorem,
    #: about three times faster than one exponentiation modulo n.
    primes: tuple[int, int] | None = dataclasses.field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"RsaPrivateKey(<{self.public.length * 8}-bit modulus>, private exponent hidden)"


def rsa_public(data: bytes, key: RsaPublicKey) -> bytes:
    """Raw RSA with the public exponent (recovery/encryption); input as long as the modulus."""
    if len(data) != key.length:
        raise OdaError("rsa", f"{len(data)} bytes, the key modulus is {key.length}")
    value = int.from_bytes(data, "big")
    if value >= key.modulus:
        raise OdaError("rsa", "data is not smaller than the modulus")
    return pow(value, key.exponent, key.modulus).to_bytes(key.length, "big")


def rsa_private(data: bytes, key: RsaPrivateKey) -> bytes:
    """Raw RSA with the private exponent (signing/decryption)."""
    n = key.public.length
    if len(data) != n:
        raise OdaError("rsa", f"{len(data)} bytes, the key modulus is {n}")
    value = int.from_bytes(data, "big")
    if value >= key.public.modulus:
        raise OdaError("rsa", "data is not smaller than the modulus")
    if key.primes is None:
        return pow(value, key.private_exponent, key.public.modulus).to_bytes(n, "big")
    p, q = key.primes
    d = key.private_exponent
    m_p = pow(value, d % (p - 1), p)
    m_q = pow(value, d % (q - 1), q)
    h = (pow(q, -1, p) * (m_p - m_q)) % p
    return (m_q + h * q).to_bytes(n, "big")


def pad_identifier(digits: str, length: int) -> bytes:
    """Compressed numeric, right-padded with F: issuer identifier (4) or PAN (10)."""
    text = digits + "F" * (2 * length - len(digits))
    if len(text) != 2 * length:
        raise OdaError("format", f"{len(digits)} digits do not fit {length} bytes")
    return bytes.fromhex(text)


def _digits(value: bytes) -> str:
    return value.hex().upper().rstrip("F")


def _recover(step: str, data: bytes, key: RsaPublicKey, fmt: int) -> bytes:
    if len(data) != key.length:
        raise OdaError(step, f"{len(data)} bytes, the recovery key modulus is {key.length} bytes")
    recovered = rsa_public(data, key)
    if recovered[-1] != _TRAILER:
        raise OdaError(step, f"recovered data trailer {recovered[-1]:02X}, expected BC")
    if recovered[0] != _HEADER:
        raise OdaError(step, f"recovered data header {recovered[0]:02X}, expected 6A")
    if recovered[1] != fmt:
        raise OdaError(step, f"format {recovered[1]:02X}, expected {fmt:02X}")
    return recovered


def _check_hash(step: str, recovered: bytes, extra: bytes) -> None:
    expected = recovered[-21:-1]
    actual = hashlib.sha1(recovered[1:-21] + extra, usedforsecurity=False).digest()
    if actual != expected:
        raise OdaError(step, "hash result does not match")


def _sign(signer: RsaPrivateKey, body: bytes, extra: bytes) -> bytes:
    digest = hashlib.sha1(body + extra, usedforsecurity=False).digest()
    return rsa_private(bytes([_HEADER]) + body + digest + bytes([_TRAILER]), signer)


def _split_key(key: RsaPublicKey, room: int) -> tuple[bytes, bytes]:
    """The part of a modulus that fits the certificate (padded with BB) and the remainder."""
    modulus = key.modulus_bytes
    if len(modulus) <= room:
        return modulus + b"\xbb" * (room - len(modulus)), b""
    return modulus[:room], modulus[room:]


@dataclasses.dataclass(frozen=True, slots=True)
class IssuerCertificate:
    issuer_identifier: str  # leftmost 3-8 PAN digits
    expiry: str  # MMYY
    serial: bytes
    public_key: RsaPublicKey


def sign_issuer_certificate(
    ca: RsaPrivateKey, *, issuer_identifier: str, expiry: str, serial: bytes, issuer: RsaPublicKey
) -> tuple[bytes, bytes]:
    """Issuer public key certificate (tag 90) and remainder (tag 92), Book 2 Table 6."""
    room = ca.public.length - 36
    leftmost, remainder = _split_key(issuer, room)
    exponent = issuer.exponent_bytes
    body = (
        bytes([0x02])
        + pad_identifier(issuer_identifier, 4)
        + bytes.fromhex(expiry)
        + serial
        + bytes([_SHA1, _RSA, issuer.length, len(exponent)])
        + leftmost
    )
    return _sign(ca, body, remainder + exponent), remainder


def recover_issuer_certificate(
    certificate: bytes, remainder: bytes, exponent: bytes, ca: RsaPublicKey
) -> IssuerCertificate:
    """Recover and check an issuer certificate with the CA public key (Book 2 §5.3 steps 1-9)."""
    step = "issuer certificate"
    rec = _recover(step, certificate, ca, 0x02)
    if rec[11] != _SHA1 or rec[12] != _RSA:
        raise OdaError(step, "unknown hash or public key algorithm indicator")
    _check_hash(step, rec, remainder + exponent)
    length = rec[13]
    room = ca.length - 36
    leftmost = rec[15 : 15 + room]
    modulus = leftmost[:length] if length <= room else leftmost + remainder
    if len(modulus) != length:
        raise OdaError(step, "issuer public key remainder missing or of wrong length")
    return IssuerCertificate(
        issuer_identifier=_digits(rec[2:6]),
        expiry=rec[6:8].hex(),
        serial=rec[8:11],
        public_key=RsaPublicKey.from_bytes(modulus, exponent),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class IccCertificate:
    pan: str
    expiry: str  # MMYY
    serial: bytes
    public_key: RsaPublicKey


def sign_icc_certificate(
    issuer: RsaPrivateKey,
    *,
    pan: str,
    expiry: str,
    serial: bytes,
    icc: RsaPublicKey,
    static_data: bytes,
    fmt: int = 0x04,
) -> tuple[bytes, bytes]:
    """ICC public key certificate (9F46) and remainder (9F48), Book 2 Table 14.

    ``fmt`` 0x04 with the static data to be authenticated; the PIN encipherment key
    certificate (9F2D) has the same layout without static data.
    """
    room = issuer.public.length - 42
    leftmost, remainder = _split_key(icc, room)
    exponent = icc.exponent_bytes
    body = (
        bytes([fmt])
        + pad_identifier(pan, 10)
        + bytes.fromhex(expiry)
        + serial
        + bytes([_SHA1, _RSA, icc.length, len(exponent)])
        + leftmost
    )
    return _sign(issuer, body, remainder + exponent + static_data), remainder


def recover_icc_certificate(
    certificate: bytes,
    remainder: bytes,
    exponent: bytes,
    issuer: RsaPublicKey,
    static_data: bytes,
) -> IccCertificate:
    """Recover and check an ICC certificate with the issuer public key (Book 2 §6.4)."""
    step = "ICC certificate"
    rec = _recover(step, certificate, issuer, 0x04)
    if rec[17] != _SHA1 or rec[18] != _RSA:
        raise OdaError(step, "unknown hash or public key algorithm indicator")
    _check_hash(step, rec, remainder + exponent + static_data)
    length = rec[19]
    room = issuer.length - 42
    leftmost = rec[21 : 21 + room]
    modulus = leftmost[:length] if length <= room else leftmost + remainder
    if len(modulus) != length:
        raise OdaError(step, "ICC public key remainder missing or of wrong length")
    return IccCertificate(
        pan=_digits(rec[2:12]),
        expiry=rec[12:14].hex(),
        serial=rec[14:17],
        public_key=RsaPublicKey.from_bytes(modulus, exponent),
    )


def sign_static_data(issuer: RsaPrivateKey, *, data_authentication_code: bytes, static_data: bytes) -> bytes:
    """Signed Static Application Data (tag 93), Book 2 Table 7."""
    pad = b"\xbb" * (issuer.public.length - 26)
    body = bytes([0x03, _SHA1]) + data_authentication_code + pad
    return _sign(issuer, body, static_data)


def recover_static_data(ssad: bytes, issuer: RsaPublicKey, static_data: bytes) -> bytes:
    """Verify tag 93 and return the Data Authentication Code (9F45)."""
    step = "signed static application data"
    rec = _recover(step, ssad, issuer, 0x03)
    if rec[2] != _SHA1:
        raise OdaError(step, "unknown hash algorithm indicator")
    _check_hash(step, rec, static_data)
    return rec[3:5]


def sign_dynamic_data(icc: RsaPrivateKey, *, icc_dynamic_data: bytes, terminal_dynamic_data: bytes) -> bytes:
    """Signed Dynamic Application Data (DDA: 80/77 response, CDA: 9F4B), Book 2 Table 17."""
    n = icc.public.length
    pad = b"\xbb" * (n - len(icc_dynamic_data) - 25)
    body = bytes([0x05, _SHA1, len(icc_dynamic_data)]) + icc_dynamic_data + pad
    return _sign(icc, body, terminal_dynamic_data)


def recover_dynamic_data(sdad: bytes, icc: RsaPublicKey, terminal_dynamic_data: bytes) -> bytes:
    """Verify signed dynamic data and return the ICC Dynamic Data."""
    step = "signed dynamic application data"
    rec = _recover(step, sdad, icc, 0x05)
    if rec[2] != _SHA1:
        raise OdaError(step, "unknown hash algorithm indicator")
    _check_hash(step, rec, terminal_dynamic_data)
    ldd = rec[3]
    if 4 + ldd > len(rec) - 21:
        raise OdaError(step, "ICC dynamic data length exceeds the signature")
    return rec[4 : 4 + ldd]


def cda_dynamic_data(
    icc_dynamic_number: bytes, cid: int, cryptogram: bytes, transaction_data_hash: bytes
) -> bytes:
    """ICC Dynamic Data for CDA (Book 2 Table 19)."""
    return (
        bytes([len(icc_dynamic_number)])
        + icc_dynamic_number
        + bytes([cid])
        + cryptogram
        + transaction_data_hash
    )


def split_cda_dynamic_data(data: bytes) -> tuple[bytes, int, bytes, bytes]:
    """``(icc_dynamic_number, cid, cryptogram, transaction_data_hash)`` from CDA dynamic data."""
    step = "CDA dynamic data"
    if not data:
        raise OdaError(step, "empty")
    n = data[0]
    if len(data) != 1 + n + 1 + 8 + 20:
        raise OdaError(step, f"{len(data)} bytes do not match an ICC dynamic number of {n}")
    return data[1 : 1 + n], data[1 + n], data[2 + n : 10 + n], data[10 + n : 30 + n]
