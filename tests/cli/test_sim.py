"""`poskit sim`: one seed replayed, many seeds summarised, failures named with their replay command."""

from __future__ import annotations

import collections
import json

import pytest
from typer.testing import CliRunner

import poskit.cli.sim  # registers `poskit sim`
import poskit.sim
from poskit.cli.app import app
from poskit.sim import SimResult
from poskit.sim.invariants import INVARIANTS

runner = CliRunner()
SMALL = ["--terminals", "3", "--operations", "12"]


def test_one_seed_reports_ok_and_exits_zero() -> None:
    """`poskit sim --seed 2` on a small world holds every invariant and says so."""
    result = runner.invoke(app, ["sim", "--seed", "2", *SMALL])
    assert result.exit_code == 0, result.output
    assert "seed 2: ok" in result.output
    assert f"{len(INVARIANTS)} invariants hold" in result.output


def test_one_seed_as_json_is_the_same_run_twice() -> None:
    """`--json` gives one object; the same seed gives the same faults (the run replays exactly)."""
    first = json.loads(runner.invoke(app, ["sim", "--seed", "2", *SMALL, "--json"]).output)
    second = json.loads(runner.invoke(app, ["sim", "--seed", "2", *SMALL, "--json"]).output)
    assert first["ok"] is True
    assert first["replay"] == "poskit sim --seed 2 --terminals 3 --operations 12"
    assert sum(first["faults"].values()) > 0
    assert first == second


def test_many_seeds_summarise_runs_faults_and_invariants() -> None:
    """`--seeds 2 --start 1` runs seeds 1 and 2 and sums their faults by kind and the invariants checked."""
    result = runner.invoke(app, ["sim", "--seeds", "2", "--start", "1", *SMALL, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[-1])
    assert summary["runs"] == 2
    assert summary["operations"] == 24
    assert summary["invariants_checked"] == 2 * len(INVARIANTS)
    assert summary["failures"] == []
    one = poskit.sim.run_seed(1, terminals=3, operations=12).faults
    two = poskit.sim.run_seed(2, terminals=3, operations=12).faults
    assert summary["faults"] == dict(sorted((one + two).items()))


def test_seed_and_seeds_together_are_refused() -> None:
    """Exactly one of --seed and --seeds: both (or neither) is a usage error, exit 2."""
    assert runner.invoke(app, ["sim", "--seed", "1", "--seeds", "3"]).exit_code == 2
    assert runner.invoke(app, ["sim"]).exit_code == 2


def _broken(seed: int, *, terminals: int = 20, operations: int = 200) -> SimResult:
    """A simulator run that found a violation (stands in for a real bug the simulator caught)."""
    violations = ["('SIM00001', 1, 7, 'sale'): terminal approved it, host has 0 rows"] if seed == 5 else []
    events = [f"t={i} SIM00001 sale 100 -> approved 00" for i in range(60)]
    faults = collections.Counter({"net.answer_lost": 1})
    return SimResult(seed, operations, faults, violations, events, 1, terminals)


def test_failing_seed_prints_replay_command_and_trace_and_exits_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing seed prints the command that replays it, the violation and the last events; exit 1."""
    monkeypatch.setattr(poskit.sim, "run_seed", _broken)
    result = runner.invoke(app, ["sim", "--seed", "5", "--last", "10"])
    assert result.exit_code == 1
    assert "replay with: poskit sim --seed 5" in result.output
    assert "host has 0 rows" in result.output
    assert "last 10 of 60 events" in result.output
    assert "t=59 SIM00001" in result.output and "t=49 SIM00001" not in result.output


def test_sweep_with_a_failure_lists_it_and_exits_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a sweep, each failing seed is listed with its replay command and the exit code is 1."""
    monkeypatch.setattr(poskit.sim.run, "run_seed", _broken)
    result = runner.invoke(app, ["sim", "--seeds", "3", "--start", "4"])
    assert result.exit_code == 1
    assert "runs 3," in result.output and "failures 1" in result.output
    assert "FAILED seed 5: poskit sim --seed 5" in result.output
    assert "net.answer_lost" in result.output
