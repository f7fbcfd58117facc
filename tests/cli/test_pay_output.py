"""What `poskit pay` prints for an outcome: the decline's text once, its code once."""

from __future__ import annotations

import pytest
import typer

from poskit.cli import pay
from poskit.terminal.engine import TxnOutcome


def _printed(outcome: TxnOutcome, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(typer.Exit):
        pay.print_outcome(outcome, as_json=False)
    return capsys.readouterr().out


def test_a_card_decline_that_names_its_code_shows_it_once(capsys: pytest.CaptureFixture[str]) -> None:
    """ "declined offline by the card (Z1)" is not followed by "(code Z1)" again."""
    out = _printed(TxnOutcome("declined", "declined offline by the card (Z1)", "Z1"), capsys)
    assert out.count("Z1") == 1, out


def test_a_host_decline_gets_its_code_appended(capsys: pytest.CaptureFixture[str]) -> None:
    """A message without its code gets "(code 51)" so the merchant can quote it to support."""
    out = _printed(TxnOutcome("declined", "declined: Insufficient funds", "51"), capsys)
    assert "declined: Insufficient funds (code 51)" in out, out
