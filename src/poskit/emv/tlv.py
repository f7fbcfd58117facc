"""BER-TLV as EMV uses it (EMV Book 3 Annex B).

Tags are carried as upper-case hex strings (``"9F02"``) because that is how every
specification, trace and terminal parameter file writes them. Multi-byte tags, lengths
of one to three bytes (``'81'`` and ``'82'`` forms) and constructed templates are
supported; the order of data objects is always kept, because field 55 is MAC'd and
cryptograms are computed over data in a fixed order.

Every malformed input raises :class:`TlvError` carrying the byte offset of the problem,
and nothing else (a fuzz test checks this).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "Tlv",
    "TlvError",
    "decode",
    "decode_flat",
    "encode",
    "encode_flat",
    "encode_length",
    "encode_tag",
    "find",
    "flatten",
    "is_constructed",
    "read_tag",
    "tlv",
    "walk",
]

_MAX_TAG_BYTES = 4
_MAX_LENGTH = 0xFFFF  # three length bytes: '82' followed by two bytes


class TlvError(ValueError):
    """BER-TLV data that cannot be parsed or built; ``offset`` is where the problem starts."""

    def __init__(self, reason: str, offset: int | None = None, tag: str | None = None) -> None:
        where = f" at offset {offset}" if offset is not None else ""
        what = f" in tag {tag}" if tag else ""
        super().__init__(f"invalid BER-TLV{what}{where}: {reason}")
        self.reason = reason
        self.offset = offset
        self.tag = tag


def is_constructed(tag: str) -> bool:
    """True when bit 6 of the tag's first byte is set (a template holding other objects)."""
    return bool(int(tag[:2], 16) & 0x20)


@dataclasses.dataclass(frozen=True, slots=True)
class Tlv:
    """One data object. A constructed object keeps its children; ``value`` is always the raw value."""

    tag: str
    value: bytes
    children: tuple[Tlv, ...] = ()

    @classmethod
    def primitive(cls, tag: str, value: bytes) -> Tlv:
        tag = _check_tag(tag)
        if is_constructed(tag):
            raise TlvError("a constructed tag needs children, not a raw value", tag=tag)
        return cls(tag, bytes(value))

    @classmethod
    def template(cls, tag: str, children: Iterable[Tlv]) -> Tlv:
        tag = _check_tag(tag)
        if not is_constructed(tag):
            raise TlvError("a primitive tag cannot hold children", tag=tag)
        kids = tuple(children)
        return cls(tag, encode(kids), kids)

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def to_bytes(self) -> bytes:
        return encode_tag(self.tag) + encode_length(len(self.value)) + self.value

    def __repr__(self) -> str:  # values may be sensitive (PAN, track 2): show sizes only
        if self.children:
            return f"Tlv({self.tag}, {len(self.children)} children)"
        return f"Tlv({self.tag}, <{len(self.value)} bytes>)"


def _check_tag(tag: str) -> str:
    text = tag.upper()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise TlvError(f"tag {tag!r} is not hex") from None
    parsed, end = read_tag(raw, 0)
    if end != len(raw):
        raise TlvError(f"tag {tag!r} has bytes after its last tag byte")
    return parsed


def encode_tag(tag: str) -> bytes:
    """The tag bytes for a hex tag string (validated: subsequent-byte rules of Annex B)."""
    return bytes.fromhex(_check_tag(tag))


def encode_length(length: int) -> bytes:
    """Definite length in one (0-127), two ('81' xx) or three ('82' xx xx) bytes."""
    if length < 0:
        raise TlvError(f"negative length {length}")
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= _MAX_LENGTH:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise TlvError(f"length {length} does not fit three length bytes (max {_MAX_LENGTH})")


def tlv(tag: str, value: bytes) -> bytes:
    """Encode one primitive data object: ``tlv("9F02", amount)``."""
    return encode_tag(tag) + encode_length(len(value)) + value


def encode(items: Iterable[Tlv]) -> bytes:
    """Encode data objects in the order given.

    A template is written from its raw ``value`` (as :meth:`Tlv.to_bytes` does), so a decoded
    template keeps any '00' padding between its children and re-encodes byte for byte.
    """
    return b"".join(item.to_bytes() for item in items)


def read_tag(data: bytes, pos: int) -> tuple[str, int]:
    """Read one tag at ``pos``; returns the hex tag and the offset after it."""
    start = pos
    if pos >= len(data):
        raise TlvError("tag expected, data ended", pos)
    first = data[pos]
    pos += 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise TlvError("multi-byte tag is cut short", start)
            byte = data[pos]
            pos += 1
            if pos - start > _MAX_TAG_BYTES:
                raise TlvError(f"tag longer than {_MAX_TAG_BYTES} bytes", start)
            if pos - start == 2 and byte & 0x7F == 0:
                # Annex B / X.690: the first subsequent byte may not be '80' or '00' (b7-b1 zero).
                raise TlvError("first subsequent tag byte has bits 7-1 all zero", start + 1)
            if not byte & 0x80:
                break
    return data[start:pos].hex().upper(), pos


def _read_length(data: bytes, pos: int, tag: str) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("length expected, data ended", pos, tag)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0:
        raise TlvError("indefinite length ('80') is not allowed in EMV", pos, tag)
    if count > 2:
        raise TlvError(f"length field of {count + 1} bytes (at most 3 allowed)", pos, tag)
    if pos + 1 + count > len(data):
        raise TlvError("length bytes are cut short", pos, tag)
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _decode(data: bytes, base: int, depth: int) -> list[Tlv]:
    if depth > 16:
        raise TlvError("templates nested more than 16 deep", base)
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] == 0x00:  # Annex B: '00' padding may appear between data objects
            pos += 1
            continue
        tag, pos_after_tag = read_tag(data, pos)
        length, value_start = _read_length(data, pos_after_tag, tag)
        end = value_start + length
        if end > len(data):
            raise TlvError(
                f"value of {length} bytes runs past the end ({len(data) - value_start} left)",
                base + pos_after_tag,
                tag,
            )
        value = bytes(data[value_start:end])
        if is_constructed(tag):
            children = tuple(_decode(value, base + value_start, depth + 1))
            items.append(Tlv(tag, value, children))
        else:
            items.append(Tlv(tag, value))
        pos = end
    return items


def decode(data: bytes) -> list[Tlv]:
    """Decode a sequence of data objects; constructed ones are decoded recursively."""
    return _decode(bytes(data), 0, 0)


def walk(items: Iterable[Tlv]) -> Iterator[Tlv]:
    """Every data object, depth first, templates before their children."""
    for item in items:
        yield item
        if item.children:
            yield from walk(item.children)


def find(items: Iterable[Tlv], tag: str) -> Tlv | None:
    """The first object with ``tag`` anywhere in the tree, or None."""
    wanted = tag.upper()
    for item in walk(items):
        if item.tag == wanted:
            return item
    return None


def flatten(items: Iterable[Tlv]) -> dict[str, bytes]:
    """Primitive objects of the whole tree as ``{tag: value}`` in order; the first occurrence wins."""
    out: dict[str, bytes] = {}
    for item in walk(items):
        if not item.constructed and item.tag not in out:
            out[item.tag] = item.value
    return out


def decode_flat(data: bytes) -> dict[str, bytes]:
    """Decode and flatten in one step (field 55, GPO format 2, record templates)."""
    return flatten(decode(data))


def encode_flat(values: Mapping[str, bytes]) -> bytes:
    """Encode ``{tag: value}`` primitives in the mapping's order."""
    return b"".join(tlv(tag, value) for tag, value in values.items())
