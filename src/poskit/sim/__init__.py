"""Deterministic simulation: many terminals and the real host logic under seeded faults.

``poskit sim --seed N`` replays one run exactly; ``poskit sim --seeds N`` runs many.
"""

from poskit.sim.faults import FAULT_KINDS, FaultRates
from poskit.sim.run import SimResult, SimSummary, run_seed, run_seeds

__all__ = ["FAULT_KINDS", "FaultRates", "SimResult", "SimSummary", "run_seed", "run_seeds"]
