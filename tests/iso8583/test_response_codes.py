"""The response-code table: texts in both languages and the terminal action."""

from __future__ import annotations

import pytest

from poskit.iso8583.response_codes import (
    RESPONSE_CODES,
    REVERSAL_REASONS,
    TerminalAction,
    is_approved,
    response_info,
    response_text,
    terminal_action,
)

# china-pos-domain.md §1.8 (HX123S response-code table) plus the codes the host sends.
REQUIRED = [
    "00",
    "01",
    "03",
    "04",
    "05",
    "06",
    "10",
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "25",
    "30",
    "34",
    "38",
    "40",
    "41",
    "43",
    "45",
    "51",
    "54",
    "55",
    "57",
    "58",
    "59",
    "61",
    "62",
    "64",
    "65",
    "68",
    "75",
    "77",
    "90",
    "91",
    "92",
    "94",
    "96",
    "97",
    "98",
    "99",
    "A0",
    "A7",
]


@pytest.mark.parametrize("code", REQUIRED)
def test_every_required_code_has_both_texts(code: str) -> None:
    """Each code of china-pos-domain.md §1.8 has an English and a Chinese text."""
    info = RESPONSE_CODES[code]
    assert info.en and info.zh and info.zh != info.en
    assert response_text(code, "zh") == info.zh and response_text(code) == info.en
    assert response_text(code, "zh_CN") == info.zh


@pytest.mark.parametrize(
    ("code", "action"),
    [
        ("00", TerminalAction.APPROVED),
        ("10", TerminalAction.APPROVED),
        ("55", TerminalAction.REENTER_PIN),
        ("A0", TerminalAction.SIGN_ON),
        ("99", TerminalAction.SIGN_ON),
        ("77", TerminalAction.SIGN_ON),
        ("45", TerminalAction.USE_CHIP),
        ("01", TerminalAction.CALL_ISSUER),
        ("41", TerminalAction.PICK_UP),
        ("96", TerminalAction.RETRY),
        ("51", TerminalAction.DECLINED),
        ("97", TerminalAction.CONTACT_ACQUIRER),
    ],
)
def test_terminal_actions(code: str, action: TerminalAction) -> None:
    """MAC/PIN-format errors force a sign-on, 55 re-prompts the PIN, 45 asks for the chip."""
    assert terminal_action(code) is action


def test_approval() -> None:
    """00/10/11 approve; 05 and 51 decline."""
    assert is_approved("00") and is_approved("10") and is_approved("11")
    assert not is_approved("05") and not is_approved("51")


def test_unknown_code_reads_as_a_decline() -> None:
    """An unknown code still gets texts and the decline action."""
    info = response_info("Q7")
    assert info.action is TerminalAction.DECLINED and "Q7" in info.en and "Q7" in info.zh


def test_reversal_reasons() -> None:
    """98 (timeout), 06 (unusable response) and A0 (MAC error) are the reversal reasons."""
    assert set(REVERSAL_REASONS) == {"98", "06", "A0"}
    assert all(code in RESPONSE_CODES for code in REVERSAL_REASONS)
