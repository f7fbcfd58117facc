"""Framing: 2-byte length prefix, cups TPDU and header, asyncio frame reader."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.iso8583 import get_dialect
from poskit.iso8583.errors import (
    ConnectionClosedError,
    EmptyFrameError,
    FrameTooLargeError,
    FramingError,
    TruncatedFrameError,
)
from poskit.iso8583.framing import (
    CupsHeader,
    Envelope,
    ProcessingRequirement,
    Tpdu,
    encode_frame,
    read_frame,
    unpack_frame,
)


def reader_with(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_encode_frame_prefixes_big_endian_length() -> None:
    """A 300-byte payload gets the prefix 01 2C."""
    assert encode_frame(b"x" * 300)[:2] == b"\x01\x2c"


def test_encode_frame_refuses_empty_and_oversize() -> None:
    """Empty payloads and payloads above the maximum are framing errors."""
    with pytest.raises(EmptyFrameError):
        encode_frame(b"")
    with pytest.raises(FrameTooLargeError) as info:
        encode_frame(b"x" * 5000)
    assert info.value.length == 5000 and info.value.max_length == 4096


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x00", TruncatedFrameError),
        (b"\x00\x00", EmptyFrameError),
        (b"\x00\x05abc", TruncatedFrameError),
        (b"\x10\x01" + b"x" * 4097, FrameTooLargeError),
    ],
)
def test_unpack_frame_errors(data: bytes, error: type[FramingError]) -> None:
    """Short, empty and oversize frames raise their own FramingError subclass."""
    with pytest.raises(error):
        unpack_frame(data)


def test_unpack_frame_refuses_trailing_bytes() -> None:
    """Bytes after the announced length are reported with their position."""
    with pytest.raises(FramingError) as info:
        unpack_frame(b"\x00\x02abX")
    assert info.value.position == 4


async def test_read_frame_reads_one_frame_at_a_time() -> None:
    """Two frames in the stream come out one by one, then a clean close."""
    reader = reader_with(encode_frame(b"first") + encode_frame(b"second!"))
    assert await read_frame(reader) == b"first"
    assert await read_frame(reader) == b"second!"
    with pytest.raises(ConnectionClosedError):
        await read_frame(reader)


@pytest.mark.parametrize(
    ("data", "error", "position"),
    [
        (b"\x00", TruncatedFrameError, 1),
        (b"\x00\x0aabc", TruncatedFrameError, 5),
        (b"\x00\x00", EmptyFrameError, 0),
        (b"\xff\xff", FrameTooLargeError, 0),
    ],
)
async def test_read_frame_errors(data: bytes, error: type[FramingError], position: int) -> None:
    """read_frame raises typed errors for truncated, zero and oversize frames."""
    with pytest.raises(error) as info:
        await read_frame(reader_with(data))
    assert info.value.position == position


async def test_read_frame_honours_a_smaller_maximum() -> None:
    """max_length is configurable per connection."""
    with pytest.raises(FrameTooLargeError):
        await read_frame(reader_with(encode_frame(b"x" * 200)), max_length=100)


def test_tpdu_bytes_and_reply() -> None:
    """TPDU 60 0003 0000 serialises as such and the reply swaps the NIIs."""
    tpdu = Tpdu(destination=0x0003, source=0x0000)
    assert tpdu.to_bytes() == bytes.fromhex("6000030000")
    assert Tpdu.from_bytes(bytes.fromhex("6000030000")) == tpdu
    assert tpdu.reply().to_bytes() == bytes.fromhex("6000000003")


def test_header_example_from_the_reference() -> None:
    """Header 60 32 10 32 00 72: magstripe, version 0x32, test terminal, sub-version 320072."""
    header = CupsHeader.from_bytes(bytes.fromhex("603210320072"))
    assert header == CupsHeader(
        application=0x60,
        software_version=0x32,
        terminal_status=1,
        processing_requirement=0,
        sub_version="320072",
    )
    assert header.to_bytes().hex() == "603210320072"
    reply = header.reply(ProcessingRequirement.SIGN_ON)
    assert reply.to_bytes().hex() == "603213320072"


def test_header_with_non_bcd_sub_version_is_a_framing_error() -> None:
    """A sub-version that is not BCD is reported at its byte."""
    with pytest.raises(FramingError) as info:
        CupsHeader.from_bytes(bytes.fromhex("6032103200AB"), position=5)
    assert info.value.position == 8


def test_header_rejects_out_of_range_values() -> None:
    """A processing requirement above 15 does not fit the nibble."""
    with pytest.raises(ValueError, match="processing requirement"):
        CupsHeader(processing_requirement=16)


def test_cups_frame_and_unframe() -> None:
    """cups frames are [len][TPDU][header][message]; unframe splits them back."""
    dialect = get_dialect("cups")
    wire = dialect.frame(b"\x08\x00", tpdu=Tpdu(3, 0), header=CupsHeader(sub_version="000001"))
    assert wire.hex() == "000d" + "6000030000" + "603100000001" + "0800"
    envelope = dialect.unframe(unpack_frame(wire))
    assert envelope == Envelope(b"\x08\x00", Tpdu(3, 0), CupsHeader(sub_version="000001"))


def test_cups_frame_reply_swaps_tpdu_and_sets_processing_requirement() -> None:
    """The host's reply frame answers the request's TPDU and header."""
    dialect = get_dialect("cups")
    request_env = Envelope(b"", Tpdu(0x0003, 0x0012), CupsHeader(0x61, 0x32, 1, 0, "320072"))
    wire = dialect.frame_reply(b"\x08\x10", request_env, processing_requirement=4)
    envelope = dialect.unframe(unpack_frame(wire))
    assert envelope.tpdu == Tpdu(0x0012, 0x0003)
    assert envelope.header == CupsHeader(0x61, 0x32, 1, 4, "320072")


def test_cups_unframe_short_payload() -> None:
    """A payload shorter than TPDU + header is a truncated frame."""
    with pytest.raises(TruncatedFrameError):
        get_dialect("cups").unframe(b"\x60\x00\x03")


def test_ascii87_frames_have_no_tpdu() -> None:
    """ascii87 frames are the length and the message; a TPDU is refused."""
    dialect = get_dialect("ascii87")
    assert dialect.frame(b"0800") == b"\x00\x040800"
    assert dialect.unframe(b"0800") == Envelope(b"0800")
    with pytest.raises(ValueError, match="TPDU"):
        dialect.frame(b"0800", tpdu=Tpdu())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_unframe_random_payloads_only_raise_framing_errors(payload: bytes) -> None:
    """Arbitrary payloads either split or raise a FramingError."""
    try:
        envelope = get_dialect("cups").unframe(payload)
    except FramingError as exc:
        assert len(payload) < 11 or exc.position == 8
    else:
        assert envelope.message == payload[11:]
