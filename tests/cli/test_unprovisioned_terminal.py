"""A terminal whose store exists but was never provisioned (e.g. set-up cut short)."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_pay_at_an_unprovisioned_terminal_says_so_and_exits_2(tmp_path: Path) -> None:
    """`poskit pay` answers with the reason and what to do (exit 2), not a traceback."""
    data_dir = _unprovisioned(tmp_path)
    args = ["pay", "1.00", "--card", "magstripe-debit", "--terminal", "30000001"]
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    error = str(_json(result.stdout)["error"])
    assert "not provisioned" in error and "poskit up" in error


def test_counter_command_at_an_unprovisioned_terminal_says_so_and_exits_2(tmp_path: Path) -> None:
    """A counter command with an amount (pre-authorisation) reports the same, exit 2."""
    data_dir = _unprovisioned(tmp_path)
    args = ["preauth", "300.00", "--card", "magstripe-debit", "--terminal", "30000001"]
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "not provisioned" in str(_json(result.stdout)["error"])
