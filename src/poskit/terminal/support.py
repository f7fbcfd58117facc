"""Getting help at the counter: who to call, when, and a ticket the acquirer's staff will see.

:class:`SupportDesk` is a port like the printer or the host link: the terminal app asks it
for the support contact and hands it tickets. The embedded setup (``poskit terminal`` over a
data directory) files tickets where the portal keeps them
(:class:`poskit.portal.data.terminal_desk.PortalSupportDesk`); without a desk the terminal
still shows the support phone it was provisioned with.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

__all__ = [
    "TICKET_CATEGORIES",
    "SupportContact",
    "SupportDesk",
    "SupportUnavailableError",
    "TicketRequest",
]

#: What a ticket from the terminal is about: (portal ticket category, message id shown to the operator).
TICKET_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("terminal", "The terminal or its printer does not work"),
    ("general", "A card payment went wrong"),
    ("settlement", "Settlement or payout"),
    ("signature", "Signatures (补签)"),
    ("general", "Something else"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class SupportContact:
    """Who answers the merchant's questions, and how to reach them."""

    name: str
    phone: str
    hours: str = ""
    email: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class TicketRequest:
    """A ticket as the terminal sends it (already in the operator's language)."""

    terminal_id: str
    category: str
    subject: str
    body: str
    operator: str | None = None


class SupportUnavailableError(RuntimeError):
    """The ticket could not be filed (no desk, or the desk refused it); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SupportDesk(Protocol):
    """The acquirer's support, as the terminal reaches it."""

    def contact(self) -> SupportContact:
        """The support contact of this terminal's merchant (its acquirer's when it has none)."""
        ...

    def open_ticket(self, request: TicketRequest) -> int:
        """File the ticket; its number, as the portal's ticket list shows it."""
        ...
