"""TCP link to the acquirer host: one short connection per exchange, as POS terminals dial.

The distinction that matters for money: if the connection could not be made,
nothing was sent (:class:`ConnectFailed`, no reversal needed); once bytes went out,
any failure is :class:`NoResponse` and the request must be reversed.
"""

from __future__ import annotations

import asyncio
import contextlib

from poskit.iso8583.errors import FramingError
from poskit.iso8583.framing import read_frame
from poskit.terminal.devices.ports import ConnectFailed, NoResponse

__all__ = ["TcpHostLink", "parse_address"]

_MAX_FRAME = 8192


def parse_address(address: str, default_port: int = 8583) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``) into a pair; raises ValueError naming the problem."""
    host, sep, port = address.rpartition(":")
    if not sep:
        return address, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid host address {address!r}: port must be 1-65535")
    return host or "127.0.0.1", int(port)


class TcpHostLink:
    """Length-prefixed (2-byte big-endian) request/response over TCP.

    ``exchange`` takes a complete frame (length prefix included, as the dialect's
    ``frame`` builds it) and returns the response frame's payload.
    """

    def __init__(self, address: str, *, connect_timeout: float = 5.0) -> None:
        self._host, self._port = parse_address(address)
        self._connect_timeout = connect_timeout

    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(self._connect_timeout):
                return await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"cannot connect to {self.address}: {exc.__class__.__name__}") from None

    async def probe(self, *, timeout: float = 3.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                _reader, writer = await self._connect()
        except (ConnectFailed, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def exchange(self, frame: bytes, *, timeout: float) -> bytes:
        reader, writer = await self._connect()
        try:
            try:
                writer.write(frame)
                await writer.drain()
            except OSError as exc:
                raise NoResponse(f"connection lost while sending: {exc.__class__.__name__}") from None
            try:
                async with asyncio.timeout(timeout):
                    return await read_frame(reader, max_length=_MAX_FRAME)
            except TimeoutError:
                raise NoResponse(f"no response from {self.address} within {timeout:g} s") from None
            except FramingError as exc:
                raise NoResponse(f"unusable response frame: {exc.reason}") from None
            except OSError as exc:
                raise NoResponse(f"connection closed by the host: {exc.__class__.__name__}") from None
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
