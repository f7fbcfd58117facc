"""The host's transaction manager: small participants with prepare / commit / abort.

The idea follows jPOS's TransactionManager (re-implemented, never copied): each
message runs through an ordered list of participants chosen by transaction type.
Every participant *prepares* (and may vote to abort); then the participants that
joined are *committed* in order, or *aborted* if any prepare failed. Participants
are stateless flyweights shared by concurrent transactions; all per-transaction
state lives in the typed context. Each step is timed, and the whole run is logged
as one structured event per transaction.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from poskit.logs import get_logger

__all__ = ["Participant", "TraceStep", "Traced", "TransactionManager", "Vote"]

_log = get_logger("poskit.host.pipeline")


class Vote(enum.IntFlag):
    """A participant's answer to prepare (jPOS-style flags)."""

    ABORTED = 0
    PREPARED = 1
    NO_JOIN = 0x40  # do not call my commit/abort
    READONLY = 0x80


class TraceStep(Protocol):
    pass


class Traced(Protocol):
    """What the manager needs from a context: a trace list and a place to log fields."""

    trace: list[tuple[str, str, float]]
    aborted_by: str | None

    def log_fields(self) -> dict[str, object]: ...


C = TypeVar("C", bound=Traced)
C_contra = TypeVar("C_contra", bound=Traced, contravariant=True)


class Participant(Protocol[C_contra]):
    """One step of the pipeline. Commit and abort must be idempotent."""

    name: str

    async def prepare(self, ctx: C_contra) -> Vote: ...

    async def commit(self, ctx: C_contra) -> None: ...

    async def abort(self, ctx: C_contra) -> None: ...


class TransactionManager(Generic[C]):
    """Runs a group of participants chosen by a selector over the context."""

    def __init__(self, groups: Mapping[str, Sequence[Participant[C]]]) -> None:
        self._groups = dict(groups)

    def groups(self) -> list[str]:
        return sorted(self._groups)

    async def run(self, group: str, ctx: C) -> bool:
        """Prepare every participant of ``group``, then commit or abort. True if committed."""
        participants = self._groups[group]
        joined: list[Participant[C]] = []
        committed = True
        started = time.perf_counter()
        for participant in participants:
            t0 = time.perf_counter()
            try:
                vote = await participant.prepare(ctx)
            except Exception as exc:  # a participant bug must not take the server down
                _log.error(
                    "participant.prepare_failed",
                    participant=participant.name,
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                )
                vote = Vote.ABORTED
                self._note_crash(ctx)
            ctx.trace.append((participant.name, "prepare", (time.perf_counter() - t0) * 1000))
            if not vote & Vote.NO_JOIN:
                joined.append(participant)
            if not vote & Vote.PREPARED:
                committed = False
                ctx.aborted_by = participant.name
                break
        for participant in joined:
            t0 = time.perf_counter()
            phase = "commit" if committed else "abort"
            try:
                await (participant.commit(ctx) if committed else participant.abort(ctx))
            except Exception as exc:
                _log.error(
                    "participant.finish_failed",
                    participant=participant.name,
                    phase=phase,
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                )
            ctx.trace.append((participant.name, phase, (time.perf_counter() - t0) * 1000))
        total = (time.perf_counter() - started) * 1000
        _log.info(
            "txn.trace",
            group=group,
            committed=committed,
            aborted_by=ctx.aborted_by,
            total_ms=round(total, 3),
            steps=[f"{n}.{p}={ms:.3f}ms" for n, p, ms in ctx.trace],
            **ctx.log_fields(),
        )
        return committed

    @staticmethod
    def _note_crash(ctx: C) -> None:
        note = getattr(ctx, "note_internal_error", None)
        if callable(note):
            note()
