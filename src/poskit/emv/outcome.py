"""What the kernel hands back to the terminal, and what it needs from the terminal's PIN pad."""

from __future__ import annotations

import dataclasses
from typing import Literal, Protocol

from poskit.cards.pan import mask_pan
from poskit.cards.track2 import Track2
from poskit.money import Amount

__all__ = [
    "CvmName",
    "EntryModeName",
    "FirstPhase",
    "KernelStateError",
    "OdaMethod",
    "Outcome",
    "PinEntry",
    "SecondPhase",
]

Outcome = Literal[
    "online",
    "approved_offline",
    "declined_offline",
    "insert_card",
    "try_another_interface",
    "card_error",
]
CvmName = Literal["online_pin", "offline_pin", "signature", "no_cvm", "failed"]
EntryModeName = Literal["chip", "contactless", "fallback", "magstripe", "manual"]
OdaMethod = Literal["sda", "dda", "cda", "none"]


class PinEntry(Protocol):
    """The terminal's PIN pad, as the kernel sees it.

    ``online_pin``: the PIN pad captures the PIN and encrypts it under the PIN key itself
    (field 52); the kernel only learns whether it happened (False: bypassed or cancelled).

    ``offline_pin``: returns the digits for VERIFY (None: bypassed). They go straight into
    the PIN block sent to the card and are not kept; this models the secure PIN pad to
    card path of a real terminal, where the PIN pad builds the VERIFY command.
    """

    def online_pin(self, *, pan: str, amount: Amount) -> bool: ...

    def offline_pin(self, *, tries_left: int | None) -> str | None: ...


class KernelStateError(RuntimeError):
    """A kernel method called out of order (e.g. ``complete`` without an online first phase)."""


@dataclasses.dataclass(frozen=True, slots=True)
class FirstPhase:
    """Result of :meth:`EmvKernel.start`: the card's first decision and the field 55 data."""

    outcome: Outcome
    message: str
    entry_mode: EntryModeName
    pan: str | None = None
    track2_equivalent: Track2 | None = None
    expiry: str | None = None  # YYMM
    psn: str | None = None  # two digits, field 23
    aid: str | None = None
    application_label: str | None = None
    cvm: CvmName = "no_cvm"
    signature_required: bool = False
    consumer_device_cvm: bool = False
    icc_data: bytes = b""  # field 55 for the request
    tvr: bytes = bytes(5)
    tsi: bytes = bytes(2)
    cryptogram: bytes | None = None
    cid: int | None = None
    cvm_results: bytes = b""
    atc: int | None = None
    oda: OdaMethod = "none"
    fallback_allowed: bool = False

    @property
    def cryptogram_type(self) -> str | None:
        if self.cid is None:
            return None
        return ("AAC", "TC", "ARQC", "AAR")[(self.cid >> 6) & 0x03]

    def __repr__(self) -> str:
        pan = mask_pan(self.pan) if self.pan else None
        return (
            f"FirstPhase(outcome={self.outcome!r}, pan={pan!r}, aid={self.aid!r}, "
            f"cvm={self.cvm!r}, tvr={self.tvr.hex().upper()}, tsi={self.tsi.hex().upper()}, "
            f"cryptogram_type={self.cryptogram_type!r}, message={self.message!r})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class SecondPhase:
    """Result of :meth:`EmvKernel.complete` (second GENERATE AC, issuer scripts)."""

    approved: bool
    message: str
    cryptogram: bytes | None = None
    cid: int | None = None
    reversal_required: bool = False
    script_results: bytes = b""  # DF31 value: 5 bytes per script
    icc_data: bytes = b""  # final field 55 (TC or AAC) for batch upload / TC upload
    reversal_icc_data: bytes = b""  # 95 9F1E 9F10 9F36 DF31
    script_advice_icc_data: bytes | None = None  # for the 0620 advice when scripts ran
    tvr: bytes = bytes(5)
    tsi: bytes = bytes(2)
    issuer_authentication: Literal["passed", "failed", "not_performed"] = "not_performed"
    authorisation_response_code: str | None = None  # 8A as sent to the card

    @property
    def cryptogram_type(self) -> str | None:
        if self.cid is None:
            return None
        return ("AAC", "TC", "ARQC", "AAR")[(self.cid >> 6) & 0x03]
