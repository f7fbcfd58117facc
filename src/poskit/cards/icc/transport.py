"""A virtual card in a virtual reader: the :class:`~poskit.emv.transport.IccTransport` port.

Tests, the CLI and the browser POS run the EMV kernel through this adapter exactly as they
would through the PC/SC reader. It can also simulate reader trouble: a number of failed
power-ons (a dirty chip, for technical fallback) or a card pulled out after some commands.
"""

from __future__ import annotations

from poskit.cards.icc.card import Interface, VirtualCard
from poskit.emv.transport import IccTransportError

__all__ = ["VirtualCardTransport"]


class VirtualCardTransport:
    """Implements ``IccTransport`` for a :class:`VirtualCard` on one interface."""

    def __init__(
        self,
        card: VirtualCard,
        *,
        interface: Interface = "contact",
        contactless: bool | None = None,
        fail_power_on: int = 0,
        remove_after: int | None = None,
    ) -> None:
        """``contactless=True`` is shorthand for ``interface="contactless"`` (a tap)."""
        self.card = card
        self.interface: Interface = interface
        if contactless is not None:
            self.interface = "contactless" if contactless else "contact"
        self.fail_power_on = fail_power_on
        self.remove_after = remove_after
        self.commands = 0

    def power_on(self) -> bytes:
        if self.fail_power_on > 0:
            self.fail_power_on -= 1
            raise IccTransportError("no answer to reset (chip not readable)")
        self.commands = 0
        return self.card.power_on(self.interface)

    def transmit(self, apdu: bytes) -> bytes:
        if self.remove_after is not None and self.commands >= self.remove_after:
            self.card.power_off()
            raise IccTransportError("card removed")
        self.commands += 1
        return self.card.transmit(apdu)

    def power_off(self) -> None:
        self.card.power_off()

    def __repr__(self) -> str:
        return f"VirtualCardTransport({self.card!r}, {self.interface})"
