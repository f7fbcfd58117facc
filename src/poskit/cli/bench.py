"""``poskit bench NAME``: run a benchmark, optionally recording it in docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from poskit.benchmarks import available, load, record
from poskit.cli.app import JsonOption, app, console, emit_json, fail

__all__ = ["bench_command"]


@app.command("bench")
def bench_command(
    name: Annotated[str | None, typer.Argument(help="Benchmark to run (omit to list them).")] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="A short run (smoke test of the benchmark).")
    ] = False,
    record_to: Annotated[
        Path | None,
        typer.Option("--record", help="Write the result into this markdown file (e.g. docs/benchmarks.md)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Measure speed on this machine (hsm, settle, emv, host ...)."""
    if name is None:
        for bench, description in available().items():
            console.print(f"[bold]{bench}[/]  {description}")
        return
    try:
        run = load(name)
    except LookupError as exc:
        fail(str(exc), as_json=as_json)
    result = run(quick=quick)
    if record_to is not None:
        record(result, record_to)
    if as_json:
        emit_json({"name": result.name, "rows": dict(result.rows), "notes": result.notes, **result.data})
    else:
        console.print(result.markdown(), markup=False, highlight=False)
