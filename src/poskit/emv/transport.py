"""The card reader port: how the kernel talks to a chip (contact or contactless).

:class:`IccTransport` is implemented by the PC/SC adapter
(:mod:`poskit.terminal.devices.pcsc_reader`) and by the virtual cards
(:class:`poskit.cards.icc.VirtualCardTransport`). :class:`ApduChannel` sits on top: it
handles the T=0 status words ``61xx`` (GET RESPONSE) and ``6Cxx`` (repeat with the right
Le) and keeps a masked trace of every exchange.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from poskit.emv.apdu import Apdu, ResponseApdu, get_response
from poskit.emv.trace import ApduExchange, describe_exchange

__all__ = ["ApduChannel", "IccTransport", "IccTransportError"]


class IccTransportError(Exception):
    """The reader or the card failed (no card, mute card, card removed, reader error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"card reader: {reason}")
        self.reason = reason


@runtime_checkable
class IccTransport(Protocol):
    """A card in a reader: ``power_on`` returns the ATR, ``transmit`` one APDU exchange."""

    def power_on(self) -> bytes:
        """Power the card (contact: cold reset; contactless: activate) and return the ATR."""
        ...

    def transmit(self, apdu: bytes) -> bytes:
        """Send a command APDU; return response data followed by SW1 SW2."""
        ...

    def power_off(self) -> None: ...


class ApduChannel:
    """Command/response with T=0 chaining handled and a masked trace."""

    def __init__(self, transport: IccTransport) -> None:
        self._transport = transport
        self.trace: list[ApduExchange] = []

    def _raw(self, command: bytes) -> ResponseApdu:
        raw = self._transport.transmit(command)
        if len(raw) < 2:
            raise IccTransportError(f"response of {len(raw)} bytes has no status word")
        self.trace.append(describe_exchange(command, raw))
        return ResponseApdu.parse(raw)

    def send_raw(self, command: bytes) -> bytes:
        """Send pre-built command bytes as they are (issuer script commands); traced."""
        raw = self._transport.transmit(command)
        self.trace.append(describe_exchange(command, raw))
        return raw

    def send(self, apdu: Apdu) -> ResponseApdu:
        command = apdu.to_bytes()
        response = self._raw(command)
        if response.sw1 == 0x6C:  # wrong Le: repeat with the length the card asks for
            response = self._raw(
                command[:-1] + bytes([response.sw2])
                if apdu.le is not None
                else command + bytes([response.sw2])
            )
        data = bytearray(response.data)
        guard = 0
        while response.sw1 == 0x61 and guard < 32:  # more data: GET RESPONSE
            response = self._raw(get_response(response.sw2).to_bytes())
            data += response.data
            guard += 1
        return ResponseApdu(bytes(data), response.sw1, response.sw2)
