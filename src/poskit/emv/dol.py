"""Data Object Lists (EMV Book 3 §5.4): PDOL, CDOL1, CDOL2, DDOL, TDOL.

A DOL is a list of (tag, length) pairs without values. The terminal answers it with the
values concatenated, each forced to the requested length:

* unknown tags, templates and absent data: that many ``00`` bytes;
* numeric (``n``): longer data loses its leftmost bytes, shorter data gets leading ``00``;
* compressed numeric (``cn``): rightmost bytes cut, trailing ``FF`` padding;
* anything else: rightmost bytes cut, trailing ``00`` padding.

The card does the opposite with :func:`split_dol_data`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping

from poskit.emv.tags import tag_format
from poskit.emv.tlv import TlvError, is_constructed, read_tag

__all__ = [
    "DolEntry",
    "DolError",
    "build_dol_data",
    "dol_length",
    "encode_dol",
    "fit_value",
    "parse_dol",
    "split_dol_data",
]


class DolError(ValueError):
    """A malformed DOL, or DOL-related data whose length does not match the list."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"invalid DOL{where}: {reason}")
        self.reason = reason
        self.offset = offset


@dataclasses.dataclass(frozen=True, slots=True)
class DolEntry:
    tag: str
    length: int


def parse_dol(data: bytes) -> tuple[DolEntry, ...]:
    """Parse a DOL into entries (the length is one byte in every EMV DOL, 81/82 forms accepted)."""
    entries: list[DolEntry] = []
    pos = 0
    while pos < len(data):
        try:
            tag, pos = read_tag(data, pos)
        except TlvError as exc:
            raise DolError(exc.reason, exc.offset) from None
        if pos >= len(data):
            raise DolError(f"tag {tag} has no length byte", pos)
        first = data[pos]
        if first < 0x80:
            length, pos = first, pos + 1
        elif first in (0x81, 0x82) and pos + (first & 0x7F) < len(data):
            n = first & 0x7F
            length = int.from_bytes(data[pos + 1 : pos + 1 + n], "big")
            pos += 1 + n
        else:
            raise DolError(f"bad length byte {first:02X} for tag {tag}", pos)
        entries.append(DolEntry(tag, length))
    return tuple(entries)


def encode_dol(entries: Iterable[DolEntry | tuple[str, int]]) -> bytes:
    """Build a DOL from (tag, length) pairs (personalisation and tests)."""
    out = bytearray()
    for entry in entries:
        tag, length = (entry.tag, entry.length) if isinstance(entry, DolEntry) else entry
        if not 0 <= length <= 0xFF:
            raise DolError(f"length {length} of tag {tag} does not fit one byte")
        out += bytes.fromhex(tag) + bytes([length])
    return bytes(out)


def dol_length(entries: Iterable[DolEntry]) -> int:
    return sum(e.length for e in entries)


def fit_value(tag: str, value: bytes | None, length: int) -> bytes:
    """One DOL element of exactly ``length`` bytes per the Book 3 §5.4 rules."""
    if value is None or is_constructed(tag):
        return bytes(length)
    fmt = tag_format(tag)
    if len(value) == length:
        return value
    if len(value) > length:
        return value[len(value) - length :] if fmt == "n" else value[:length]
    pad = length - len(value)
    if fmt == "n":
        return bytes(pad) + value
    if fmt == "cn":
        return value + b"\xff" * pad
    return value + bytes(pad)


def build_dol_data(dol: bytes | Iterable[DolEntry], values: Mapping[str, bytes]) -> bytes:
    """Concatenate the values the DOL asks for (missing values become zeros)."""
    entries = parse_dol(dol) if isinstance(dol, bytes | bytearray) else tuple(dol)
    return b"".join(fit_value(e.tag, values.get(e.tag), e.length) for e in entries)


def split_dol_data(dol: bytes | Iterable[DolEntry], data: bytes) -> dict[str, bytes]:
    """Cut DOL-related data back into ``{tag: value}`` (card side); lengths must match exactly."""
    entries = parse_dol(dol) if isinstance(dol, bytes | bytearray) else tuple(dol)
    expected = dol_length(entries)
    if len(data) != expected:
        raise DolError(f"data is {len(data)} bytes, the DOL asks for {expected}")
    out: dict[str, bytes] = {}
    pos = 0
    for entry in entries:
        out[entry.tag] = data[pos : pos + entry.length]
        pos += entry.length
    return out


def tc_hash_value(tdol: bytes, values: Mapping[str, bytes]) -> bytes:
    """Transaction Certificate hash value (tag 98): SHA-1 of the TDOL data (Book 3 §5.4).

    An absent TDOL (neither on the card nor a terminal default) hashes empty data.
    """
    data = build_dol_data(tdol, values) if tdol else b""
    return hashlib.sha1(data, usedforsecurity=False).digest()
