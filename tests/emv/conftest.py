"""Shared fixtures for the EMV tests: deterministic randomness and clock, a scripted PIN pad,
a kernel wired to a virtual card, and a minimal issuer that checks ARQCs and returns ARPCs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from poskit.cards.icc import CardState, VirtualCard, VirtualCardTransport, virtual_card
from poskit.cards.test_keys import TEST_IMK_AC
from poskit.emv import issuer
from poskit.emv.config import TerminalConfig
from poskit.emv.field55 import parse_icc_data
from poskit.emv.kernel import EmvKernel
from poskit.emv.outcome import FirstPhase
from poskit.emv.selection import Candidate
from poskit.emv.transport import IccTransport
from poskit.money import Amount

NOW = dt.datetime(2025, 5, 1, 12, 30, 0)


def counter_random(seed: int = 1) -> Callable[[int], bytes]:
    """Deterministic stand-in for os.urandom."""
    counter: Iterator[int] = itertools.count(seed)

    def random(n: int) -> bytes:
        base = next(counter)
        return bytes((base * 37 + i * 11) & 0xFF for i in range(n))

    return random


class ScriptedPinPad:
    """Enters the given offline PINs in turn (None: bypass); online PIN entered if ``online``."""

    def __init__(self, *offline: str | None, online: bool = True) -> None:
        self.offline = list(offline)
        self.online = online
        self.online_calls: list[tuple[str, Amount]] = []
        self.offline_calls: list[int | None] = []

    def online_pin(self, *, pan: str, amount: Amount) -> bool:
        self.online_calls.append((pan, amount))
        return self.online

    def offline_pin(self, *, tries_left: int | None) -> str | None:
        self.offline_calls.append(tries_left)
        return self.offline.pop(0) if self.offline else None


@dataclasses.dataclass
class Rig:
    kernel: EmvKernel
    reader: VirtualCardTransport
    card: VirtualCard
    pad: ScriptedPinPad

    def start(self, minor: int, currency: str = "CNY", **kwargs: Any) -> FirstPhase:
        return self.kernel.start(Amount.of(minor, currency), **kwargs)


class Mitm:
    """A device in the middle: forwards APDUs and lets a test rewrite the card's answers."""

    def __init__(self, inner: IccTransport, rewrite: Callable[[bytes, bytes], bytes | None]) -> None:
        self.inner = inner
        self.rewrite = rewrite

    def power_on(self) -> bytes:
        return self.inner.power_on()

    def transmit(self, apdu: bytes) -> bytes:
        response = self.inner.transmit(apdu)
        changed = self.rewrite(apdu, response)
        return response if changed is None else changed

    def power_off(self) -> None:
        self.inner.power_off()


@pytest.fixture
def rng() -> Callable[[int], bytes]:
    return counter_random()


@pytest.fixture
def mitm() -> type[Mitm]:
    return Mitm


@pytest.fixture
def pin_pad() -> type[ScriptedPinPad]:
    return ScriptedPinPad


@pytest.fixture
def rig() -> Callable[..., Rig]:
    """Factory: ``rig("visa-credit", pins=("1234",), interface="contact", config=...)``."""

    def make(
        card: str | VirtualCard,
        *,
        pins: Sequence[str | None] = (),
        online: bool = True,
        interface: str = "contact",
        config: TerminalConfig | None = None,
        choose: Callable[[Sequence[Candidate]], int] | None = None,
        wrap: Callable[[IccTransport], IccTransport] | None = None,
        state: CardState | None = None,
        seed: int = 1,
    ) -> Rig:
        random = counter_random(seed)
        chip = card if isinstance(card, VirtualCard) else virtual_card(card, random=random, state=state)
        reader = VirtualCardTransport(chip, interface=interface)  # type: ignore[arg-type]
        pad = ScriptedPinPad(*pins, online=online)
        transport: IccTransport = wrap(reader) if wrap else reader
        kernel = EmvKernel(
            config or TerminalConfig.china(),
            transport,
            random=random,
            now=lambda: NOW,
            choose_application=choose,
            pin_entry=pad,
        )
        return Rig(kernel, reader, chip, pad)

    return make


@pytest.fixture
def host() -> Callable[..., dict[str, Any]]:
    """Factory: verify the ARQC of a first phase like an issuer and build the response."""

    def respond(
        first: FirstPhase,
        response_code: str = "00",
        *,
        scripts: bytes | None = None,
        tamper_arpc: bool = False,
    ) -> dict[str, Any]:
        icc = parse_icc_data(first.icc_data)
        assert first.pan is not None
        check = issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn=first.psn, icc=icc)
        assert check.ok, check.reason
        data = issuer.issuer_authentication_data(
            imk_ac=TEST_IMK_AC,
            pan=first.pan,
            psn=first.psn,
            atc=icc["9F36"],
            arqc=icc["9F26"],
            response_code=response_code,
        )
        if tamper_arpc:
            data = bytes([data[0] ^ 0x01]) + data[1:]
        return {
            "host_reached": True,
            "response_code": response_code,
            "issuer_authentication_data": data,
            "issuer_scripts": scripts,
        }

    return respond
