"""Registers every ``poskit`` command at once (tests and tools that need the whole CLI).

The ``poskit`` entry point does not import this module: it loads commands on demand
through :mod:`poskit.cli.registry`.
"""

from __future__ import annotations

from poskit.cli.registry import load_all

__all__: list[str] = []

load_all()
