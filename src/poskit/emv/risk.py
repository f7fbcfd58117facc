"""Terminal risk management (EMV Book 3 §10.6): floor limit, random selection, velocity.

Pure functions over the amount, the card's counters and the terminal parameters; each
sets its TVR bits and returns what it decided, so the kernel only orchestrates.
"""

from __future__ import annotations

from collections.abc import Callable

from poskit.emv.config import RandomSelection
from poskit.emv.tvr import Tvr, TvrBit

__all__ = ["check_floor_limit", "check_velocity", "random_percent", "random_selection"]


def check_floor_limit(amount: int, floor_limit: int, tvr: Tvr) -> bool:
    """Set "transaction exceeds floor limit" when ``amount >= floor_limit`` (Book 3 §10.6.1)."""
    exceeded = amount >= floor_limit
    if exceeded:
        tvr.set(TvrBit.FLOOR_LIMIT_EXCEEDED)
    return exceeded


def random_percent(random: Callable[[int], bytes]) -> int:
    """A random number 1-99 (the terminal's draw for random selection)."""
    return int.from_bytes(random(2), "big") % 99 + 1


def random_selection(
    amount: int,
    floor_limit: int,
    params: RandomSelection,
    random: Callable[[int], bytes],
    tvr: Tvr,
) -> bool:
    """Book 3 §10.6.2: below the threshold select with the target percentage; between the
    threshold and the floor limit the percentage rises linearly to the maximum target."""
    if amount >= floor_limit or (params.target_percent == 0 and params.max_target_percent == 0):
        return False
    draw = random_percent(random)
    if amount < params.threshold:
        percent = params.target_percent
    else:
        span = floor_limit - params.threshold
        extra = (
            ((params.max_target_percent - params.target_percent) * (amount - params.threshold) // span)
            if span > 0
            else 0
        )
        percent = params.target_percent + extra
    selected = draw <= percent
    if selected:
        tvr.set(TvrBit.RANDOM_SELECTED)
    return selected


def check_velocity(
    atc: int | None,
    last_online_atc: int | None,
    lower_limit: int | None,
    upper_limit: int | None,
    tvr: Tvr,
) -> None:
    """Book 3 §10.6.3 velocity checking with 9F36/9F13 against 9F14/9F23.

    Skipped when the card has no limits. If either counter could not be read both
    "exceeded" bits are set; a last online ATC of zero marks a new card.
    """
    if lower_limit is None or upper_limit is None:
        return
    if atc is None or last_online_atc is None:
        tvr.set(TvrBit.LCOL_EXCEEDED)
        tvr.set(TvrBit.UCOL_EXCEEDED)
        return
    offline = atc - last_online_atc
    if offline > lower_limit:
        tvr.set(TvrBit.LCOL_EXCEEDED)
    if offline > upper_limit:
        tvr.set(TvrBit.UCOL_EXCEEDED)
    if last_online_atc == 0:
        tvr.set(TvrBit.NEW_CARD)
