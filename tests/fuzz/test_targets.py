"""Short runs of every fuzz target (the suite's share of issue 15's fuzzing).

atheris exits the process when it finishes, so here each target runs under the seeded
mutation replay of :mod:`poskit.fuzz.runner`: its seeds, its kept regression inputs, and
a few thousand deterministic mutations of them.
"""

from __future__ import annotations

import pytest

from poskit.fuzz.corpus import regressions, seeds
from poskit.fuzz.runner import FuzzFinding, replay
from poskit.fuzz.targets import TARGETS, RoundTripError

SHORT_RUNS = 3_000


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_short_replay_finds_nothing(name: str) -> None:
    """Each target survives its corpus and 3,000 mutations raising only documented errors."""
    result = replay(name, runs=SHORT_RUNS, seed=15)
    assert result.executions == SHORT_RUNS + len(seeds(name)) + len(regressions(name))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_are_accepted_inputs(name: str) -> None:
    """The seed corpus is well formed, so mutations start from inputs the parser accepts."""
    assert seeds(name)
    for data in seeds(name):
        TARGETS[name](data)


def test_regression_inputs_are_kept() -> None:
    """The padded-template input the tlv target found is replayed on every run."""
    assert any(data.startswith(bytes.fromhex("770a82")) for data in regressions("tlv"))


def test_a_finding_names_target_and_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception the target does not document is reported with the input that caused it."""

    def broken(data: bytes) -> None:
        if len(data) > 3:
            raise RoundTripError("differs")

    monkeypatch.setitem(TARGETS, "tlv", broken)
    with pytest.raises(FuzzFinding) as caught:
        replay("tlv", runs=10)
    assert caught.value.target == "tlv" and "RoundTripError" in str(caught.value)
