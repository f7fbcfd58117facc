"""Encode and decode ISO 8583 messages with a dialect spec, on top of pyiso8583.

pyiso8583 does the byte work; this module adds what a payment host needs around it:

* every decode problem, for any byte input, becomes :class:`MessageFormatError`
  carrying the field, the byte position and the reason (never another exception);
* content checks pyiso8583 does not make (non-BCD nibbles in ``n`` fields, hex in the
  ascii dialect's binary fields, fields the dialect does not define);
* the MAC helpers: which bytes the MAC covers and where the MAC goes.

Keep pyiso8583 replaceable: nothing outside this module calls it.
"""

from __future__ import annotations

import re
from typing import Any

import iso8583

from poskit.iso8583.errors import FieldKey, MessageEncodeError, MessageFormatError
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.spec import DialectSpec, FieldSpec, load_spec

__all__ = [
    "MAC_LENGTH",
    "announced_fields",
    "decode",
    "encode",
    "extract_mac",
    "mac_input",
    "with_mac",
]

#: A MAC is 8 bytes in both dialects (binary in cups, 16 hex characters in ascii87).
MAC_LENGTH = 8

_AN = re.compile(r"[A-Za-z0-9 ]*")
_HEXCHARS = re.compile(r"[0-9A-Fa-f]*")
_TRACK = re.compile(r"[0-9A-Fa-f=]*")


def _resolve(dialect: DialectSpec | str) -> DialectSpec:
    return dialect if isinstance(dialect, DialectSpec) else load_spec(dialect)


def _key(field: str) -> FieldKey:
    return {"t": "mti", "p": "bitmap", "h": "header"}.get(field) or (int(field) if field.isdigit() else field)


# ---------------------------------------------------------------------------- encode
def _check_value(number: int, field: FieldSpec, value: str) -> None:
    fmt = field.format
    if fmt == "n" and not (value.isascii() and value.isdigit()):
        raise MessageEncodeError(number, "numeric field must hold digits only")
    if fmt == "z" and not _TRACK.fullmatch(value):
        raise MessageEncodeError(number, "track field must hold digits and 'D' or '=' only")
    if fmt == "b" and (not _HEXCHARS.fullmatch(value) or len(value) % 2):
        raise MessageEncodeError(number, "binary field must be an even-length hex string")
    if fmt == "an" and not _AN.fullmatch(value):
        raise MessageEncodeError(number, "an field must hold letters, digits and spaces")
    if fmt == "ans" and not value.isprintable():
        raise MessageEncodeError(number, "ans field holds control characters")


def encode(dialect: DialectSpec | str, message: IsoMessage) -> bytes:
    """Serialise ``message`` in ``dialect``; bad values raise :class:`MessageEncodeError`."""
    spec = _resolve(dialect)
    if len(message.mti) != 4 or not message.mti.isascii() or not message.mti.isdigit():
        raise MessageEncodeError("mti", "MTI must be four digits")
    doc: dict[str, str] = {"t": message.mti}
    for number, value in message.fields.items():
        field = spec.field(number) if isinstance(number, int) else None
        if field is None or number in (1, 65):
            raise MessageEncodeError(number, f"field not defined as data in dialect {spec.name}")
        if not isinstance(value, str):
            raise MessageEncodeError(number, "field value must be a string")
        _check_value(number, field, value)
        doc[str(number)] = value
    try:
        data, _ = iso8583.encode(doc, spec.pyiso)
    except iso8583.EncodeError as exc:
        raise MessageEncodeError(_key(exc.field), exc.msg) from None
    return bytes(data)


# ---------------------------------------------------------------------------- decode
def _bitmap_at(spec: DialectSpec, data: bytes, pos: int, offset: int, key: str) -> tuple[set[int], int]:
    binary = spec.fields[key].data_enc == "b"
    width = 8 if binary else 16
    chunk = data[pos : pos + width]
    if len(chunk) != width:
        raise MessageFormatError("bitmap", pos, f"bitmap is {len(chunk)} bytes, expecting {width}")
    if binary:
        raw = chunk
    else:
        try:
            raw = bytes.fromhex(chunk.decode("ascii"))
        except ValueError:
            raise MessageFormatError("bitmap", pos, "bitmap is not hex") from None
    bits = int.from_bytes(raw, "big")
    found = {offset + i + 1 for i in range(64) if bits >> (63 - i) & 1}
    return found, pos + width


def announced_fields(dialect: DialectSpec | str, data: bytes) -> tuple[list[int], int]:
    """Fields the bitmap(s) announce and the offset where field data starts.

    Reads only MTI and bitmaps, so it is cheap enough for MAC slicing.
    """
    spec = _resolve(dialect)
    header = spec.fields["h"]
    pos = header.max_len if header.len_type == 0 else 0
    pos += 2 if spec.binary else 4
    if len(data) < pos:
        raise MessageFormatError("mti", 0, "message shorter than its MTI")
    fields, pos = _bitmap_at(spec, data, pos, 0, "p")
    if 1 in fields:
        if not spec.defines(1):
            raise MessageFormatError(
                1, pos, f"secondary bitmap announced, dialect {spec.name} uses the primary bitmap only"
            )
        more, pos = _bitmap_at(spec, data, pos, 64, "1")
        fields = (fields - {1}) | more
    return sorted(fields), pos


def _partial(spec: DialectSpec, doc: dict[str, str]) -> IsoMessage:
    fields = {int(k): v for k, v in doc.items() if k.isdigit() and k not in ("1", "65")}
    return IsoMessage(doc.get("t", ""), fields, spec.name)


def decode(dialect: DialectSpec | str, data: bytes | bytearray | memoryview) -> IsoMessage:
    """Parse ``data`` (the ISO message after framing) into an :class:`IsoMessage`.

    Any defect raises :class:`MessageFormatError`; nothing else escapes for any bytes.
    """
    spec = _resolve(dialect)
    raw = bytes(data)
    fields, _ = announced_fields(spec, raw)
    for number in fields:
        if not spec.defines(number):
            raise MessageFormatError(
                number, None, f"bitmap announces a field dialect {spec.name} does not define"
            )
    try:
        doc, enc = iso8583.decode(raw, spec.pyiso)
    except iso8583.DecodeError as exc:
        raise MessageFormatError(
            _key(exc.field), exc.pos, exc.msg, partial=_partial(spec, exc.doc_dec)
        ) from None
    except Exception as exc:
        raise MessageFormatError(None, None, f"undecodable message ({type(exc).__name__})") from None
    message = _partial(spec, doc)
    _check_decoded(spec, message, enc)
    return message


def _check_decoded(spec: DialectSpec, message: IsoMessage, enc: dict[str, dict[str, Any]]) -> None:
    if not (message.mti.isascii() and message.mti.isdigit() and len(message.mti) == 4):
        raise MessageFormatError("mti", 0, "MTI is not four decimal digits", partial=message)
    pos = 0
    for key in ("h", "t", "p", "1"):
        if key in enc:
            pos += len(enc[key]["len"]) + len(enc[key]["data"])
    for number in sorted(message.fields):
        part = enc[str(number)]
        start = pos + len(part["len"])
        pos = start + len(part["data"])
        value = message.fields[number]
        fmt = spec.fields[str(number)].format
        if fmt == "n":
            if not value:
                raise MessageFormatError(number, start, "numeric field is empty", partial=message)
            bad = next((i for i, ch in enumerate(value) if ch not in "0123456789"), None)
            if bad is not None:
                raise MessageFormatError(
                    number,
                    start + bad // 2 if spec.binary else start + bad,
                    f"non-BCD digit at digit {bad + 1}",
                    partial=message,
                )
        elif fmt == "z" and not _TRACK.fullmatch(value):
            raise MessageFormatError(
                number,
                start,
                "track data holds characters other than digits and a separator",
                partial=message,
            )
        elif (
            fmt == "b"
            and spec.fields[str(number)].data_enc != "b"
            and (not _HEXCHARS.fullmatch(value) or len(value) % 2)
        ):
            raise MessageFormatError(
                number, start, "binary field is not an even-length hex string", partial=message
            )
        elif fmt == "an" and not _AN.fullmatch(value):
            raise MessageFormatError(
                number, start, "an field holds other than letters, digits and spaces", partial=message
            )
        elif fmt == "ans" and not value.isprintable():
            raise MessageFormatError(number, start, "ans field holds control characters", partial=message)


# ---------------------------------------------------------------------------- MAC
def _mac_slot(spec: DialectSpec, data: bytes) -> tuple[int, FieldSpec] | None:
    fields, start = announced_fields(spec, data)
    if not fields or fields[-1] not in (64, 128) or not spec.defines(fields[-1]):
        return None
    number = fields[-1]
    field = spec.fields[str(number)]
    width = field.max_len
    if len(data) < start + width:
        raise MessageFormatError(number, len(data), "message ends inside the MAC field")
    return width, field


def _require_slot(spec: DialectSpec, data: bytes) -> tuple[int, FieldSpec]:
    slot = _mac_slot(spec, data)
    if slot is None:
        raise MessageFormatError(
            spec.mac_field, None, "MAC field absent or not the last field of the message"
        )
    return slot


def mac_input(dialect: DialectSpec | str, encoded: bytes) -> bytes:
    """The bytes the MAC covers: MTI through the last field before the MAC field.

    ``encoded`` must already announce the MAC field (the dialects add a placeholder),
    so the bitmap inside the MAC'd data is the one that is sent.
    """
    spec = _resolve(dialect)
    width, _ = _require_slot(spec, encoded)
    return encoded[:-width]


def with_mac(dialect: DialectSpec | str, encoded: bytes, mac: bytes) -> bytes:
    """``encoded`` with its MAC field set to ``mac`` (8 bytes; hex text in ascii87)."""
    spec = _resolve(dialect)
    if len(mac) != MAC_LENGTH:
        raise MessageEncodeError(spec.mac_field, f"MAC must be {MAC_LENGTH} bytes")
    width, field = _require_slot(spec, encoded)
    value = mac if field.data_enc == "b" else mac.hex().upper().encode(field.data_enc)
    if len(value) != width:
        raise MessageEncodeError(spec.mac_field, "MAC does not fit the MAC field")
    return encoded[:-width] + value


def extract_mac(dialect: DialectSpec | str, encoded: bytes) -> bytes | None:
    """The received MAC (8 bytes), or None when the message carries none."""
    spec = _resolve(dialect)
    slot = _mac_slot(spec, encoded)
    if slot is None:
        return None
    width, field = slot
    tail = encoded[-width:]
    if field.data_enc == "b":
        return tail
    try:
        return bytes.fromhex(tail.decode("ascii"))
    except ValueError:
        raise MessageFormatError(spec.mac_field, len(encoded) - width, "MAC is not hex") from None
