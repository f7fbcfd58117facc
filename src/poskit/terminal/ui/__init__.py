"""The terminal app (``poskit terminal``): a Textual POS device over the terminal engine."""

from __future__ import annotations

__all__ = ["PosApp"]


def __getattr__(name: str) -> object:
    # Textual is imported only when the app is used, not by every import of poskit.terminal.ui
    if name == "PosApp":
        from poskit.terminal.ui.app import PosApp

        return PosApp
    raise AttributeError(name)
