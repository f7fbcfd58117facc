"""Cardholder signatures (电子签名) and 补签: which transactions still need one, storing one.

The images live in the host's ``signatures`` table (one row per terminal + RRN, the
image as uploaded: JBIG from terminals, PNG from the portal). A transaction counts
as signed when a complete signature row exists for it.

Which transactions need a signature is not decided here: the host stored the
answer of :mod:`poskit.signature_rule` with each transaction
(``transactions.signature_required``); the portal lists those still in force
(approved, a held or completed pre-authorisation) without a complete signature.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from poskit.ledger.unsigned import unsigned_clause
from poskit.signature_rule import UNSIGNED_STATUSES, cvm_from_hex, signature_waiver
from poskit.store.schema_terminal_day import signatures
from poskit.terminal.signature import JbigError, jbig_to_png
from poskit.terminal.signature import SignatureImageError as CodecImageError
from poskit.terminal.signature.feature_code import FeatureCodeError
from poskit.terminal.signature.feature_code import feature_code as _feature_code

__all__ = [
    "MAX_SIGNATURE_BYTES",
    "SignatureExists",
    "SignatureImageError",
    "SignatureNotNeeded",
    "feature_code",
    "needs_signature",
    "no_signature_reason",
    "normalise_signature_png",
    "parse_png_data_url",
    "signature_png",
    "signature_record",
    "signed_transaction_ids",
    "store_signature",
    "unsigned_clause",
    "waiver_of",
]

MAX_SIGNATURE_BYTES = 512 * 1024
_MAX_SIDE = 2000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class SignatureExists(ValueError):
    """The transaction already has a signature on file (one per terminal + RRN)."""

    def __init__(self, txn_id: int) -> None:
        super().__init__(f"transaction {txn_id} is already signed")
        self.txn_id = txn_id


class SignatureNotNeeded(ValueError):
    """The transaction needs no cardholder signature (PIN, phone or card verified, a void, declined ...)."""

    def __init__(self, txn_id: int) -> None:
        super().__init__(f"transaction {txn_id} needs no cardholder signature")
        self.txn_id = txn_id


class SignatureImageError(ValueError):
    """An uploaded signature that is not a usable PNG image."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"signature image rejected: {reason}")
        self.reason = reason


def needs_signature(txn: Mapping[str, Any]) -> bool:
    """Whether the cardholder should have signed this transaction's slip, and it still matters.

    The host's stored answer of the signature rule, for a transaction still in force
    (a voided, reversed or declined one needs no 补签).
    """
    return bool(txn.get("signature_required")) and txn.get("status") in UNSIGNED_STATUSES


def waiver_of(txn: Mapping[str, Any]) -> str:
    """The rule's reason this transaction's slip needs no signature ("" when it needs one)."""
    response = txn.get("response")
    emv = response.get("emv") if isinstance(response, Mapping) else None
    entry = txn.get("entry_mode")
    cvm = cvm_from_hex(entry, bool(txn.get("pin_entered")), emv if isinstance(emv, Mapping) else None)
    contactless = entry in ("contactless_chip", "contactless_msd")
    return signature_waiver(str(txn.get("txn_type") or ""), cvm, contactless=contactless)


def no_signature_reason(txn: Mapping[str, Any]) -> str:
    """Why the portal asks for no signature ("" when it does): not in force, or the rule's waiver."""
    if txn.get("status") not in UNSIGNED_STATUSES:
        return "the transaction is not in force"
    if txn.get("signature_required"):
        return ""
    return waiver_of(txn) or "no signature required"


def signed_transaction_ids(conn: Connection, txn_ids: Iterable[int]) -> set[int]:
    ids = list(txn_ids)
    if not ids:
        return set()
    rows = conn.execute(
        select(signatures.c.transaction_id).where(
            signatures.c.transaction_id.in_(ids), signatures.c.complete.is_(True)
        )
    )
    return {int(r[0]) for r in rows}


def signature_record(conn: Connection, txn_id: int) -> dict[str, Any] | None:
    """The complete signature of a transaction: format, feature code, source, time and image."""
    row = (
        conn.execute(
            select(signatures)
            .where(signatures.c.transaction_id == txn_id, signatures.c.complete.is_(True))
            .order_by(signatures.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def signature_png(conn: Connection, txn_id: int) -> bytes | None:
    """The signature as a PNG the browser can show (terminal uploads are JBIG, decoded here)."""
    record = signature_record(conn, txn_id)
    if record is None:
        return None
    if record["image_format"] == "png":
        return bytes(record["image"])
    try:
        return jbig_to_png(bytes(record["image"]))
    except (JbigError, CodecImageError):
        return None  # an incomplete or damaged upload: the page says "signature on file"


def feature_code(settlement_date: str | None, rrn: str | None) -> str:
    """特征码 of a transaction (reference §1.12), or "" when it has no settlement date and RRN yet."""
    if not settlement_date or not rrn:
        return ""
    try:
        return _feature_code(settlement_date, rrn)
    except FeatureCodeError:
        return ""


def parse_png_data_url(text: str) -> bytes:
    """The bytes of a ``data:image/png;base64,...`` URL (what a canvas' toDataURL gives)."""
    prefix = "data:image/png;base64,"
    if not text.startswith(prefix):
        raise SignatureImageError("expected a data:image/png;base64 URL")
    encoded = text[len(prefix) :]
    if len(encoded) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise SignatureImageError(f"larger than {MAX_SIGNATURE_BYTES // 1024} KiB")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureImageError("the base64 data is damaged") from None


def normalise_signature_png(data: bytes) -> bytes:
    """Re-encode an uploaded PNG as a bilevel (1-bit) PNG on white, dropping everything else.

    A signature is black strokes on white; re-encoding keeps it small (as the
    terminal's bilevel image) and throws away any metadata or trailing data.
    """
    if not data.startswith(_PNG_MAGIC):
        raise SignatureImageError("not a PNG image")
    if len(data) > MAX_SIGNATURE_BYTES:
        raise SignatureImageError(f"larger than {MAX_SIGNATURE_BYTES // 1024} KiB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                raise SignatureImageError("not a PNG image")
            if img.width > _MAX_SIDE or img.height > _MAX_SIDE or img.width < 16 or img.height < 16:
                raise SignatureImageError(f"image must be 16..{_MAX_SIDE} pixels on each side")
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise SignatureImageError("the PNG cannot be decoded") from None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, rgba).convert("L")
    bilevel = flat.point(lambda v: 0 if v < 160 else 255).convert("1")
    lo, hi = bilevel.getextrema()
    if lo == hi:
        raise SignatureImageError("the signature is empty")
    out = io.BytesIO()
    bilevel.save(out, format="PNG", optimize=True)
    return out.getvalue()


def store_signature(
    conn: Connection, txn: Mapping[str, Any], png: bytes, *, now: datetime, source: str = "portal"
) -> str:
    """Store a (normalised) PNG signature for ``txn`` (补签); returns its feature code."""
    existing = conn.execute(
        select(signatures.c.id, signatures.c.complete).where(
            signatures.c.terminal_id == txn["terminal_id"], signatures.c.rrn == (txn.get("rrn") or "")
        )
    ).first()
    if existing is not None and existing.complete:
        raise SignatureExists(int(txn["id"]))
    code = feature_code(txn.get("settlement_date"), txn.get("rrn"))
    values: dict[str, Any] = {
        "transaction_id": txn["id"],
        "terminal_id": txn["terminal_id"],
        "rrn": txn.get("rrn") or "",
        "settlement_date": txn.get("settlement_date"),
        "feature_code": code,
        "image": png,
        "image_format": "png",
        "chunks": 1,
        "complete": True,
        "source": source,
        "uploaded_at": now,
    }
    if existing is not None:  # an interrupted terminal upload: the portal's image replaces it
        conn.execute(signatures.update().where(signatures.c.id == existing.id).values(**values))
    else:
        conn.execute(insert(signatures).values(**values))
    return code
