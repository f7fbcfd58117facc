"""Wire dialects: field specs as data (``*.json``) and the model mapping per dialect.

``get_dialect("cups")`` or ``get_dialect("ascii87")`` gives an object implementing
:class:`Dialect`; terminal and host code talk to it and never to field numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from poskit.iso8583.dialects.ascii87 import Ascii87Dialect
from poskit.iso8583.dialects.base import BaseDialect, Dialect, MessagePlan
from poskit.iso8583.dialects.cups import CupsDialect
from poskit.iso8583.errors import SpecError

__all__ = [
    "DIALECT_NAMES",
    "Ascii87Dialect",
    "BaseDialect",
    "CupsDialect",
    "Dialect",
    "MessagePlan",
    "get_dialect",
]

DIALECT_NAMES = ("cups", "ascii87")

_CLASSES: dict[str, Callable[..., BaseDialect]] = {"cups": CupsDialect, "ascii87": Ascii87Dialect}


def get_dialect(name: str, *, clock: Callable[[], datetime] = datetime.now, **options: Any) -> Dialect:
    """A dialect by name. ``options`` go to the class (cups: ``tpdu``, ``header``;
    both: ``max_frame``)."""
    cls = _CLASSES.get(name)
    if cls is None:
        raise SpecError(name, f"no such dialect; choose one of {', '.join(DIALECT_NAMES)}")
    dialect: Dialect = cls(clock=clock, **options)
    return dialect
