"""Faults drawn from the seed, and the crashes they cause.

One :class:`FaultPlan` per run owns the run's random stream and counts every fault it
injects by kind, so a summary can say what a set of seeds actually exercised.
"""

from __future__ import annotations

import collections
import dataclasses
import random

__all__ = ["FAULT_KINDS", "FaultPlan", "FaultRates", "HostCrash", "PowerLoss"]


class HostCrash(BaseException):
    """The host process died here (a BaseException: no participant may swallow it)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class PowerLoss(BaseException):
    """The terminal lost power here; it restarts from its store."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


#: Every fault the simulator can inject, with the probability per opportunity in a default run.
FAULT_KINDS: dict[str, float] = {
    "net.refused": 0.03,  # connect refused: nothing sent
    "net.request_lost": 0.03,  # sent, never arrived
    "net.answer_lost": 0.04,  # host answered, the answer never arrived
    "net.answer_late": 0.03,  # answer arrives after the terminal's time-out
    "net.reset": 0.02,  # connection reset after the request went out
    "net.duplicate": 0.03,  # the request is delivered twice
    "net.replay_stale": 0.03,  # an old request of this terminal arrives late (reordering)
    "host.crash_before_commit": 0.02,
    "host.crash_after_commit": 0.02,
    "host.disk_io_error": 0.015,
    "host.disk_full": 0.01,
    "terminal.power_before_send": 0.02,
    "terminal.power_after_answer": 0.02,
    "terminal.power_on_store_write": 0.004,
    "terminal.disk_error": 0.004,
    "clock.drift": 0.02,
    "clock.jump": 0.01,
    "workload.sign_on": 0.02,  # a sign-on in the middle of traffic (new working keys)
}


@dataclasses.dataclass(frozen=True)
class FaultRates:
    """Probabilities per opportunity; ``scale`` 0 turns every fault off."""

    scale: float = 1.0

    def p(self, kind: str) -> float:
        return FAULT_KINDS[kind] * self.scale


class FaultPlan:
    """The seeded dice of one run and the tally of what they injected."""

    def __init__(self, rng: random.Random, rates: FaultRates) -> None:
        self.rng = rng
        self.rates = rates
        self.injected: collections.Counter[str] = collections.Counter()
        self.armed = True  # off while the run drains and checks its invariants

    def roll(self, kind: str) -> bool:
        if not self.armed:
            return False
        hit = self.rng.random() < self.rates.p(kind)
        if hit:
            self.injected[kind] += 1
        return hit

    def first(self, *kinds: str) -> str | None:
        """The first of ``kinds`` whose roll hits (each kind rolled in order until one does)."""
        for kind in kinds:
            if self.roll(kind):
                return kind
        return None
