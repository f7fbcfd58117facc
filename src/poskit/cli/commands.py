"""Imports every sub-command module so that each registers itself on the root app."""

from __future__ import annotations

from poskit.cli import cards, pay, serve, users  # noqa: F401

__all__: list[str] = []
