"""APDU traces with cardholder data hidden.

``poskit emv trace`` and the PC/SC reader log show every command and response, so that a
payment engineer can follow a transaction byte by byte, but never the PAN, track data,
cardholder name or PIN: sensitive tags (see :mod:`poskit.emv.tags`) keep their tag and
length with the value replaced by ``*``; the PAN keeps its first six and last four digits.
VERIFY and PIN CHANGE/UNBLOCK command data (PIN blocks) are always hidden. Data that cannot
be parsed as TLV is hidden whole, since it cannot be shown to be harmless.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from poskit.cards.pan import mask_pan
from poskit.emv.apdu import INS_NAMES, describe_sw
from poskit.emv.tags import is_sensitive
from poskit.emv.tlv import Tlv, TlvError, decode, encode_length, encode_tag

__all__ = [
    "ApduExchange",
    "describe_exchange",
    "format_trace",
    "mask_command",
    "mask_response",
    "mask_tlv_hex",
]

_PIN_INS = frozenset({0x20, 0x24})  # VERIFY, PIN CHANGE/UNBLOCK


def _mask_digits(hex_value: str, *, track: bool) -> str:
    """Mask a PAN-like digit string in place (same length): keep 6 + 4 digits of the PAN only."""
    upper = hex_value.upper()
    sep = upper.find("D") if track else -1
    pan_part = upper[:sep] if sep >= 0 else upper.rstrip("F")
    masked = mask_pan(pan_part) if pan_part.isdigit() else "*" * len(pan_part)
    rest = upper[len(pan_part) :]
    if sep >= 0:
        rest = "D" + "*" * (len(rest) - 1)
    return masked + rest


def _mask_value(tag: str, value: bytes) -> str:
    if tag in ("5A",):
        return _mask_digits(value.hex(), track=False)
    if tag in ("57", "9F6B"):
        return _mask_digits(value.hex(), track=True)
    return "*" * (2 * len(value))


def _render(items: Iterable[Tlv]) -> str:
    out: list[str] = []
    for item in items:
        head = (encode_tag(item.tag) + encode_length(len(item.value))).hex().upper()
        if item.children:
            out.append(head + _render(item.children))
        elif is_sensitive(item.tag):
            out.append(head + _mask_value(item.tag, item.value))
        else:
            out.append(head + item.value.hex().upper())
    return "".join(out)


def mask_tlv_hex(data: bytes) -> str:
    """Hex of TLV data with sensitive values masked; unparseable data is hidden entirely."""
    if not data:
        return ""
    try:
        items = decode(data)
    except TlvError:
        return "*" * (2 * len(data))
    rendered = _render(items)
    # '00' padding bytes are skipped by the decoder; if anything was dropped, hide it all.
    if len(rendered) != 2 * len(data):
        return "*" * (2 * len(data))
    return rendered


def mask_command(raw: bytes) -> str:
    """Hex of a command APDU with PIN data hidden."""
    if len(raw) <= 5:
        return raw.hex().upper()
    header = raw[:5].hex().upper()
    lc = raw[4]
    data = raw[5 : 5 + lc]
    tail = raw[5 + lc :].hex().upper()
    if raw[1] in _PIN_INS:
        return header + "*" * (2 * len(data)) + tail
    return header + data.hex().upper() + tail


#: Commands whose responses are not TLV and never carry cardholder data (GET CHALLENGE).
_PLAIN_RESPONSE_INS = frozenset({0x84})


def mask_response(raw: bytes, *, ins: int | None = None) -> str:
    """Hex of a response APDU (data + SW) with sensitive TLV values masked."""
    if len(raw) < 2:
        return raw.hex().upper()
    if ins in _PLAIN_RESPONSE_INS:
        return raw.hex().upper()
    return mask_tlv_hex(raw[:-2]) + raw[-2:].hex().upper()


@dataclasses.dataclass(frozen=True, slots=True)
class ApduExchange:
    """One command/response pair, already masked (safe to print and log)."""

    name: str
    command: str
    response: str
    sw: str
    meaning: str

    def __str__(self) -> str:
        return f"{self.name}\n  C-APDU {self.command}\n  R-APDU {self.response} ({self.meaning})"


def describe_exchange(command: bytes, response: bytes) -> ApduExchange:
    name = INS_NAMES.get(command[1], f"INS {command[1]:02X}") if len(command) > 1 else "?"
    sw = response[-2:] if len(response) >= 2 else b"\x00\x00"
    return ApduExchange(
        name=name,
        command=mask_command(command),
        response=mask_response(response, ins=command[1] if len(command) > 1 else None),
        sw=sw.hex().upper(),
        meaning=describe_sw(sw[0], sw[1]),
    )


def format_trace(exchanges: Iterable[ApduExchange]) -> str:
    """The trace as text, one exchange per block (what ``poskit emv trace`` prints)."""
    return "\n".join(str(e) for e in exchanges)
