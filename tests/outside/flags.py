"""What the acquirer sees about a terminal: the flags of ``poskit terminals show --json``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers every command)
from poskit.cli.app import app

__all__ = ["flag_kinds"]


def flag_kinds(data_dir: Path, terminal_id: str) -> list[str]:
    """The kinds of the terminal's open flags, as ``poskit terminals show`` lists them."""
    args = ["terminals", "show", terminal_id, "--json", "--data-dir", str(data_dir)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return [str(flag["kind"]) for flag in json.loads(result.output)["flags"]]
