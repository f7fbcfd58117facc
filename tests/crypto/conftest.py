"""Shared fixtures for the security module tests: deterministic randomness and HSMs."""

from __future__ import annotations

import random as _random
from collections.abc import Callable

import pytest

from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey

# A fixed, obviously-test LMK so failures reproduce; never a production value.
TEST_LMK_HEX = "00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210"


def seeded_random(seed: int) -> Callable[[int], bytes]:
    """A deterministic byte source standing in for os.urandom."""
    rng = _random.Random(seed)
    return rng.randbytes


@pytest.fixture
def lmk() -> LocalMasterKey:
    return LocalMasterKey.from_hex(TEST_LMK_HEX)


@pytest.fixture
def hsm(lmk: LocalMasterKey) -> SoftHSM:
    return SoftHSM(lmk, random=seeded_random(1))


@pytest.fixture
def other_hsm() -> SoftHSM:
    return SoftHSM(LocalMasterKey(bytes(range(32))), random=seeded_random(2))


@pytest.fixture
def make_random() -> Callable[[int], Callable[[int], bytes]]:
    """A factory of deterministic byte sources, by seed."""
    return seeded_random
