"""The deterministic simulator: seeded worlds of terminals and the real host under faults."""

from __future__ import annotations

import pytest

import poskit.sim.run
from poskit.sim import FaultRates, run_seed

#: Seeds kept because each drives host crashes, lost answers, power cuts and disk errors.
SEEDS = (1, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_day_under_faults_keeps_every_invariant(seed: int) -> None:
    """A seeded day with injected faults ends with every invariant holding."""
    result = run_seed(seed, terminals=3, operations=12)
    assert result.ok, result.report()
    assert sum(result.faults.values()) > 0  # the seed really injected faults


def test_same_seed_replays_the_same_run_event_for_event() -> None:
    """Two runs of one seed produce identical event traces and fault tallies."""
    first = run_seed(2, terminals=3, operations=12)
    second = run_seed(2, terminals=3, operations=12)
    assert first.events == second.events
    assert first.faults == second.faults


def test_fault_free_run_injects_nothing_and_holds() -> None:
    """With every fault rate at zero the run is clean traffic, and still checked."""
    result = run_seed(3, terminals=3, operations=8, rates=FaultRates(scale=0))
    assert result.ok, result.report()
    assert not result.faults


def test_opening_sign_on_runs_with_faults_off_seed_1_regression() -> None:
    """Seed 1 cut power during the opening sign-on's status report and crashed the run;
    the day now opens with faults disarmed, so the run completes and holds its invariants."""
    result = run_seed(1, terminals=20, operations=5)
    assert result.ok, result.report()


def test_a_run_that_raises_is_a_failed_seed_not_a_crashed_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside a run (a bug it hit) fails that seed with the error named; the sweep goes on."""

    async def broken_close(world: object) -> list[str]:
        raise RuntimeError("terminal store refused the advice\nsecond line")

    monkeypatch.setattr(poskit.sim.run, "_close_day", broken_close)
    summary = poskit.sim.run_seeds([3, 4], terminals=3, operations=4)
    assert summary.runs == 2 and len(summary.failures) == 2
    assert summary.failures[0].violations == [
        "the run raised RuntimeError: terminal store refused the advice"
    ]
    assert summary.failures[0].events[-1] == "the run raised RuntimeError"
