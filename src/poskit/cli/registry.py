"""Which module defines each ``poskit`` command, so a command imports only what it uses.

``poskit --version`` and ``poskit pay`` must not pay for the portal, the ledger or the
EMV kernel. The root group (:mod:`poskit.cli.app`) asks this registry for the module of
the command being run and imports that module alone; the module registers its commands
on the root Typer app as usual.

Adding a command: write the module as before (``@app.command`` / ``app.add_typer`` in
``poskit/cli/NAME.py``) and add one line per top-level command name to
:data:`COMMAND_MODULES`. A module that is not listed still works — an unknown name or
``poskit --help`` imports every unlisted module — it only loses the fast start.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Final

import poskit.cli as _package

__all__ = ["COMMAND_MODULES", "load_all", "load_command", "unlisted_modules"]

#: Top-level command name -> module under ``poskit.cli`` that registers it.
COMMAND_MODULES: Final[Mapping[str, str]] = {
    "balance": "counter",
    "bench": "bench",
    "cards": "cards",
    "complete": "counter",
    "complete-void": "counter",
    "disputes": "disputes",
    "emv": "emv",
    "fees": "fees",
    "fuzz": "fuzz",
    "host": "serve",
    "hsm": "hsm",
    "issuer": "issuer",
    "keys": "keys",
    "ledger": "ledger",
    "login": "counter",
    "logout": "counter",
    "merchants": "merchants",
    "pay": "pay",
    "preauth": "counter",
    "preauth-void": "counter",
    "query": "counter",
    "refund": "counter",
    "reprint": "counter",
    "settle": "counter",
    "settle-day": "settlement",
    "settlement": "settlement",
    "sign": "counter",
    "sim": "sim",
    "terminal": "terminal_app",
    "terminals": "terminals",
    "totals": "counter",
    "transactions": "transactions",
    "unsigned": "counter",
    "up": "serve",
    "users": "users",
    "void": "counter",
}

# Infrastructure modules of the package, which define no commands.
_INFRASTRUCTURE: Final = frozenset({"app", "commands", "registry"})


def _import(module: str) -> None:
    importlib.import_module(f"{_package.__name__}.{module}")


def unlisted_modules() -> list[str]:
    """Command modules in the package that :data:`COMMAND_MODULES` does not name."""
    listed = set(COMMAND_MODULES.values())
    return sorted(
        info.name
        for info in pkgutil.iter_modules(_package.__path__)
        if info.name not in listed and info.name not in _INFRASTRUCTURE and not info.name.startswith("_")
    )


def load_command(name: str) -> None:
    """Import the module that registers command ``name`` (every unlisted module if unknown)."""
    module = COMMAND_MODULES.get(name)
    if module is None:
        for unlisted in unlisted_modules():
            _import(unlisted)
    else:
        _import(module)


def load_all() -> None:
    """Import every command module (for ``--help`` and for tests that drive the whole CLI)."""
    for module in sorted(set(COMMAND_MODULES.values())) + unlisted_modules():
        _import(module)
