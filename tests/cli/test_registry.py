"""The lazy command registry: each ``poskit`` command imports only the module that defines it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from poskit.cli import app, registry

# Run ``poskit --version`` in a clean interpreter and print the modules it imported.
_VERSION_PROBE = """
import sys
sys.argv = ["poskit", "--version"]
import poskit.cli
try:
    poskit.cli.main()
except SystemExit:
    pass
print("MODULES", " ".join(sorted(sys.modules)))
"""

_HEAVY = (
    "poskit.portal",
    "poskit.emv.kernel",
    "poskit.host.server",
    "sqlalchemy",
    "pydantic_settings",
    "fastapi",
    "textual",
)


def _modules_after_version() -> set[str]:
    out = subprocess.run([sys.executable, "-c", _VERSION_PROBE], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


def test_version_imports_no_heavy_module() -> None:
    """``poskit --version`` loads neither the portal, the EMV kernel, the host server,
    SQLAlchemy, pydantic-settings, FastAPI nor Textual, nor any command module."""
    modules = _modules_after_version()
    heavy = sorted(m for m in modules if m.startswith(_HEAVY))
    assert heavy == []
    commands = sorted(
        m
        for m in modules
        if m.startswith("poskit.cli.") and m.rsplit(".", 1)[1] in registry.COMMAND_MODULES.values()
    )
    assert commands == []


@pytest.mark.parametrize("name", sorted(registry.COMMAND_MODULES))
def test_registered_module_defines_its_command(name: str) -> None:
    """Every name in the registry is a top-level command registered by the module it names."""
    registry.load_command(name)
    group = typer.main.get_group(app)
    assert name in group.commands


def test_lookup_loads_the_command() -> None:
    """The root group finds a command by name through the registry."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    with typer.Context(group) as ctx:
        command = group.get_command(ctx, "pay")
    assert command is not None and command.name == "pay"


# Run ``poskit fuzz --help`` with the fuzz module left out of the registry.
_UNLISTED_PROBE = """
import sys
import poskit.cli.registry as registry
registry.COMMAND_MODULES = {k: v for k, v in registry.COMMAND_MODULES.items() if v != "fuzz"}
sys.argv = ["poskit", "fuzz", "--help"]
import poskit.cli
poskit.cli.main()
"""


def test_unlisted_module_still_provides_its_command() -> None:
    """A command module missing from the registry is still found (by loading unlisted modules)."""
    out = subprocess.run(
        [sys.executable, "-c", _UNLISTED_PROBE],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stderr
    assert "Usage: poskit fuzz" in out.stdout
