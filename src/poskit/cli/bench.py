"""``poskit bench NAME``: run a benchmark, optionally recording it in docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from poskit.benchmarks import available, load, record
from poskit.cli.app import JsonOption, app, console, emit_json, fail
from poskit.eventloop import EventLoopUnavailableError, LoopChoice

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
    mode: Annotated[
        str, typer.Option("--mode", help="host: closed (saturation) or open (fixed offered rate).")
    ] = "closed",
    terminals: Annotated[
        int | None, typer.Option("--terminals", help="host: terminals (default 200).")
    ] = None,
    rate: Annotated[float, typer.Option("--rate", help="host, open loop: requests per second.")] = 1000.0,
    seconds: Annotated[float, typer.Option("--seconds", help="host, open loop: duration.")] = 60.0,
    requests: Annotated[
        int | None, typer.Option("--requests", help="host, closed loop: requests in all (default 12,000).")
    ] = None,
    idle: Annotated[
        int | None, typer.Option("--idle", help="host: idle terminals for the RSS figure (default 10,000).")
    ] = None,
    mix: Annotated[
        str,
        typer.Option("--mix", help="host: magstripe | chip | contactless | mixed (chip ARQCs are real)."),
    ] = "magstripe",
    loop: Annotated[
        LoopChoice, typer.Option("--loop", help="host: the host's event loop (auto, uvloop, asyncio).")
    ] = "auto",
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
    options: dict[str, Any] = {}
    if name == "host":
        options = {
            "mode": mode,
            "terminals": terminals,
            "rate": rate,
            "seconds": seconds,
            "requests": requests,
            "idle": idle,
            "loop": loop,
            "mix": mix,
        }
    try:
        result = run(quick=quick, **options)
    except (ValueError, EventLoopUnavailableError) as exc:
        fail(str(exc), as_json=as_json)
    if record_to is not None:
        record(result, record_to)
    if as_json:
        emit_json({"name": result.name, "rows": dict(result.rows), "notes": result.notes, **result.data})
    else:
        console.print(result.markdown(), markup=False, highlight=False)
