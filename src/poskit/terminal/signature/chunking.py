"""Splitting a JBIG signature over 0820 messages and putting it back together.

The e-signature upload is an 0820 with F60.3 = ``800`` carrying the JBIG data in F62
(LLLVAR, at most 999 bytes). A signature that does not fit is continued in further 0820
messages with F60.3 = ``801``; the host concatenates the F62 of the 800 message and the 801
messages that follow it, in order (china-pos-domain.md §1.12). A terminal retrying an upload
starts again with a new ``800``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from poskit.terminal.signature.jbig85 import SIGNATURE_MAX_PIXELS, JbigError, decode_t85

__all__ = [
    "CONTINUATION_PACKET",
    "FIRST_PACKET",
    "MAX_F62_LENGTH",
    "UploadAssembler",
    "UploadChunkError",
    "UploadPacket",
    "reassemble_upload",
    "split_for_upload",
    "upload_packets",
]

#: F60.3 network management codes of the e-signature upload.
FIRST_PACKET = "800"
CONTINUATION_PACKET = "801"
#: F62 is LLLVAR: three length digits.
MAX_F62_LENGTH = 999


class UploadChunkError(ValueError):
    """A chunking argument or a packet sequence that cannot form one upload."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        where = f" (packet {index})" if index is not None else ""
        super().__init__(f"invalid signature upload{where}: {reason}")
        self.reason = reason
        self.index = index


@dataclasses.dataclass(frozen=True, slots=True)
class UploadPacket:
    """One 0820 message's share of the upload: its F60.3 code and its F62 bytes."""

    network_code: str
    index: int
    payload: bytes

    def __repr__(self) -> str:
        # The payload is an image of the cardholder's signature: show only its size.
        return (
            f"UploadPacket(network_code={self.network_code!r}, index={self.index}, "
            f"payload=<{len(self.payload)} bytes>)"
        )


def split_for_upload(data: bytes, chunk: int) -> list[bytes]:
    """Cut ``data`` into consecutive pieces of ``chunk`` bytes (the last may be shorter)."""
    if not 1 <= chunk <= MAX_F62_LENGTH:
        raise UploadChunkError(f"chunk size {chunk} is outside 1..{MAX_F62_LENGTH} (F62 is LLLVAR)")
    if not data:
        raise UploadChunkError("nothing to upload: the signature data is empty")
    return [bytes(data[at : at + chunk]) for at in range(0, len(data), chunk)]


def upload_packets(data: bytes, chunk: int) -> list[UploadPacket]:
    """The packets of one upload: the first with F60.3 = 800, the others 801."""
    return [
        UploadPacket(FIRST_PACKET if index == 0 else CONTINUATION_PACKET, index, piece)
        for index, piece in enumerate(split_for_upload(data, chunk))
    ]


def reassemble_upload(packets: Iterable[tuple[str, bytes]]) -> bytes:
    """Join ``(F60.3, F62)`` pairs that must be exactly one 800 followed by 801s."""
    assembler = UploadAssembler()
    count = 0
    for index, (code, payload) in enumerate(packets):
        if index > 0 and code == FIRST_PACKET:
            raise UploadChunkError("a second 800 packet inside one upload", index)
        assembler.add(code, payload, index=index)
        count += 1
    if count == 0:
        raise UploadChunkError("no packets")
    return assembler.data


class UploadAssembler:
    """Host-side collector for one terminal's upload, fed packet by packet as they arrive."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._started = False

    def add(self, network_code: str, payload: bytes, *, index: int | None = None) -> None:
        """Take one packet: ``800`` (re)starts the upload, ``801`` continues it."""
        if network_code == FIRST_PACKET:
            # A retry re-sends the whole signature from its first packet.
            self._parts = []
            self._started = True
        elif network_code == CONTINUATION_PACKET:
            if not self._started:
                raise UploadChunkError("801 continuation before the 800 packet", index)
        else:
            expected = f"{FIRST_PACKET} or {CONTINUATION_PACKET}"
            raise UploadChunkError(f"F60.3 {network_code!r} is not {expected}", index)
        if not payload:
            raise UploadChunkError("empty F62 payload", index)
        if len(payload) > MAX_F62_LENGTH:
            raise UploadChunkError(f"F62 of {len(payload)} bytes exceeds {MAX_F62_LENGTH}", index)
        self._parts.append(bytes(payload))

    @property
    def data(self) -> bytes:
        """Everything received since the last 800, concatenated."""
        return b"".join(self._parts)

    @property
    def packet_count(self) -> int:
        return len(self._parts)

    def is_complete(self) -> bool:
        """True once the data decodes as a whole JBIG image (a BIE carries its own end)."""
        if not self._parts:
            return False
        try:
            decode_t85(self.data, max_pixels=SIGNATURE_MAX_PIXELS)
        except JbigError:
            return False
        return True
