"""The PC/SC adapter (poskit.terminal.devices.pcsc_reader) against a stand-in pyscard.

pyscard is an optional extra and CI has no reader, so a fake ``smartcard`` package that
forwards to a virtual card is installed in ``sys.modules``; the kernel then runs a whole
transaction through the real adapter code.
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Iterator

import pytest

from poskit.cards.icc import VirtualCard, virtual_card
from poskit.emv.config import TerminalConfig
from poskit.emv.kernel import EmvKernel
from poskit.emv.transport import IccTransportError
from poskit.money import Amount
from poskit.terminal.devices.pcsc_reader import (
    PcscIccTransport,
    PcscUnavailableError,
    list_readers,
)


class _FakeConnection:
    def __init__(self, card: VirtualCard | None) -> None:
        self.card = card

    def connect(self, protocol: int | None = None) -> None:
        if self.card is None:
            raise RuntimeError("no card in reader")

    def getATR(self) -> list[int]:  # pyscard API name
        assert self.card is not None
        return list(self.card.power_on("contact"))

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        assert self.card is not None
        raw = self.card.transmit(bytes(apdu))
        return list(raw[:-2]), raw[-2], raw[-1]

    def disconnect(self) -> None:
        pass


class _FakeReader:
    def __init__(self, name: str, card: VirtualCard | None) -> None:
        self.name = name
        self.card = card

    def createConnection(self) -> _FakeConnection:  # pyscard API name
        return _FakeConnection(self.card)

    def __str__(self) -> str:
        return self.name


@pytest.fixture
def fake_pyscard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[_FakeReader]]:
    readers: list[_FakeReader] = []
    package = types.ModuleType("smartcard")
    system = types.ModuleType("smartcard.System")
    system.readers = lambda: readers  # type: ignore[attr-defined]
    package.System = system  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "smartcard", package)
    monkeypatch.setitem(sys.modules, "smartcard.System", system)
    yield readers


class _Pad:
    def online_pin(self, *, pan: str, amount: Amount) -> bool:
        return True

    def offline_pin(self, *, tries_left: int | None) -> str | None:
        return None


def test_kernel_runs_through_pcsc_adapter(
    fake_pyscard: list[_FakeReader], caplog: pytest.LogCaptureFixture
) -> None:
    """A full first phase runs through the adapter; the DEBUG log is masked."""
    fake_pyscard.append(_FakeReader("ACS ACR39U 00 00", virtual_card("unionpay-debit")))
    assert list_readers() == ["ACS ACR39U 00 00"]
    transport = PcscIccTransport("ACR39U")
    kernel = EmvKernel(TerminalConfig.china(), transport, pin_entry=_Pad())
    with caplog.at_level(logging.DEBUG, logger="poskit.terminal.devices.pcsc"):
        first = kernel.start(Amount.of(100, "CNY"))
    assert first.outcome == "online"
    text = caplog.text
    assert "READ RECORD" in text and "622202*********6789" in text
    assert "6222021001123456789" not in text
    assert "connected=True" in repr(transport)  # kept powered until complete()
    transport.power_off()
    assert "connected=False" in repr(transport)


def test_reader_errors(fake_pyscard: list[_FakeReader]) -> None:
    """No reader, an unknown name, an empty slot and a call before power-on are clear errors."""
    with pytest.raises(IccTransportError, match="no PC/SC reader"):
        PcscIccTransport().power_on()
    fake_pyscard.append(_FakeReader("Reader A", None))
    with pytest.raises(IccTransportError, match="no reader named"):
        PcscIccTransport("Reader B").power_on()
    with pytest.raises(IccTransportError, match="out of range"):
        PcscIccTransport(3).power_on()
    with pytest.raises(IccTransportError, match="cannot power"):
        PcscIccTransport(0).power_on()
    with pytest.raises(IccTransportError, match="not powered"):
        PcscIccTransport().transmit(b"\x00\xa4\x04\x00")
    PcscIccTransport().power_off()


def test_missing_pyscard_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyscard the error names the extra to install."""
    monkeypatch.setitem(sys.modules, "smartcard", None)
    with pytest.raises(PcscUnavailableError, match=r"poskit\[pcsc\]"):
        PcscIccTransport().power_on()
