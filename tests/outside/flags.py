"""What the acquirer sees about a terminal: the flags of ``poskit terminals show --json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers every command)
from poskit.cli.app import app

__all__ = ["flag_kinds", "terminal_flags"]


def terminal_flags(data_dir: Path, terminal_id: str) -> list[dict[str, Any]]:
    """The terminal's open flags (kind, severity, summary, ...), as ``poskit terminals show`` lists them."""
    args = ["terminals", "show", terminal_id, "--json", "--data-dir", str(data_dir)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output)["flags"])


def flag_kinds(data_dir: Path, terminal_id: str) -> list[str]:
    """The kinds of the terminal's open flags."""
    return [str(flag["kind"]) for flag in terminal_flags(data_dir, terminal_id)]
