"""Splitting the JBIG signature over 0820 800/801 packets and reassembling it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.terminal.signature.chunking import (
    CONTINUATION_PACKET,
    FIRST_PACKET,
    UploadAssembler,
    UploadChunkError,
    UploadPacket,
    reassemble_upload,
    split_for_upload,
    upload_packets,
)
from poskit.terminal.signature.jbig85 import encode_t85


def _signature_bie() -> bytes:
    rows = [bytes((0x81 ^ (y * 37 & 0xFF),)) * 40 for y in range(120)]
    return encode_t85(rows, 320, 120, tpbon=False)


def test_split_cuts_in_order_with_a_short_tail() -> None:
    """2500 bytes in 999-byte chunks are 999, 999 and 502 bytes, in order."""
    data = bytes(range(256)) * 9 + bytes(196)
    pieces = split_for_upload(data, 999)
    assert [len(piece) for piece in pieces] == [999, 999, 502]
    assert b"".join(pieces) == data


@settings(max_examples=100)
@given(st.binary(min_size=1, max_size=3000), st.integers(1, 999))
def test_split_then_reassemble_is_identity(data: bytes, chunk: int) -> None:
    """Any data split into any legal chunk size reassembles to itself via 800/801 packets."""
    packets = upload_packets(data, chunk)
    assert all(len(packet.payload) <= chunk for packet in packets)
    assert [packet.index for packet in packets] == list(range(len(packets)))
    assert reassemble_upload((packet.network_code, packet.payload) for packet in packets) == data


def test_first_packet_is_800_and_the_rest_801() -> None:
    """The first 0820 carries F60.3 = 800, every continuation 801."""
    codes = [packet.network_code for packet in upload_packets(b"x" * 1801, 900)]
    assert codes == [FIRST_PACKET, CONTINUATION_PACKET, CONTINUATION_PACKET] == ["800", "801", "801"]


def test_split_rejects_bad_arguments() -> None:
    """Chunk sizes outside F62's LLLVAR range and empty data are refused."""
    with pytest.raises(UploadChunkError, match="chunk size 0"):
        split_for_upload(b"abc", 0)
    with pytest.raises(UploadChunkError, match="chunk size 1000"):
        split_for_upload(b"abc", 1000)
    with pytest.raises(UploadChunkError, match="empty"):
        split_for_upload(b"", 10)


@pytest.mark.parametrize(
    ("packets", "reason", "index"),
    [
        ([("801", b"a")], "801 continuation before the 800", 0),
        ([("800", b"a"), ("800", b"b")], "second 800", 1),
        ([("800", b"a"), ("802", b"b")], "'802' is not 800 or 801", 1),
        ([("800", b"")], "empty F62", 0),
        ([("800", b"a" * 1000)], "exceeds 999", 0),
        ([], "no packets", None),
    ],
)
def test_reassembly_rejects_bad_sequences(
    packets: list[tuple[str, bytes]], reason: str, index: int | None
) -> None:
    """Out-of-order, unknown-code, empty or oversized packets raise UploadChunkError."""
    with pytest.raises(UploadChunkError, match=reason) as caught:
        reassemble_upload(packets)
    assert caught.value.index == index


def test_assembler_detects_completion_and_restarts_on_retry() -> None:
    """The host sees the image complete only after the last packet; a new 800 starts over."""
    bie = _signature_bie()
    packets = upload_packets(bie, 150)
    assert len(packets) >= 3
    assembler = UploadAssembler()
    assert not assembler.is_complete()
    for packet in packets[:-1]:
        assembler.add(packet.network_code, packet.payload)
        assert not assembler.is_complete()
    # The terminal times out and retries from the first packet.
    for packet in packets:
        assembler.add(packet.network_code, packet.payload)
    assert assembler.is_complete()
    assert assembler.packet_count == len(packets)
    assert assembler.data == bie


def test_packet_repr_hides_the_signature() -> None:
    """An UploadPacket's repr shows the code and size, not the signature bytes."""
    text = repr(UploadPacket("800", 0, b"\x01secret-signature"))
    assert "secret" not in text and "17 bytes" in text and "'800'" in text
