"""Event loop selection: uvloop when installed (``auto``), the stdlib loop as the fallback."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from poskit.eventloop import EventLoopUnavailableError, resolve_loop, run


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_auto_prefers_uvloop_when_installed() -> None:
    """``auto`` runs the coroutine on a uvloop loop when uvloop can be imported."""
    assert resolve_loop("auto")[0] == "uvloop"
    assert isinstance(run(_running_loop(), loop="auto"), uvloop.Loop)


def test_asyncio_forces_the_stdlib_loop() -> None:
    """``asyncio`` runs on the stdlib loop even with uvloop installed."""
    loop = run(_running_loop(), loop="asyncio")
    assert not isinstance(loop, uvloop.Loop)
    assert isinstance(loop, asyncio.BaseEventLoop)


def test_auto_falls_back_to_the_stdlib_loop_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without uvloop, ``auto`` is the stdlib loop and ``uvloop`` is a typed error naming the cause."""
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` raise ImportError
    assert resolve_loop("auto")[0] == "asyncio"
    assert not isinstance(run(_running_loop(), loop="auto"), uvloop.Loop)
    with pytest.raises(EventLoopUnavailableError, match="not installed"):
        run(_running_loop(), loop="uvloop")


def test_unknown_loop_name_is_refused() -> None:
    """A name other than auto, uvloop or asyncio is refused before anything runs."""
    with pytest.raises(EventLoopUnavailableError, match="choose one of auto, uvloop, asyncio"):
        resolve_loop("trio")
