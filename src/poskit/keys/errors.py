"""The one error type of the key-management flows."""

from __future__ import annotations

__all__ = ["KeyManagementError"]


class KeyManagementError(ValueError):
    """A key-management flow cannot run; the message says why and what to do (one line)."""
