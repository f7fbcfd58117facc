"""The simulator checks that terminal and host agree on every slip's signature flag."""

from __future__ import annotations

from poskit.sim import FaultRates, run_seed


def test_refunds_and_pin_sales_carry_the_same_signature_flag_at_both_ends() -> None:
    """Seed 4's fault-free day has PIN sales, voids and refunds; every approval's flag matches the host's."""
    result = run_seed(4, terminals=3, operations=60, rates=FaultRates(scale=0))
    assert result.ok, result.report()
    assert any(" refund " in event for event in result.events)  # the day really had refunds
