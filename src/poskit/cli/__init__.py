"""The ``poskit`` command line (Typer + Rich).

Sub-commands live in small modules by concern; this module assembles them.
Exit codes for transaction commands: 0 approved, 1 declined, 2 could not complete.
"""

from __future__ import annotations

from poskit.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    from poskit.cli import commands  # noqa: F401  (registers the sub-commands)

    app()
