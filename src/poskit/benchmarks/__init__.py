"""Benchmarks behind ``poskit bench NAME``: speed is measured here, never in unit tests.

Each module ``poskit.benchmarks.<name>`` defines ``DESCRIPTION`` and
``run(*, quick: bool) -> BenchResult``. ``poskit bench NAME --record`` writes the
result into docs/benchmarks.md together with the machine it ran on.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["BenchResult", "available", "load", "machine", "record"]


@dataclasses.dataclass
class BenchResult:
    """Named figures (``rows``: label -> value with unit) and free-form notes."""

    name: str
    title: str
    rows: list[tuple[str, str]]
    notes: list[str] = dataclasses.field(default_factory=list)
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            f"## {self.title}",
            "",
            f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on: {machine()}",
            "",
            "| measure | result |",
            "|---|---|",
        ]
        lines += [f"| {label} | {value} |" for label, value in self.rows]
        if self.notes:
            lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def available() -> dict[str, str]:
    """Benchmark name -> description."""
    import poskit.benchmarks as package

    out: dict[str, str] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"poskit.benchmarks.{info.name}")
            if hasattr(module, "run"):
                out[info.name] = str(getattr(module, "DESCRIPTION", ""))
    return dict(sorted(out.items()))


def load(name: str) -> Callable[..., BenchResult]:
    if name not in available():
        raise LookupError(f"no benchmark {name!r}; available: {', '.join(available())}")
    module = importlib.import_module(f"poskit.benchmarks.{name}")
    return module.run  # type: ignore[no-any-return]


def record(result: BenchResult, path: Path) -> None:
    """Replace (or append) this benchmark's section in docs/benchmarks.md."""
    text = (
        path.read_text() if path.exists() else "# Benchmarks\n\nFigures from `poskit bench NAME --record`.\n"
    )
    marker_start, marker_end = f"<!-- bench:{result.name} -->", f"<!-- /bench:{result.name} -->"
    block = f"{marker_start}\n{result.markdown()}{marker_end}"
    if marker_start in text and marker_end in text:
        head, rest = text.split(marker_start, 1)
        _, tail = rest.split(marker_end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
