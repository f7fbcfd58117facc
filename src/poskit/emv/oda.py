"""Offline data authentication, terminal side (EMV Book 2 §5-§6, Book 3 §10.3).

The kernel chooses CDA, then DDA, then SDA by what both the card (AIP) and the terminal
(9F33) support. The functions here recover and check the key chain:

    CA public key (8F, RID)  ->  issuer key (90, 92, 9F32)  ->  ICC key (9F46, 9F48, 9F47)

with the checks that need the transaction context: issuer identifier against the PAN,
certificate expiry against today, ICC certificate PAN, CA key presence. Failures raise
:class:`~poskit.emv.certificates.OdaError`; the kernel turns them into TVR bits.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence

from poskit.emv.capk import CaKeyStore
from poskit.emv.certificates import (
    OdaError,
    RsaPublicKey,
    recover_dynamic_data,
    recover_icc_certificate,
    recover_issuer_certificate,
    recover_static_data,
    split_cda_dynamic_data,
)
from poskit.emv.tlv import Tlv, decode, encode

__all__ = [
    "certificate_expired",
    "recover_icc_key",
    "recover_issuer_key",
    "static_data_to_authenticate",
    "transaction_data_hash",
    "verify_cda_signature",
    "verify_dda_signature",
    "verify_sda",
]


def certificate_expired(mmyy: str, today: dt.date) -> bool:
    """A certificate is valid through the last day of its MMYY month."""
    month, yy = int(mmyy[:2]), int(mmyy[2:])
    if not 1 <= month <= 12:
        return True
    year = 2000 + yy if yy < 50 else 1900 + yy
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return today > last


def static_data_to_authenticate(
    records: Sequence[tuple[int, bytes]], sda_tag_list: bytes | None, aip: bytes
) -> bytes:
    """Book 3 §10.3: AFL records marked for ODA, then the AIP if 9F4A lists it.

    ``records`` holds (SFI, raw record response data). For SFI 1-10 only the value of the
    '70' template counts; for SFI 11-30 the whole record.
    """
    out = bytearray()
    for sfi, raw in records:
        if sfi <= 10:
            if not raw or raw[0] != 0x70:
                raise OdaError("static data", f"record in SFI {sfi} is not a '70' template")
            items = decode(raw)
            out += items[0].value
        else:
            out += raw
    if sda_tag_list:
        if sda_tag_list != b"\x82":
            raise OdaError("static data", "the SDA tag list may only contain '82' (AIP)")
        out += aip
    return bytes(out)


def recover_issuer_key(
    card: Mapping[str, bytes], ca_keys: CaKeyStore, rid: str, today: dt.date
) -> RsaPublicKey:
    """Issuer public key from the card's certificate, checked against the PAN and today."""
    index = card.get("8F")
    if index is None or len(index) != 1:
        raise OdaError("CA public key", "CA public key index (8F) missing")
    capk = ca_keys.lookup(rid, index[0])
    if capk is None:
        raise OdaError("CA public key", f"no CA key {rid}/{index[0]:02X} in the terminal")
    cert = card.get("90")
    exponent = card.get("9F32")
    if cert is None or exponent is None:
        raise OdaError("issuer certificate", "issuer certificate (90) or exponent (9F32) missing")
    issuer = recover_issuer_certificate(cert, card.get("92", b""), exponent, capk.key)
    pan = card.get("5A", b"").hex().upper().rstrip("F")
    if not 3 <= len(issuer.issuer_identifier) <= 8 or not pan.startswith(issuer.issuer_identifier):
        raise OdaError("issuer certificate", "issuer identifier does not match the PAN")
    if certificate_expired(issuer.expiry, today):
        raise OdaError("issuer certificate", f"expired {issuer.expiry}")
    return issuer.public_key


def recover_icc_key(
    card: Mapping[str, bytes], issuer_key: RsaPublicKey, static_data: bytes, today: dt.date
) -> RsaPublicKey:
    """ICC public key from 9F46/9F48/9F47, checked against the PAN and today."""
    cert = card.get("9F46")
    exponent = card.get("9F47")
    if cert is None or exponent is None:
        raise OdaError("ICC certificate", "ICC certificate (9F46) or exponent (9F47) missing")
    icc = recover_icc_certificate(cert, card.get("9F48", b""), exponent, issuer_key, static_data)
    pan = card.get("5A", b"").hex().upper().rstrip("F")
    if icc.pan != pan:
        raise OdaError("ICC certificate", "PAN in the certificate does not match 5A")
    if certificate_expired(icc.expiry, today):
        raise OdaError("ICC certificate", f"expired {icc.expiry}")
    return icc.public_key


def verify_sda(card: Mapping[str, bytes], issuer_key: RsaPublicKey, static_data: bytes) -> bytes:
    """Check the Signed Static Application Data (93); returns the Data Authentication Code."""
    ssad = card.get("93")
    if ssad is None:
        raise OdaError("signed static application data", "tag 93 missing")
    return recover_static_data(ssad, issuer_key, static_data)


def verify_dda_signature(sdad: bytes, icc_key: RsaPublicKey, ddol_data: bytes) -> bytes:
    """Check INTERNAL AUTHENTICATE's signature; returns the ICC Dynamic Number (9F4C)."""
    dynamic = recover_dynamic_data(sdad, icc_key, ddol_data)
    if not dynamic or len(dynamic) < 1 + dynamic[0] or not 2 <= dynamic[0] <= 8:
        raise OdaError("signed dynamic application data", "ICC dynamic number malformed")
    return dynamic[1 : 1 + dynamic[0]]


def transaction_data_hash(
    pdol_data: bytes, cdol_data: Sequence[bytes], response_items: Sequence[Tlv]
) -> bytes:
    """CDA transaction data hash code (Book 2 §6.6.1): PDOL data, CDOL1 (and CDOL2) data,
    then the GENERATE AC response data objects except the signature (9F4B)."""
    kept = [item for item in response_items if item.tag != "9F4B"]
    data = pdol_data + b"".join(cdol_data) + encode(kept)
    return hashlib.sha1(data, usedforsecurity=False).digest()


def verify_cda_signature(
    sdad: bytes,
    icc_key: RsaPublicKey,
    *,
    unpredictable_number: bytes,
    cid: int,
    expected_hash: bytes,
) -> tuple[bytes, bytes]:
    """Check a CDA signature; returns (application cryptogram, ICC dynamic number)."""
    dynamic = recover_dynamic_data(sdad, icc_key, unpredictable_number)
    number, signed_cid, cryptogram, tdhc = split_cda_dynamic_data(dynamic)
    if signed_cid != cid:
        raise OdaError("CDA", "cryptogram information data differs from the signed one")
    if tdhc != expected_hash:
        raise OdaError("CDA", "transaction data hash code does not match")
    return cryptogram, number
