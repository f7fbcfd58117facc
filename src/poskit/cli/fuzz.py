"""``poskit fuzz TARGET --runs N``: fuzz one byte parser (see docs/security.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from poskit.cli.app import app, console, fail
from poskit.fuzz.runner import FuzzFinding, fuzz_with_atheris, replay
from poskit.fuzz.targets import TARGETS

__all__ = ["fuzz_command"]


@app.command("fuzz")
def fuzz_command(
    target: Annotated[str | None, typer.Argument(help="Target to fuzz (omit to list them).")] = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Number of executions.")] = 100_000,
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Corpus folder atheris keeps (default .fuzz/TARGET).")
    ] = None,
    replay_only: Annotated[
        bool, typer.Option("--replay", help="Seeded mutation replay without atheris (what the suite runs).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --replay mutations.")] = 0,
) -> None:
    """Fuzz a parser that faces the outside (coverage-guided with atheris)."""
    if target is None:
        for name, function in TARGETS.items():
            doc = (function.__doc__ or "ISO 8583 message decoder").splitlines()[0]
            console.print(f"[bold]{name}[/]  {doc}")
        return
    if target not in TARGETS:
        fail(f"no fuzz target {target!r} (have: {', '.join(TARGETS)})")
    if replay_only:
        try:
            result = replay(target, runs=runs, seed=seed)
        except FuzzFinding as finding:
            fail(str(finding))
        console.print(f"{target}: {result.executions} executions, no finding")
        return
    try:
        import atheris  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        fail("atheris is not installed: pip install -e '.[fuzz]' (or use --replay)")
    fuzz_with_atheris(target, runs=runs, corpus_dir=corpus or Path(".fuzz") / target)
