"""The settle benchmark's day is a real ledger: it checks clean and the audit finds what was planted."""

from __future__ import annotations

from poskit.benchmarks.settle import DOUBLE_CHARGED, run


def test_quick_benchmark_run_is_consistent() -> None:
    """A quick run settles, pays, finds exactly the planted double charges and checks clean."""
    result = run(quick=True)
    assert result.data["check_ok"] is True
    assert result.data["findings"] == DOUBLE_CHARGED
    assert result.data["payouts"] > 0
    assert result.name == "settle" and "| settle-day" in result.markdown()
