"""The ``poskit`` command line (Typer + Rich).

Sub-commands live in small modules by concern, each imported only when its command runs
(:mod:`poskit.cli.registry`).
Exit codes for transaction commands: 0 approved, 1 declined, 2 could not complete.
"""

from __future__ import annotations

from poskit.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
