"""CVM list semantics (Book 3 §10.5): conditions, amounts X/Y, apply next, support, failure."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from poskit.emv.cvm import (
    CvmContext,
    CvmError,
    CvmList,
    CvmOutcome,
    CvmRule,
    condition_satisfied,
    process_cvm_list,
    terminal_supports,
)
from poskit.emv.tvr import Tvr, TvrBit

ALL_CVMS = bytes.fromhex("E0F8C8")  # plaintext/online/signature/enciphered/no CVM
NO_PIN_PAD = bytes.fromhex("E028C8")  # signature and no CVM only


def _ctx(
    amount: int = 10_000,
    *,
    caps: bytes = ALL_CVMS,
    kind: str = "00",
    app_currency: str | None = "0156",
    terminal_type: str = "22",
) -> CvmContext:
    return CvmContext(
        amount=amount,
        transaction_type=kind,
        transaction_currency="0156",
        application_currency=app_currency,
        terminal_type=terminal_type,
        capabilities=caps,
    )


def _performer(outcomes: dict[int, CvmOutcome]) -> tuple[Callable[[CvmRule], CvmOutcome], list[int]]:
    calls: list[int] = []

    def perform(rule: CvmRule) -> CvmOutcome:
        calls.append(rule.method)
        return outcomes.get(rule.method, "success")

    return perform, calls


def _list(*rules: str, x: int = 0, y: int = 0) -> CvmList:
    return CvmList.parse(bytes.fromhex(f"{x:08X}{y:08X}" + "".join(rules)))


def test_parse() -> None:
    """Amounts X and Y and two-byte rules are read from tag 8E."""
    cvm = _list("4203", "1E03", x=50_000, y=100_000)
    assert (cvm.amount_x, cvm.amount_y) == (50_000, 100_000)
    assert cvm.rules[0].method == 0x02 and cvm.rules[0].apply_next
    assert not cvm.rules[1].apply_next
    assert CvmList.parse(cvm.to_bytes()) == cvm
    with pytest.raises(CvmError):
        CvmList.parse(bytes(7))
    with pytest.raises(CvmError):
        CvmList.parse(bytes(9))


def test_first_satisfied_rule_wins() -> None:
    """Online PIN if supported is performed; its result is 'unknown' (00)."""
    perform, calls = _performer({0x02: "unknown"})
    result = process_cvm_list(_list("4203", "1E03"), _ctx(), Tvr(), perform)
    assert result.results.hex().upper() == "420300"
    assert result.successful and calls == [0x02]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(4_999, "1F06"), (5_001, "0207"), (100_001, "1E09")],
)
def test_amount_conditions(amount: int, expected: str) -> None:
    """Rules under X / over X / over Y pick the CVM by amount in the application currency."""
    cvm = _list("1E09", "1F06", "0207", x=5_000, y=100_000)
    perform, _ = _performer({0x02: "unknown"})
    result = process_cvm_list(cvm, _ctx(amount), Tvr(), perform)
    assert result.results.hex().upper()[:4] == expected


def test_amount_conditions_need_application_currency() -> None:
    """X/Y conditions are never satisfied when the transaction is in another currency."""
    cvm = _list("1F06", "1E00", x=5_000)
    perform, _ = _performer({})
    result = process_cvm_list(cvm, _ctx(100, app_currency="0840"), Tvr(), perform)
    assert result.method == 0x1E


def test_apply_next_after_failure() -> None:
    """A failed CVM with b7 set falls through to the next rule; the failure is not final."""
    perform, calls = _performer({0x01: "failed"})
    tvr = Tvr()
    result = process_cvm_list(_list("4100", "1E00"), _ctx(), tvr, perform)
    assert calls == [0x01, 0x1E]
    assert result.method == 0x1E and result.signature_required
    assert result.results.hex().upper() == "1E0000"
    assert TvrBit.CVM_FAILED not in tvr


def test_failure_without_apply_next_ends_processing() -> None:
    """A failed CVM without b7 ends the list: CVM failed, 9F34 shows that rule with 01."""
    perform, calls = _performer({0x01: "failed"})
    tvr = Tvr()
    result = process_cvm_list(_list("0100", "1E00"), _ctx(), tvr, perform)
    assert calls == [0x01]
    assert not result.successful and result.results.hex().upper() == "010001"
    assert TvrBit.CVM_FAILED in tvr


def test_unsupported_method() -> None:
    """Condition 03 skips an unsupported CVM; condition 00 fails it and marks no PIN pad."""
    perform, calls = _performer({})
    tvr = Tvr()
    result = process_cvm_list(_list("4203", "1E03"), _ctx(caps=NO_PIN_PAD), tvr, perform)
    assert calls == [0x1E] and result.method == 0x1E
    assert TvrBit.PIN_PAD_MISSING not in tvr
    tvr = Tvr()
    result = process_cvm_list(_list("4200", "1F00"), _ctx(caps=NO_PIN_PAD), tvr, perform)
    assert result.method == 0x1F
    assert TvrBit.PIN_PAD_MISSING in tvr


def test_unrecognised_method() -> None:
    """An unknown CVM code sets 'unrecognised CVM' and counts as failed."""
    perform, _ = _performer({})
    tvr = Tvr()
    result = process_cvm_list(_list("5500", "1F00"), _ctx(), tvr, perform)
    assert TvrBit.UNRECOGNISED_CVM in tvr and result.method == 0x1F


def test_all_fail() -> None:
    """When every applicable rule fails the result is CVM failed with the last rule."""
    perform, _ = _performer({0x01: "failed", 0x04: "failed"})
    tvr = Tvr()
    result = process_cvm_list(_list("4400", "4100"), _ctx(), tvr, perform)
    assert result.results.hex().upper() == "410001"
    assert TvrBit.CVM_FAILED in tvr


def test_no_condition_satisfied() -> None:
    """If no rule's condition is met the result is 3F0001 and CVM failed."""
    perform, calls = _performer({})
    tvr = Tvr()
    result = process_cvm_list(_list("1F05", "0201"), _ctx(), tvr, perform)
    assert calls == [] and result.results.hex().upper() == "3F0001"
    assert TvrBit.CVM_FAILED in tvr


def test_fail_cvm_rule() -> None:
    """Method 00 'fail CVM processing' always fails."""
    perform, calls = _performer({})
    result = process_cvm_list(_list("0000"), _ctx(), Tvr(), perform)
    assert not result.successful and calls == []


@pytest.mark.parametrize(
    ("condition", "kind", "terminal_type", "expected"),
    [
        (0x01, "01", "25", True),  # unattended cash
        (0x01, "01", "22", False),
        (0x02, "00", "22", True),  # not cash, not cashback
        (0x02, "09", "22", False),
        (0x04, "01", "22", True),  # manual (attended) cash
        (0x05, "09", "22", True),  # purchase with cashback
        (0x0A, "00", "22", False),  # RFU condition is never satisfied
    ],
)
def test_conditions(condition: int, kind: str, terminal_type: str, expected: bool) -> None:
    """Conditions 01-05 depend on the transaction type and the terminal type."""
    rule = CvmRule(0x1F, condition)
    assert condition_satisfied(rule, _ctx(kind=kind, terminal_type=terminal_type)) is expected


def test_terminal_support_bits() -> None:
    """9F33 byte 2 bits decide support; combined CVMs need both."""
    assert terminal_supports(0x03, ALL_CVMS)
    assert not terminal_supports(0x03, bytes.fromhex("E080C8"))  # plaintext PIN only
    assert terminal_supports(0x2A, ALL_CVMS) is None
