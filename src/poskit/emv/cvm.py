"""Cardholder Verification Method list semantics (EMV Book 3 §10.5, Annex C3; Book 4 §6.3.4).

Tag ``8E`` holds amount X and amount Y (4 bytes each, binary, in the application
currency) followed by two-byte rules: method code (b7 = "apply next rule if this one
fails") and condition code. :func:`process_cvm_list` walks the rules; the actual
performing of a method (PIN entry, VERIFY, signature) is delegated to a callback so the
list semantics can be tested alone and the kernel keeps the card dialogue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final, Literal

from poskit.emv.tvr import Tvr, TvrBit

__all__ = [
    "ENCIPHERED_PIN",
    "ENCIPHERED_PIN_AND_SIGNATURE",
    "FAIL_CVM",
    "METHOD_NAMES",
    "NO_CVM",
    "NO_CVM_PERFORMED",
    "NO_CVM_PERFORMED_RESULTS",
    "ONLINE_PIN",
    "PLAINTEXT_PIN",
    "PLAINTEXT_PIN_AND_SIGNATURE",
    "SIGNATURE",
    "CvmContext",
    "CvmError",
    "CvmList",
    "CvmOutcome",
    "CvmResult",
    "CvmRule",
    "condition_satisfied",
    "process_cvm_list",
    "terminal_supports",
]

FAIL_CVM: Final = 0x00
PLAINTEXT_PIN: Final = 0x01
ONLINE_PIN: Final = 0x02
PLAINTEXT_PIN_AND_SIGNATURE: Final = 0x03
ENCIPHERED_PIN: Final = 0x04
ENCIPHERED_PIN_AND_SIGNATURE: Final = 0x05
SIGNATURE: Final = 0x1E
NO_CVM: Final = 0x1F
NO_CVM_PERFORMED: Final = 0x3F  # only in CVM results

METHOD_NAMES: Final[dict[int, str]] = {
    FAIL_CVM: "fail CVM processing",
    PLAINTEXT_PIN: "plaintext PIN verified by ICC",
    ONLINE_PIN: "enciphered PIN verified online",
    PLAINTEXT_PIN_AND_SIGNATURE: "plaintext PIN verified by ICC and signature",
    ENCIPHERED_PIN: "enciphered PIN verified by ICC",
    ENCIPHERED_PIN_AND_SIGNATURE: "enciphered PIN verified by ICC and signature",
    SIGNATURE: "signature (paper)",
    NO_CVM: "no CVM required",
}

#: 9F34 when the card does not support cardholder verification or has no CVM list.
NO_CVM_PERFORMED_RESULTS: Final = bytes([NO_CVM_PERFORMED, 0x00, 0x00])

# 9F33 byte 2 (index 1) bits per method.
_CAPABILITY_BITS: Final[dict[int, int]] = {
    PLAINTEXT_PIN: 0x80,
    ONLINE_PIN: 0x40,
    PLAINTEXT_PIN_AND_SIGNATURE: 0x80 | 0x20,
    ENCIPHERED_PIN: 0x10,
    ENCIPHERED_PIN_AND_SIGNATURE: 0x10 | 0x20,
    SIGNATURE: 0x20,
    NO_CVM: 0x08,
}
_PIN_METHODS: Final = frozenset(
    {PLAINTEXT_PIN, ONLINE_PIN, PLAINTEXT_PIN_AND_SIGNATURE, ENCIPHERED_PIN, ENCIPHERED_PIN_AND_SIGNATURE}
)


class CvmError(ValueError):
    """A CVM list (tag 8E) that cannot be parsed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid CVM list (8E): {reason}")
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class CvmRule:
    code: int  # byte 1 including the apply-next bit
    condition: int

    @property
    def method(self) -> int:
        return self.code & 0x3F

    @property
    def apply_next(self) -> bool:
        return bool(self.code & 0x40)

    @property
    def name(self) -> str:
        return METHOD_NAMES.get(self.method, f"unrecognised CVM {self.method:02X}")

    def to_bytes(self) -> bytes:
        return bytes([self.code, self.condition])


@dataclasses.dataclass(frozen=True, slots=True)
class CvmList:
    amount_x: int
    amount_y: int
    rules: tuple[CvmRule, ...]

    @classmethod
    def parse(cls, data: bytes) -> CvmList:
        if len(data) < 8:
            raise CvmError(f"{len(data)} bytes, amounts X and Y need 8")
        if (len(data) - 8) % 2:
            raise CvmError("odd number of rule bytes")
        rules = tuple(CvmRule(data[i], data[i + 1]) for i in range(8, len(data), 2))
        return cls(int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big"), rules)

    def to_bytes(self) -> bytes:
        return (
            self.amount_x.to_bytes(4, "big")
            + self.amount_y.to_bytes(4, "big")
            + b"".join(r.to_bytes() for r in self.rules)
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CvmContext:
    """What the conditions are evaluated against."""

    amount: int  # 9F02 in minor units
    transaction_type: str  # 9C: "00" goods/services, "01" cash, "09" cashback
    transaction_currency: str  # 5F2A as 4 digits, e.g. "0156"
    application_currency: str | None  # 9F42 as 4 digits
    terminal_type: str  # 9F35, e.g. "22"
    capabilities: bytes  # 9F33

    @property
    def unattended(self) -> bool:
        return self.terminal_type[-1:] in ("4", "5", "6")


def terminal_supports(method: int, capabilities: bytes) -> bool | None:
    """Whether 9F33 byte 2 supports ``method``; None when the method is not recognised."""
    if method == FAIL_CVM:
        return True
    bits = _CAPABILITY_BITS.get(method)
    if bits is None:
        return None
    return len(capabilities) > 1 and capabilities[1] & bits == bits


def condition_satisfied(rule: CvmRule, ctx: CvmContext, *, amount_x: int = 0, amount_y: int = 0) -> bool:
    """Book 3 Annex C3 condition codes 00-09; unknown codes are never satisfied."""
    cond = rule.condition
    cash = ctx.transaction_type == "01"
    cashback = ctx.transaction_type == "09"
    if cond == 0x00:
        return True
    if cond == 0x01:
        return cash and ctx.unattended
    if cond == 0x02:
        return not cash and not cashback
    if cond == 0x03:
        return terminal_supports(rule.method, ctx.capabilities) is True
    if cond == 0x04:
        return cash and not ctx.unattended
    if cond == 0x05:
        return cashback
    if 0x06 <= cond <= 0x09:
        # Amount conditions apply only in the application currency (Book 3 §10.5).
        if ctx.application_currency is None or ctx.application_currency != ctx.transaction_currency:
            return False
        limit = amount_x if cond in (0x06, 0x07) else amount_y
        return ctx.amount < limit if cond in (0x06, 0x08) else ctx.amount > limit
    return False


CvmOutcome = Literal["success", "failed", "unknown"]


@dataclasses.dataclass(frozen=True, slots=True)
class CvmResult:
    """Outcome of the list: 9F34 bytes, the method performed and whether a signature is due."""

    results: bytes  # 9F34
    method: int
    successful: bool
    signature_required: bool


def process_cvm_list(
    cvm_list: CvmList,
    ctx: CvmContext,
    tvr: Tvr,
    perform: Callable[[CvmRule], CvmOutcome],
) -> CvmResult:
    """Walk the rules (Book 3 §10.5): skip unmet conditions, apply next on failure if allowed.

    ``perform`` runs one supported, recognised method and returns ``success``, ``failed``
    or ``unknown`` (online PIN, signature); it sets method-specific TVR bits itself.
    """
    last: CvmRule | None = None
    for rule in cvm_list.rules:
        if not condition_satisfied(rule, ctx, amount_x=cvm_list.amount_x, amount_y=cvm_list.amount_y):
            continue
        last = rule
        supported = terminal_supports(rule.method, ctx.capabilities)
        if supported is None:
            tvr.set(TvrBit.UNRECOGNISED_CVM)
            outcome: CvmOutcome = "failed"
        elif not supported:
            if rule.method in _PIN_METHODS:
                tvr.set(TvrBit.PIN_PAD_MISSING)
            outcome = "failed"
        elif rule.method == FAIL_CVM:
            outcome = "failed"
        else:
            outcome = perform(rule)
        if outcome != "failed":
            signature = rule.method in (SIGNATURE, PLAINTEXT_PIN_AND_SIGNATURE, ENCIPHERED_PIN_AND_SIGNATURE)
            code = 0x02 if outcome == "success" else 0x00
            if signature:
                code = 0x00  # Book 4: a signature's result is unknown to the terminal
            return CvmResult(bytes([rule.code, rule.condition, code]), rule.method, True, signature)
        if not rule.apply_next:
            break
    tvr.set(TvrBit.CVM_FAILED)
    if last is None:
        return CvmResult(bytes([NO_CVM_PERFORMED, 0x00, 0x01]), NO_CVM_PERFORMED, False, False)
    return CvmResult(bytes([last.code, last.condition, 0x01]), last.method, False, False)
