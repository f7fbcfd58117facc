"""The public test cards as a third party gets them: the output of ``poskit cards --json``."""

from __future__ import annotations

import functools
import json
from typing import Any

from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers every command)
from poskit.cli.app import app

__all__ = ["book_card"]


@functools.cache
def _book() -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(app, ["cards", "--json"])
    assert result.exit_code == 0, result.output
    return {card["name"]: card for card in json.loads(result.output)}


def book_card(name: str) -> dict[str, Any]:
    """One card of the book: pan, pin, expiry, service_code, track2, track2_equivalent, ..."""
    return _book()[name]
