"""Masked dumps of ISO 8583 messages for logs, traces and the CLI.

The rules come from the dialect files (``sensitive`` per field, ``wipe_tags`` for
field 55), following jPOS's protect/wipe convention: the PAN shows its first 6 and
last 4 digits; tracks, PIN block, MAC and card-identifying ICC tags are replaced by
``[WIPED]``. Without a known dialect the strictest rule of all bundled dialects applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from poskit.cards.pan import mask_pan
from poskit.iso8583.spec import BUNDLED_DIALECTS, DialectSpec, FieldSpec, load_spec

__all__ = ["WIPED", "describe", "mask_tlv", "mask_value", "masked_fields"]

WIPED = "[WIPED]"


def _spec(dialect: DialectSpec | str | None) -> DialectSpec | None:
    if isinstance(dialect, DialectSpec):
        return dialect
    if dialect in BUNDLED_DIALECTS:
        return load_spec(dialect)
    return None


@cache
def _strictest() -> tuple[dict[str, str], frozenset[str]]:
    """Per field the strictest sensitivity over all bundled dialects, and all wipe tags."""
    rank = {"mask": 1, "wipe": 2}
    rules: dict[str, str] = {}
    tags: set[str] = set()
    for name in BUNDLED_DIALECTS:
        for key, field in load_spec(name).fields.items():
            tags.update(field.wipe_tags)
            rule = field.sensitive
            if rule is not None and rank[rule] > rank.get(rules.get(key, ""), 0):
                rules[key] = rule
    return rules, frozenset(tags)


def _rule(spec: DialectSpec | None, number: int) -> tuple[str | None, frozenset[str]]:
    if spec is not None:
        field: FieldSpec | None = spec.field(number)
        if field is None:
            return None, frozenset()
        return field.sensitive, frozenset(field.wipe_tags)
    rules, tags = _strictest()
    return rules.get(str(number)), (tags if number == 55 else frozenset())


def mask_value(value: str, rule: str | None) -> str:
    if rule == "wipe":
        return WIPED
    if rule == "mask":
        return mask_pan(value)
    return value


def mask_tlv(hex_value: str, wipe_tags: frozenset[str]) -> str:
    """Render BER-TLV hex as ``TAG=VALUE`` pairs with ``wipe_tags`` wiped.

    Anything that does not parse as TLV is wiped whole: a malformed field 55 might
    still carry a PAN.
    """
    try:
        data = bytes.fromhex(hex_value)
        items = _walk(data, wipe_tags)
    except ValueError:
        return WIPED
    return " ".join(items)


def _walk(data: bytes, wipe_tags: frozenset[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(data):
        if data[i] in (0x00, 0xFF):  # padding between objects (EMV Book 3 Annex B)
            i += 1
            continue
        start = i
        first = data[i]
        i += 1
        if first & 0x1F == 0x1F:
            while True:
                if i >= len(data):
                    raise ValueError("truncated tag")
                i += 1
                if not data[i - 1] & 0x80:
                    break
        tag = data[start:i].hex().upper()
        if i >= len(data):
            raise ValueError("missing length")
        length = data[i]
        i += 1
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 3 or i + count > len(data):
                raise ValueError("bad length")
            length = int.from_bytes(data[i : i + count], "big")
            i += count
        if i + length > len(data):
            raise ValueError("value overruns the field")
        value = data[i : i + length]
        i += length
        if tag in wipe_tags:
            out.append(f"{tag}={WIPED}")
        elif first & 0x20:  # constructed: show its children
            out.append(f"{tag}=[{' '.join(_walk(value, wipe_tags))}]")
        else:
            out.append(f"{tag}={value.hex().upper()}")
    return out


def masked_fields(mti: str, fields: Mapping[int, str], dialect: DialectSpec | str | None) -> dict[str, str]:
    """Field values safe to log, keyed ``"mti"`` then field numbers as strings."""
    spec = _spec(dialect)
    out = {"mti": mti}
    for number in sorted(fields):
        rule, tags = _rule(spec, number)
        value = fields[number]
        field = spec.field(number) if spec is not None else None
        if tags or (field is not None and field.tlv):
            out[str(number)] = mask_tlv(value, tags)
        else:
            out[str(number)] = mask_value(value, rule)
    return out


def _field_name(field: FieldSpec | None, key: str, lang: str) -> str:
    if field is None:
        return f"Field {key}"
    return field.name_zh if lang.startswith("zh") else field.name_en


def describe(
    mti: str, fields: Mapping[int, str], dialect: DialectSpec | str | None, *, lang: str = "en"
) -> str:
    """``F002 Primary Account Number ......: 622202*********6789`` style dump."""
    spec = _spec(dialect)
    safe = masked_fields(mti, fields, spec if spec is not None else dialect)
    lines = [f"MTI  {'Message Type Indicator':.<40}: {mti}"]
    for key, value in safe.items():
        if key == "mti":
            continue
        name = _field_name(spec.field(key) if spec is not None else None, key, lang)
        lines.append(f"F{int(key):03d} {name[:40]:.<40}: {value}")
    return "\n".join(lines)
