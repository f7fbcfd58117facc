"""The ceiling of ``poskit bench host``: a bare asyncio server with the host's framing.

It reads each 2-byte length-prefixed frame and writes it back unchanged, so the
load generator drives it with exactly the code and connections it uses on the host.
Run as ``python -m poskit.benchmarks._echo PORT [LOOP]`` (LOOP as ``poskit host --loop``:
the ceiling is measured on the same kind of event loop as the host).
"""

from __future__ import annotations

import asyncio
import sys

from poskit.eventloop import run
from poskit.iso8583.framing import read_frame

__all__ = ["serve"]


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            payload = await read_frame(reader, max_length=4096)
            writer.write(len(payload).to_bytes(2, "big") + payload)
    except Exception as exc:  # the client closed (or sent garbage): end this connection
        del exc
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    run(serve(int(sys.argv[1])), loop=sys.argv[2] if len(sys.argv) > 2 else "auto")
