"""The host's asyncio TCP server (default 127.0.0.1:8583).

Each connection reads length-prefixed frames; each frame is processed in its own
task so a slow authorisation never blocks the next message on the connection, and
responses are written under a per-connection lock. A frame that cannot be framed
(oversize, truncated) closes that connection only; every other terminal keeps
being served. Zero-length frames are keep-alive polls and are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from poskit.host.app import HostApp
from poskit.iso8583.errors import ConnectionClosedError, EmptyFrameError, FramingError
from poskit.iso8583.framing import read_frame
from poskit.logs import get_logger

__all__ = ["HostServer"]

_log = get_logger("poskit.host.server")


class HostServer:
    """TCP front end of :class:`HostApp`."""

    def __init__(
        self,
        app: HostApp,
        *,
        bind: str = "127.0.0.1",
        port: int = 8583,
        max_frame: int = 4096,
        idle_timeout: float = 300.0,
        max_connections: int = 2000,
    ) -> None:
        self.app = app
        self.bind = bind
        self.port = port
        self.max_frame = max_frame
        self.idle_timeout = idle_timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.connections = 0
        self.frames = 0

    @property
    def address(self) -> str:
        return f"{self.bind}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, self.bind, self.port, reuse_address=True)
        sockets = self._server.sockets or ()
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        _log.info("host.listening", address=self.address)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=10)
        _log.info("host.stopped", frames=self.frames)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_info = writer.get_extra_info("peername")
        peer = f"{peer_info[0]}:{peer_info[1]}" if peer_info else "?"
        if self._slots.locked():
            _log.warning("host.too_many_connections", peer=peer)
            writer.close()
            return
        async with self._slots:
            self.connections += 1
            lock = asyncio.Lock()
            inflight: set[asyncio.Task[Any]] = set()
            try:
                while True:
                    try:
                        async with asyncio.timeout(self.idle_timeout):
                            payload = await read_frame(reader, max_length=self.max_frame)
                    except EmptyFrameError:
                        continue
                    except ConnectionClosedError:
                        break
                    except FramingError as exc:
                        _log.warning("host.bad_frame", peer=peer, error=str(exc))
                        break
                    except (TimeoutError, ConnectionError, OSError):
                        break
                    self.frames += 1
                    task = asyncio.create_task(self._process(payload, peer, writer, lock))
                    inflight.add(task)
                    self._tasks.add(task)
                    task.add_done_callback(inflight.discard)
                    task.add_done_callback(self._tasks.discard)
            finally:
                if inflight:
                    await asyncio.wait(inflight, timeout=30)
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _process(
        self, payload: bytes, peer: str, writer: asyncio.StreamWriter, lock: asyncio.Lock
    ) -> None:
        try:
            response = await self.app.handle(payload, peer)
        except Exception as exc:  # the last line of defence: log, close this connection, keep serving
            _log.error("host.unhandled_error", peer=peer, error=type(exc).__name__, detail=str(exc)[:200])
            response = None
        async with lock:
            if response is None:
                writer.close()
                return
            try:
                writer.write(response)
                await writer.drain()
            except (ConnectionError, OSError):
                _log.info("host.peer_gone", peer=peer)
