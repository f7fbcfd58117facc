"""Seeds the simulator failed on: an exact repeat of a DUKPT terminal's request."""

from __future__ import annotations

import pytest

from poskit.sim import run_seed

#: Seeds whose DUKPT sale was delivered twice: the host approved the first delivery and
#: declined the repeat A7 (KSN replayed), so the terminal kept a decline the host had approved.
SEEDS = (56, 189, 227)


@pytest.mark.parametrize("seed", SEEDS)
def test_duplicate_dukpt_request_is_answered_from_the_original(seed: int) -> None:
    """A repeated DUKPT request (same KSN) is answered from the original, not refused A7."""
    result = run_seed(seed, terminals=3, operations=12)
    assert result.ok, result.report()
    assert result.faults["net.duplicate"] >= 1  # the seed still delivers a request twice
    assert not any(event.endswith("declined A7") for event in result.events)
