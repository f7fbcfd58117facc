"""Electronic signatures (电子签名) and signing later (补签).

A transaction that needs the cardholder's signature gets it on the signature pad
(browser canvas, TUI, or an image file); the image is reduced to a bilevel bitmap,
compressed as JBIG (ITU-T T.85, as UnionPay terminals send it), stored with the
batch record and uploaded in 0820 messages (60.3 = 800, continuation packets 801)
with the e-receipt TLV in field 55. Uploads are retried; after ``MAX_UPLOAD_TRIES``
failed attempts a paper slip is printed for a wet signature. Transactions still
without a signature are listed (``unsigned``) and can be signed later.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from poskit.iso8583.model import CardData, EntryMode, Original, Request, SignatureUpload, TxnType
from poskit.money import Amount
from poskit.terminal.devices.ports import PrinterError
from poskit.terminal.receipt import Receipt
from poskit.terminal.signature.feature_code import feature_code
from poskit.terminal.signature.image import jbig_to_png, signature_to_jbig
from poskit.terminal.store import BatchRecord

if TYPE_CHECKING:
    from poskit.terminal.engine import TerminalEngine, TxnOutcome

__all__ = ["MAX_UPLOAD_TRIES", "attach_signature", "receipt_tlv", "send_signature", "sign"]

MAX_UPLOAD_TRIES = 3


def _tag(tag: str, value: bytes) -> bytes:
    """One e-receipt element: a 2-byte tag (FFxx, UnionPay's private range, not strict BER), a BER
    length, the value. Strict BER forbids the second tag byte 00, so the generic TLV codec is not used."""
    if len(value) < 0x80:
        length = bytes([len(value)])
    elif len(value) < 0x100:
        length = bytes([0x81, len(value)])
    else:
        length = bytes([0x82]) + len(value).to_bytes(2, "big")
    return bytes.fromhex(tag) + length + value


def receipt_tlv(engine: TerminalEngine, record: BatchRecord) -> bytes:
    """The e-receipt TLV of field 55 (FF00 merchant name, FF01 type, FF02 operator, FF06 time, FF07 auth)."""
    receipt = Receipt.from_json(record.receipt) if record.receipt else None
    kind = receipt.txn_type if receipt else record.txn_type.upper()
    parts = [
        _tag("FF00", engine.profile.merchant_name.encode("gbk", errors="replace")[:40]),
        _tag("FF01", kind.encode("ascii", errors="replace")[:25]),
        _tag("FF02", (record.operator or "01").encode("ascii")),
        _tag(
            "FF06", bytes.fromhex(record.local_datetime.astimezone(engine.timezone).strftime("%Y%m%d%H%M%S"))
        ),
    ]
    if record.auth_code:
        parts.append(_tag("FF07", record.auth_code.encode("ascii")))
    return b"".join(parts)


def _waiver(record: BatchRecord) -> str:
    """The waiver printed on the voucher's slip (the signature rule's reason)."""
    try:
        return Receipt.from_json(record.receipt).signature_waiver
    except (KeyError, TypeError, ValueError):
        return ""  # an advice replayed without its slip


async def sign(engine: TerminalEngine, voucher: int, png: bytes) -> TxnOutcome:
    """Attach a signature to a voucher (at the sale or later), upload it, print the signed slip."""
    record = engine.store.find_voucher(voucher)
    if record is None:
        return engine._fail(f"no voucher {voucher:06d} on this terminal", txn_type="sign")
    if not record.signature_required:
        return engine._fail(
            f"voucher {voucher:06d} needs no signature ({_waiver(record) or 'no signature required'})",
            txn_type="sign",
        )
    if record.signature is not None:
        return engine._fail(
            f"voucher {voucher:06d} is already signed: reprint it with poskit reprint", txn_type="sign"
        )
    try:
        jbig = signature_to_jbig(png)
    except ValueError as exc:
        return engine._fail(f"the signature image cannot be used: {exc}", txn_type="sign")
    code = feature_code(record.settlement_date or "0000", record.rrn or "0" * 12) if record.rrn else ""
    receipt = Receipt.from_json(record.receipt).with_signature(jbig_to_png(jbig), feature_code=code)
    engine.store.update_record(record.id, signature=jbig, receipt=receipt.to_json())
    engine.store.queue_upload(
        "signature", batch_no=record.batch_no, stan=record.stan, payload={"record_id": record.id}
    )
    uploaded = await engine.send_pending_uploads()
    printed = True
    try:
        await engine.devices.printer.print_receipt(receipt, copy="merchant")
    except PrinterError:
        printed = False
    state = "uploaded" if uploaded else "stored; the upload will be retried"
    from poskit.terminal.engine import TxnOutcome

    return TxnOutcome(
        "approved",
        f"signature for voucher {voucher:06d} {state}"
        + ("" if printed else " (printer: reprint the slip later)"),
        terminal=engine.profile.terminal_id,
        stan=record.stan,
        batch=record.batch_no,
        rrn=record.rrn,
        amount=Amount.of(record.amount, record.currency),
        masked_pan=record.pan_masked,
        receipt=receipt,
        txn_type="sign",
        extra={"uploaded": uploaded, "feature_code": code},
    )


async def attach_signature(engine: TerminalEngine, record: BatchRecord, png: bytes) -> bool:
    """Store a signature captured at the sale and upload it (best effort; retried later)."""
    try:
        jbig = signature_to_jbig(png)
    except ValueError as exc:
        engine.store.log_event("signature_unusable", stan=record.stan, reason=str(exc)[:120])
        return False
    engine.store.update_record(record.id, signature=jbig)
    engine.store.queue_upload(
        "signature", batch_no=record.batch_no, stan=record.stan, payload={"record_id": record.id}
    )
    return await engine.send_pending_uploads()


async def send_signature(engine: TerminalEngine, upload: dict[str, Any]) -> bool:
    """Upload one stored signature in 0820 chunks; True when the host has it."""
    record = engine.store.batch_record(int(upload["payload"]["record_id"]))
    if record is None or record.signature is None or not record.rrn:
        engine.store.finish_upload(upload["id"], "done", "nothing to upload")
        return True
    p = engine.profile
    chunk = engine.dialect.max_signature_chunk
    image = record.signature
    pieces = [image[i : i + chunk] for i in range(0, len(image), chunk)] or [b""]
    pan = engine.element.reveal_pan(record.pan_token) if record.pan_token else None
    for index, piece in enumerate(pieces):
        request = Request(
            TxnType.SIGNATURE_UPLOAD,
            p.terminal_id,
            p.merchant_no,
            engine.store.next_stan(),
            record.batch_no,
            amount=Amount.of(record.amount, record.currency),
            card=CardData(entry_mode=EntryMode.MANUAL, pan=pan) if pan else None,
            original=Original(rrn=record.rrn, settlement_date=record.settlement_date),
            signature=SignatureUpload(
                image=piece,
                continuation=index > 0,
                receipt_tlv=receipt_tlv(engine, record) if index == 0 else None,
            ),
            operator=p.operator,
            local_datetime=engine._local_now().replace(tzinfo=None),
        )
        ex = await engine._exchange(request)
        if ex.response is None or not ex.mac_ok or ex.response.response_code not in ("00", "94"):
            error = ex.error or (f"host answered {ex.response.response_code}" if ex.response else "no answer")
            attempts = int(upload.get("attempts", 0)) + 1
            if attempts >= MAX_UPLOAD_TRIES:
                engine.store.finish_upload(upload["id"], "failed", error)
                await _paper_slip(engine, record)
            else:
                engine.store.finish_upload(upload["id"], "pending", error)
            return attempts >= MAX_UPLOAD_TRIES  # a failed upload is settled by the paper slip
    engine.store.update_record(record.id, signature_uploaded=True)
    engine.store.finish_upload(upload["id"], "done")
    return True


async def _paper_slip(engine: TerminalEngine, record: BatchRecord) -> None:
    """The e-signature could not be delivered: print a slip for a wet signature instead."""
    receipt = dataclasses.replace(
        Receipt.from_json(record.receipt),
        signature_image="",
        remarks=("电子签名上送失败，请持卡人在此签名 E-SIGNATURE NOT DELIVERED: SIGN BELOW",),
    )
    engine.store.log_event("signature_paper_slip", stan=record.stan, batch=record.batch_no)
    try:
        await engine.devices.printer.print_receipt(receipt, copy="merchant")
    except PrinterError:
        engine.store.log_event("signature_paper_slip_not_printed", stan=record.stan)
