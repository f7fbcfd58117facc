"""``poskit host --loop`` and ``poskit up --loop`` choose the event loop the services run on."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import uvloop
from typer.testing import CliRunner

import poskit.cli.serve as serve
from poskit.cli.app import app

runner = CliRunner()


@pytest.fixture
def loops(monkeypatch: pytest.MonkeyPatch) -> list[asyncio.AbstractEventLoop]:
    """Replace the services with a coroutine that records the loop it runs on."""
    seen: list[asyncio.AbstractEventLoop] = []

    async def fake_run_services(settings: Any, **kwargs: Any) -> None:
        seen.append(asyncio.get_running_loop())

    monkeypatch.setattr(serve, "run_services", fake_run_services)
    monkeypatch.setattr(serve, "provision_demo", lambda settings: type("S", (), {"created": False})())
    return seen


@pytest.mark.parametrize("command", ["host", "up"])
@pytest.mark.parametrize(("choice", "is_uvloop"), [("uvloop", True), ("asyncio", False), ("auto", True)])
def test_loop_option_selects_the_loop(
    loops: list[asyncio.AbstractEventLoop], tmp_path: Path, command: str, choice: str, is_uvloop: bool
) -> None:
    """The services run on uvloop for ``uvloop`` and ``auto`` (uvloop installed), on the stdlib
    loop for ``asyncio``."""
    result = runner.invoke(app, [command, "--data-dir", str(tmp_path), "--loop", choice])
    assert result.exit_code == 0, result.output
    assert len(loops) == 1
    assert isinstance(loops[0], uvloop.Loop) is is_uvloop


def test_default_without_uvloop_is_the_stdlib_loop(
    loops: list[asyncio.AbstractEventLoop], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With uvloop not importable the host still starts, on the stdlib loop."""
    monkeypatch.setitem(sys.modules, "uvloop", None)
    result = runner.invoke(app, ["host", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(loops) == 1 and not isinstance(loops[0], uvloop.Loop)


def test_uvloop_required_but_missing_fails_before_starting(
    loops: list[asyncio.AbstractEventLoop], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--loop uvloop`` without uvloop exits 2 with the reason and starts nothing."""
    monkeypatch.setitem(sys.modules, "uvloop", None)
    result = runner.invoke(app, ["host", "--data-dir", str(tmp_path), "--loop", "uvloop"])
    assert result.exit_code == 2
    assert "uvloop package is not installed" in result.output
    assert loops == []


def test_unknown_loop_is_a_usage_error(loops: list[asyncio.AbstractEventLoop], tmp_path: Path) -> None:
    """An unknown ``--loop`` value is rejected by the option parser."""
    result = runner.invoke(app, ["host", "--data-dir", str(tmp_path), "--loop", "trio"])
    assert result.exit_code == 2
    assert loops == []
