"""Structured logging (structlog) with card-data masking applied to every event.

Nothing that reaches a log may contain a clear PAN, track, CVV, PIN, PIN block or
key: values under sensitive keys are dropped, and any digit run that looks like a
PAN (13-19 digits passing Luhn) is masked to first 6 / last 4 wherever it appears.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, Literal, TextIO

import structlog

from poskit.cards.pan import luhn_valid, mask_pan

__all__ = ["configure_logging", "get_logger", "mask_card_data", "open_log_file", "scrub_text"]

_SENSITIVE_KEYS = frozenset(
    {
        "pan",
        "track",
        "track2",
        "track_2",
        "track3",
        "cvv",
        "cvv2",
        "cvc",
        "pin",
        "pin_block",
        "pinblock",
        "key",
        "clear_key",
        "lmk",
        "password",
        "field_35",
        "field_36",
        "field_52",
    }
)
_PAN_LIKE = re.compile(r"(?<!\d)(\d{13,19})(?!\d)")
_TRACK_LIKE = re.compile(r"(?<![0-9A-F])(\d{13,19})[=D](\d{4,})", re.IGNORECASE)


def scrub_text(text: str) -> str:
    """Mask track-2-like data and Luhn-valid PAN-like digit runs inside free text."""
    text = _TRACK_LIKE.sub(lambda m: mask_pan(m.group(1)) + "=<wiped>", text)
    return _PAN_LIKE.sub(lambda m: mask_pan(m.group(1)) if luhn_valid(m.group(1)) else m.group(1), text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: ("<wiped>" if str(k).lower() in _SENSITIVE_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def mask_card_data(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the last line of defence against card data in logs."""
    for key in list(event.keys()):
        if key.lower() in _SENSITIVE_KEYS:
            event[key] = "<wiped>"
        else:
            event[key] = _scrub(event[key])
    return event


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(fmt: str = "console", level: int = logging.INFO, stream: Any = None) -> None:
    """Configure structlog once per process: JSON lines or a console renderer."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_card_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


def open_log_file(path: Path, mode: Literal["a", "w"] = "a") -> TextIO:
    """Open a log file for writing; a new file is created owner-only (0600)."""
    append = mode == "a"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC), 0o600)
    return os.fdopen(fd, "a", encoding="utf-8") if append else os.fdopen(fd, "w", encoding="utf-8")
