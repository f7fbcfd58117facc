"""Which asyncio event loop the servers run on: uvloop when it is installed, the stdlib loop otherwise.

uvloop roughly doubles the framing ceiling of the host's TCP server on this machine
(docs/benchmarks.md, "uvloop"), so ``auto`` prefers it. ``asyncio`` forces the stdlib
loop (for debugging, or a platform without uvloop); ``uvloop`` insists on it and fails
with :class:`EventLoopUnavailableError` when it cannot be imported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Final, Literal, TypeVar, get_args

__all__ = [
    "LOOP_CHOICES",
    "EventLoopUnavailableError",
    "LoopChoice",
    "loop_factory",
    "resolve_loop",
    "run",
]

LoopChoice = Literal["auto", "uvloop", "asyncio"]
LOOP_CHOICES: Final[tuple[str, ...]] = get_args(LoopChoice)

_T = TypeVar("_T")


class EventLoopUnavailableError(RuntimeError):
    """The requested event loop cannot be used here (uvloop not installed, or an unknown name)."""

    def __init__(self, choice: str, reason: str) -> None:
        super().__init__(f"event loop {choice!r} is not available: {reason}")
        self.choice = choice
        self.reason = reason


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def resolve_loop(choice: str) -> tuple[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The loop ``choice`` selects, as (``"uvloop"`` or ``"asyncio"``, factory of new loops)."""
    if choice not in LOOP_CHOICES:
        raise EventLoopUnavailableError(choice, f"choose one of {', '.join(LOOP_CHOICES)}")
    if choice == "asyncio":
        return "asyncio", asyncio.new_event_loop
    uv = _uvloop_factory()
    if uv is not None:
        return "uvloop", uv
    if choice == "uvloop":
        raise EventLoopUnavailableError(choice, "the uvloop package is not installed")
    return "asyncio", asyncio.new_event_loop


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory of new event loops of the kind ``choice`` selects."""
    return resolve_loop(choice)[1]


def run(main: Coroutine[Any, Any, _T], *, loop: str = "auto") -> _T:
    """Like :func:`asyncio.run`, on the event loop ``loop`` selects."""
    try:
        factory = loop_factory(loop)
    except EventLoopUnavailableError:
        main.close()  # never awaited: close it so Python does not warn about it
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
