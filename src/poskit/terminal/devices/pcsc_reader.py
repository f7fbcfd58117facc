"""A real PC/SC card reader as the EMV kernel's card port (:class:`~poskit.emv.IccTransport`).

Install the optional extra (``pip install 'poskit[pcsc]'``; pyscard builds from source on
Linux and needs ``swig``, ``libpcsclite-dev`` and a running ``pcscd``). The same kernel that
runs against the virtual cards then selects, reads and runs GENERATE AC on a real chip.

Every APDU exchange is logged at DEBUG level on the ``poskit.terminal.devices.pcsc``
logger with sensitive tags masked (PAN shown as first six and last four digits, track
data, cardholder name and PIN blocks hidden), via :mod:`poskit.emv.trace`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from poskit.emv.trace import describe_exchange
from poskit.emv.transport import IccTransportError

__all__ = ["PcscIccTransport", "PcscUnavailableError", "list_readers"]

_log = logging.getLogger("poskit.terminal.devices.pcsc")


class PcscUnavailableError(IccTransportError):
    """pyscard is not installed or no PC/SC service is running."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


def _smartcard() -> Any:
    try:
        import smartcard.System  # optional dependency, imported on use
    except ImportError:
        raise PcscUnavailableError(
            "pyscard is not installed: pip install 'poskit[pcsc]' (needs swig, "
            "libpcsclite-dev and a running pcscd)"
        ) from None
    return smartcard


def list_readers() -> list[str]:
    """Names of the PC/SC readers the service knows."""
    smartcard = _smartcard()
    try:
        return [str(r) for r in smartcard.System.readers()]
    except Exception as exc:  # pyscard raises its own types and bare OSErrors here
        raise PcscUnavailableError(f"PC/SC service not available: {exc}") from None


class PcscIccTransport:
    """Implements ``IccTransport`` over pyscard: ``power_on`` connects and returns the ATR."""

    def __init__(
        self,
        reader: str | int | None = None,
        *,
        protocol: Literal["any", "T0", "T1"] = "any",
        logger: logging.Logger | None = None,
    ) -> None:
        self.reader = reader
        self.protocol = protocol
        self._log = logger or _log
        self._connection: Any = None

    def __repr__(self) -> str:
        return f"PcscIccTransport(reader={self.reader!r}, connected={self._connection is not None})"

    def _pick_reader(self, smartcard: Any) -> Any:
        try:
            available = smartcard.System.readers()
        except Exception as exc:
            raise PcscUnavailableError(f"PC/SC service not available: {exc}") from None
        if not available:
            raise IccTransportError("no PC/SC reader connected")
        if self.reader is None:
            return available[0]
        if isinstance(self.reader, int):
            if not 0 <= self.reader < len(available):
                raise IccTransportError(f"reader index {self.reader} out of range ({len(available)} readers)")
            return available[self.reader]
        for candidate in available:
            if self.reader in str(candidate):
                return candidate
        raise IccTransportError(f"no reader named like {self.reader!r}")

    def power_on(self) -> bytes:
        smartcard = _smartcard()
        reader = self._pick_reader(smartcard)
        connection = reader.createConnection()
        try:
            if self.protocol == "any":
                connection.connect()
            else:
                from smartcard.CardConnection import CardConnection

                flag = CardConnection.T0_protocol if self.protocol == "T0" else CardConnection.T1_protocol
                connection.connect(protocol=flag)
            atr = bytes(connection.getATR())
        except Exception as exc:  # NoCardException, CardConnectionException
            raise IccTransportError(f"cannot power the card in {reader}: {exc}") from None
        self._connection = connection
        self._log.debug("ATR %s (reader %s)", atr.hex().upper(), reader)
        return atr

    def transmit(self, apdu: bytes) -> bytes:
        if self._connection is None:
            raise IccTransportError("card is not powered (call power_on first)")
        try:
            data, sw1, sw2 = self._connection.transmit(list(apdu))
        except Exception as exc:  # CardConnectionException: card removed, reader unplugged
            raise IccTransportError(f"APDU exchange failed: {exc}") from None
        response = bytes(data) + bytes([sw1, sw2])
        exchange = describe_exchange(apdu, response)
        self._log.debug(
            "%s C-APDU %s R-APDU %s (%s)",
            exchange.name,
            exchange.command,
            exchange.response,
            exchange.meaning,
        )
        return response

    def power_off(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.disconnect()
        except Exception as exc:  # a card already gone is not an error worth raising
            self._log.debug("disconnect: %s", exc)
