"""Imports every sub-command module of :mod:`poskit.cli` so that each registers itself.

New command modules need no edit here: any module in this package that defines
commands on :data:`poskit.cli.app.app` is picked up.
"""

from __future__ import annotations

import importlib
import pkgutil

import poskit.cli as _package

__all__: list[str] = []

_SKIP = {"app", "commands"}

for _info in sorted(pkgutil.iter_modules(_package.__path__), key=lambda m: m.name):
    if _info.name not in _SKIP and not _info.name.startswith("_"):
        importlib.import_module(f"poskit.cli.{_info.name}")
