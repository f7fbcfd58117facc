"""ISO 8583 field 55 (ICC system related data): which EMV tags each message carries.

Tag lists follow the CUPS POS specification as implemented by public terminals (see
``china-pos-domain.md`` §1.7): the authorisation request, the reversal and the script
advice (0620) each carry their own subset, in this order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from poskit.emv.tlv import TlvError, decode, decode_flat, encode, tlv

__all__ = [
    "CONTACTLESS_EXTRA_TAGS",
    "OFFLINE_EXTRA_TAGS",
    "REQUEST_TAGS",
    "RESPONSE_TAGS",
    "REVERSAL_TAGS",
    "SCRIPT_ADVICE_TAGS",
    "Field55Error",
    "build_icc_data",
    "parse_icc_data",
    "split_response_icc_data",
]

#: Sale / balance / pre-authorisation request (M: 9F26 .. 9F33, O: 9F34 .. 9F41).
REQUEST_TAGS: tuple[str, ...] = (
    "9F26",
    "9F27",
    "9F10",
    "9F37",
    "9F36",
    "95",
    "9A",
    "9C",
    "9F02",
    "5F2A",
    "82",
    "9F1A",
    "9F03",
    "9F33",
    "9F34",
    "9F35",
    "9F1E",
    "84",
    "9F09",
    "9F41",
)
#: poskit adds the contactless qualifiers so the host can check the CVM decision.
CONTACTLESS_EXTRA_TAGS: tuple[str, ...] = ("9F66", "9F6C")
#: Offline approvals and the final state after the second GENERATE AC.
OFFLINE_EXTRA_TAGS: tuple[str, ...] = ("8A", "DF31")
REVERSAL_TAGS: tuple[str, ...] = ("95", "9F1E", "9F10", "9F36", "DF31")
SCRIPT_ADVICE_TAGS: tuple[str, ...] = (
    "9F33",
    "95",
    "9F37",
    "9F1E",
    "9F10",
    "9F26",
    "9F36",
    "82",
    "DF31",
    "9F1A",
    "9A",
)
#: What the host may return in the response's field 55.
RESPONSE_TAGS: tuple[str, ...] = ("91", "71", "72", "8A")


class Field55Error(ValueError):
    """Field 55 that is not valid BER-TLV or lacks a required tag."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"field 55{where}: {reason}")
        self.reason = reason
        self.offset = offset


def build_icc_data(values: Mapping[str, bytes], tags: Iterable[str]) -> bytes:
    """TLV of the tags present in ``values``, in the order of ``tags``."""
    return b"".join(tlv(tag, values[tag]) for tag in tags if tag in values)


def parse_icc_data(data: bytes, *, required: Iterable[str] = ()) -> dict[str, bytes]:
    """Decode field 55 into ``{tag: value}`` (order kept); raise if a required tag is missing."""
    try:
        values = decode_flat(data)
    except TlvError as exc:
        raise Field55Error(exc.reason, exc.offset) from None
    missing = [tag for tag in required if tag not in values]
    if missing:
        raise Field55Error(f"missing tag(s) {', '.join(missing)}")
    return values


def split_response_icc_data(data: bytes) -> tuple[bytes | None, bytes]:
    """From a response's field 55: the tag 91 value (or None) and the 71/72 script templates,
    ready for :meth:`poskit.emv.kernel.EmvKernel.complete`."""
    try:
        items = decode(data)
    except TlvError as exc:
        raise Field55Error(exc.reason, exc.offset) from None
    issuer_data = next((item.value for item in items if item.tag == "91"), None)
    scripts = encode([item for item in items if item.tag in ("71", "72")])
    return issuer_data, scripts
