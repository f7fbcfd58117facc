"""A terminal whose store exists but was never provisioned (e.g. set-up cut short)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers the sub-commands)
from poskit.cli.app import app
from poskit.config import Settings
from poskit.terminal.runtime import terminal_files
from poskit.terminal.store import TerminalStore

runner = CliRunner()


def _unprovisioned(tmp_path: Path) -> Path:
    store_file, _ = terminal_files(Settings(data_dir=tmp_path), "30000001")
    TerminalStore.open(store_file).close()  # schema only, no profile
    return tmp_path


def _json(stdout: str) -> dict[str, object]:
    line = next(line for line in reversed(stdout.splitlines()) if line.startswith("{"))
    parsed: dict[str, object] = json.loads(line)
    return parsed


@pytest.mark.parametrize(
    "command",
    [
        ["pay", "1.00", "--card", "magstripe-debit"],
        ["preauth", "300.00", "--card", "magstripe-debit"],  # a counter command with an amount
    ],
    ids=["pay", "preauth"],
)
def test_an_unprovisioned_terminal_is_reported_with_exit_2(tmp_path: Path, command: list[str]) -> None:
    """`poskit pay` and the counter commands answer with the reason and what to do (exit 2),
    not a traceback."""
    data_dir = _unprovisioned(tmp_path)
    args = [*command, "--terminal", "30000001", "--data-dir", str(data_dir), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    error = str(_json(result.stdout)["error"])
    assert "not provisioned" in error and "poskit up" in error
