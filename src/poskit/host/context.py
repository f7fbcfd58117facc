"""The typed per-transaction context that flows through the host's participants."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from poskit.cards.track2 import Track2
from poskit.host.authorization import AuthResult, CardInfo
from poskit.host.issuer import PinCheck
from poskit.host.registry import TerminalRecord
from poskit.iso8583.dialects import Dialect
from poskit.iso8583.framing import Envelope
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.model import Request, WorkingKeys
from poskit.iso8583.response_codes import response_text

__all__ = ["HostContext"]


@dataclasses.dataclass
class HostContext:
    """Everything known about one request while the host processes it."""

    dialect: Dialect
    envelope: Envelope
    message: IsoMessage
    request: Request
    received_at: datetime  # UTC
    peer: str
    trace: list[tuple[str, str, float]] = dataclasses.field(default_factory=list)
    aborted_by: str | None = None
    response_code: str | None = None
    reason: str = ""
    terminal: TerminalRecord | None = None
    card: CardInfo | None = None
    pan: str | None = dataclasses.field(default=None, repr=False)  # clear, in memory only, never logged
    track: Track2 | None = dataclasses.field(default=None, repr=False)  # parsed field 35, never logged
    pin_check: str = PinCheck.ABSENT
    result: AuthResult | None = None
    e_receipt_token: str | None = dataclasses.field(default=None, repr=False)  # printed, never stored
    working_keys: WorkingKeys | None = None
    assigned_batch: int | None = None
    processing_requirement: int = 0
    force_sign_on: bool = False
    mac_verified: bool = False
    icc: dict[str, bytes] | None = dataclasses.field(default=None, repr=False)  # parsed field 55
    # field 55 as presented, before its cryptogram is judged: what a recorded refusal keeps
    icc_presented: dict[str, bytes] | None = dataclasses.field(default=None, repr=False)
    atc: int | None = None
    psn: str | None = None
    issuer_scripts: list[bytes] = dataclasses.field(default_factory=list)  # 71/72 templates to send
    settlement: Any = None  # SettleResult of a 0500

    def decline(self, code: str, reason: str = "") -> None:
        """Record the response code and a reason for the log (never card data)."""
        self.response_code = code
        self.reason = reason or response_text(code, "en")

    def note_internal_error(self) -> None:
        if self.response_code is None or self.response_code == "00":
            self.decline("96", "internal error")

    def log_fields(self) -> dict[str, object]:
        r = self.request
        fields: dict[str, object] = {
            "txn_type": r.txn_type.value,
            "mti": self.message.mti,
            "tid": r.terminal_id,
            "mid": r.merchant_id,
            "stan": r.stan,
            "batch": r.batch,
            "peer": self.peer,
            "rc": self.response_code,
            "reason": self.reason,
        }
        if r.amount is not None:
            fields["amount_minor"] = r.amount.minor
            fields["currency"] = r.amount.currency.code
        if self.card is not None:
            fields["card"] = self.card.pan_masked
        if self.result is not None and self.result.rrn:
            fields["rrn"] = self.result.rrn
        return fields
