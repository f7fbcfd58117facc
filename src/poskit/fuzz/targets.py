"""Fuzz targets for every byte parser that faces the outside.

Each target takes arbitrary bytes and asserts the parser's contract: hostile input raises
only the parser's documented error type, and whatever it accepts round-trips. Any other
exception escapes the target and is a finding. The same targets run under atheris
(coverage-guided, ``poskit fuzz``) and under the suite's short replay runs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from poskit.crypto.errors import CryptoError
from poskit.crypto.pinblock import decode_iso4_pin_field, decode_pinblock
from poskit.crypto.tr31 import parse_header, unwrap, wrap
from poskit.emv.field55 import Field55Error, parse_icc_data, split_response_icc_data
from poskit.emv.tlv import TlvError, encode_flat
from poskit.emv.tlv import decode as decode_tlv
from poskit.emv.tlv import encode as encode_tlv
from poskit.iso8583 import codec
from poskit.iso8583.errors import FramingError, MessageEncodeError, MessageFormatError
from poskit.iso8583.framing import CupsHeader, Tpdu, encode_frame, unpack_frame

__all__ = ["KBPK_AES", "KBPK_TDES", "PAN", "TARGETS", "FuzzTarget", "RoundTripError"]

FuzzTarget = Callable[[bytes], None]

# A fixed key-block protection key and PAN: the fuzzer attacks the parsing, not the key.
KBPK_AES = bytes(range(32))
KBPK_TDES = bytes(range(16))
PAN = "4761739001010119"


class RoundTripError(AssertionError):
    """An input the parser accepted did not come back unchanged through its encoder."""


def _iso(dialect: str) -> FuzzTarget:
    def target(data: bytes) -> None:
        try:
            message = codec.decode(dialect, data)
        except MessageFormatError:
            return
        try:
            again = codec.decode(dialect, codec.encode(dialect, message))
        except MessageEncodeError as exc:
            raise RoundTripError(f"{dialect}: decoded message does not re-encode: {exc}") from exc
        if again.mti != message.mti or dict(again.fields) != dict(message.fields):
            raise RoundTripError(f"{dialect}: decode(encode(message)) differs")

    return target


def fuzz_framing(data: bytes) -> None:
    """Length-prefixed frames, the TPDU and the cups header."""
    try:
        payload = unpack_frame(data)
    except FramingError:
        pass
    else:
        if encode_frame(payload) != data:
            raise RoundTripError("frame does not re-encode to the same bytes")
    try:
        tpdu = Tpdu.from_bytes(data[:5])
    except FramingError:
        pass
    else:
        if tpdu.to_bytes() != data[:5]:
            raise RoundTripError("TPDU does not re-encode")
    try:
        header = CupsHeader.from_bytes(data[:6])
    except FramingError:
        pass
    else:
        if CupsHeader.from_bytes(header.to_bytes()) != header:
            raise RoundTripError("cups header does not re-encode")


def fuzz_tlv(data: bytes) -> None:
    """BER-TLV as cards and field 55 carry it."""
    try:
        items = decode_tlv(data)
    except TlvError:
        return
    if decode_tlv(encode_tlv(items)) != items:
        raise RoundTripError("TLV decode(encode(items)) differs")


def fuzz_field55(data: bytes) -> None:
    """Field 55 (ICC data) of a request and the issuer data of a response."""
    try:
        values = parse_icc_data(data)
    except Field55Error:
        pass
    else:
        if parse_icc_data(encode_flat(values)) != values:
            raise RoundTripError("field 55 does not round-trip")
    with suppress(Field55Error):
        split_response_icc_data(data)


def fuzz_tr31(data: bytes) -> None:
    """TR-31 key blocks: header parsing and authenticated unwrapping."""
    block = data.decode("latin-1")
    with suppress(CryptoError):
        parse_header(block)
    for kbpk in (KBPK_AES, KBPK_TDES):
        try:
            header, key = unwrap(kbpk, block)
        except CryptoError:
            continue
        if unwrap(kbpk, wrap(kbpk, header, key)) != (header, key):
            raise RoundTripError("unwrapped key block does not re-wrap to the same header and key")


def fuzz_pinblock(data: bytes) -> None:
    """PIN blocks of ISO formats 0, 1, 3 and 4 after deciphering."""
    for fmt in (0, 1, 3):
        try:
            pin = decode_pinblock(data, PAN if fmt != 1 else None, fmt=fmt)
        except CryptoError:
            continue
        if not (pin.isdigit() and 4 <= len(pin) <= 12):
            raise RoundTripError(f"format {fmt} accepted a PIN that is not 4-12 digits")
    try:
        pin = decode_iso4_pin_field(data)
    except CryptoError:
        return
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise RoundTripError("format 4 accepted a PIN that is not 4-12 digits")


TARGETS: dict[str, FuzzTarget] = {
    "iso-cups": _iso("cups"),
    "iso-ascii87": _iso("ascii87"),
    "framing": fuzz_framing,
    "tlv": fuzz_tlv,
    "field55": fuzz_field55,
    "tr31": fuzz_tr31,
    "pinblock": fuzz_pinblock,
}
