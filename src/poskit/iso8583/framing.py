"""TCP framing: the 2-byte length prefix, and the cups TPDU and 6-byte header.

Both dialects frame a message as ``[length: 2 bytes big-endian][payload]``; the length
counts the payload only. In the cups dialect the payload is::

    [TPDU 5][header 6][ISO message]
    TPDU   = 0x60 | destination NII (2) | source NII (2); a response swaps the NIIs
    header = application category (0x60 magstripe, 0x61 IC, 0x62/0x63 value-added)
             | software version | terminal status << 4 | processing requirement
             | software sub-version (3 bytes BCD)

The processing requirement in a response header tells the terminal what to do next
(3 = sign on again, 4 = download CA keys, 5 = download IC parameters, ...).
"""

from __future__ import annotations

import asyncio
import dataclasses

from poskit.iso8583.errors import (
    ConnectionClosedError,
    EmptyFrameError,
    FrameTooLargeError,
    FramingError,
    TruncatedFrameError,
)

__all__ = [
    "DEFAULT_MAX_FRAME",
    "LENGTH_PREFIX",
    "CupsHeader",
    "Envelope",
    "ProcessingRequirement",
    "Tpdu",
    "encode_frame",
    "read_frame",
    "unpack_frame",
]

#: Largest payload accepted by default. A cups message tops out near 1.5 KiB
#: (field 62 signature chunks of 999 bytes included).
DEFAULT_MAX_FRAME = 4096
LENGTH_PREFIX = 2


class ProcessingRequirement:
    """Values of the cups header's low nibble (处理要求) as the host sends them."""

    NONE = 0
    DOWNLOAD_PARAMETERS = 1
    UPLOAD_STATUS = 2
    SIGN_ON = 3
    DOWNLOAD_CA_KEYS = 4
    DOWNLOAD_IC_PARAMETERS = 5
    TMS_DOWNLOAD = 6
    DOWNLOAD_BIN_BLACKLIST = 7
    DOWNLOAD_RATES = 8
    DOWNLOAD_QPS_PARAMETERS = 9


def _byte(name: str, value: int, limit: int = 0xFF) -> None:
    if not isinstance(value, int) or not 0 <= value <= limit:
        raise ValueError(f"{name} must be an integer 0..{limit}")


@dataclasses.dataclass(frozen=True, slots=True)
class Tpdu:
    """The 5-byte cups TPDU: id (0x60), destination NII, source NII."""

    destination: int = 0x0003
    source: int = 0x0000
    id: int = 0x60

    SIZE = 5

    def __post_init__(self) -> None:
        _byte("TPDU id", self.id)
        _byte("destination NII", self.destination, 0xFFFF)
        _byte("source NII", self.source, 0xFFFF)

    def to_bytes(self) -> bytes:
        return bytes([self.id]) + self.destination.to_bytes(2, "big") + self.source.to_bytes(2, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Tpdu:
        if len(data) != cls.SIZE:
            raise FramingError(f"TPDU is {len(data)} bytes, expecting 5", position=0)
        return cls(
            destination=int.from_bytes(data[1:3], "big"), source=int.from_bytes(data[3:5], "big"), id=data[0]
        )

    def reply(self) -> Tpdu:
        """The TPDU of the response: destination and source swapped."""
        return Tpdu(destination=self.source, source=self.destination, id=self.id)


@dataclasses.dataclass(frozen=True, slots=True)
class CupsHeader:
    """The 6-byte cups message header (报文头)."""

    application: int = 0x60
    software_version: int = 0x31
    terminal_status: int = 0
    processing_requirement: int = 0
    sub_version: str = "000000"

    SIZE = 6

    def __post_init__(self) -> None:
        _byte("application category", self.application)
        _byte("software version", self.software_version)
        _byte("terminal status", self.terminal_status, 0x0F)
        _byte("processing requirement", self.processing_requirement, 0x0F)
        if len(self.sub_version) != 6 or not self.sub_version.isdigit():
            raise ValueError("software sub-version must be 6 digits (3 bytes BCD)")

    def to_bytes(self) -> bytes:
        status = self.terminal_status << 4 | self.processing_requirement
        return bytes([self.application, self.software_version, status]) + bytes.fromhex(self.sub_version)

    @classmethod
    def from_bytes(cls, data: bytes, *, position: int = 0) -> CupsHeader:
        if len(data) != cls.SIZE:
            raise FramingError(f"header is {len(data)} bytes, expecting 6", position=position)
        sub = data[3:6].hex()
        if not sub.isdigit():
            raise FramingError("header software sub-version is not BCD", position=position + 3)
        return cls(
            application=data[0],
            software_version=data[1],
            terminal_status=data[2] >> 4,
            processing_requirement=data[2] & 0x0F,
            sub_version=sub,
        )

    def reply(self, processing_requirement: int = 0) -> CupsHeader:
        """The header for a response, carrying the host's processing requirement."""
        return dataclasses.replace(self, processing_requirement=processing_requirement)


@dataclasses.dataclass(frozen=True, slots=True)
class Envelope:
    """A received payload split into the ISO message and its cups TPDU/header."""

    message: bytes
    tpdu: Tpdu | None = None
    header: CupsHeader | None = None

    def __repr__(self) -> str:
        return f"Envelope(message=<{len(self.message)} bytes>, tpdu={self.tpdu}, header={self.header})"


def encode_frame(payload: bytes, *, max_length: int = DEFAULT_MAX_FRAME) -> bytes:
    """Prefix ``payload`` with its 2-byte big-endian length."""
    if not payload:
        raise EmptyFrameError()
    if len(payload) > min(max_length, 0xFFFF):
        raise FrameTooLargeError(len(payload), min(max_length, 0xFFFF))
    return len(payload).to_bytes(LENGTH_PREFIX, "big") + payload


def unpack_frame(data: bytes, *, max_length: int = DEFAULT_MAX_FRAME) -> bytes:
    """The payload of exactly one complete frame held in ``data``."""
    if len(data) < LENGTH_PREFIX:
        raise TruncatedFrameError("length prefix incomplete", position=len(data))
    length = int.from_bytes(data[:LENGTH_PREFIX], "big")
    if length == 0:
        raise EmptyFrameError()
    if length > max_length:
        raise FrameTooLargeError(length, max_length)
    body = data[LENGTH_PREFIX:]
    if len(body) < length:
        raise TruncatedFrameError(
            f"frame announces {length} bytes, only {len(body)} present", position=len(data), length=length
        )
    if len(body) > length:
        raise FramingError(
            f"{len(body) - length} bytes after the end of the frame",
            position=LENGTH_PREFIX + length,
            length=length,
        )
    return body


async def read_frame(reader: asyncio.StreamReader, *, max_length: int = DEFAULT_MAX_FRAME) -> bytes:
    """Read one frame and return its payload (without the length prefix).

    Raises :class:`ConnectionClosedError` on a clean close between frames,
    :class:`TruncatedFrameError` when the stream ends inside a frame,
    :class:`EmptyFrameError` for a zero length and :class:`FrameTooLargeError` when
    the length exceeds ``max_length`` (the stream is then out of step: close it).
    """
    try:
        prefix = await reader.readexactly(LENGTH_PREFIX)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise ConnectionClosedError() from None
        raise TruncatedFrameError(
            "stream ended inside the length prefix", position=len(exc.partial)
        ) from None
    length = int.from_bytes(prefix, "big")
    if length == 0:
        raise EmptyFrameError()
    if length > max_length:
        raise FrameTooLargeError(length, max_length)
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise TruncatedFrameError(
            f"stream ended after {len(exc.partial)} of {length} bytes",
            position=LENGTH_PREFIX + len(exc.partial),
            length=length,
        ) from None
