"""``poskit sim``: seeded runs of terminals and the host under faults (see docs/security.md).

``--seed N`` replays one run exactly and prints its failure report; ``--seeds K`` runs
seeds ``S .. S+K-1`` with a progress bar and ends with a summary. Any failure exits 1.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from poskit.cli.app import JsonOption, app, console, emit_json, fail

__all__ = ["sim_command"]


def _result_json(result: Any) -> dict[str, Any]:
    return {
        "seed": result.seed,
        "ok": result.ok,
        "operations": result.operations,
        "host_boots": result.host_boots,
        "faults": dict(sorted(result.faults.items())),
        "violations": list(result.violations),
        "replay": result.replay_command(),
        "events": list(result.events) if not result.ok else [],
    }


@app.command("sim")
def sim_command(
    seed: Annotated[int | None, typer.Option("--seed", help="Run (replay) this one seed.")] = None,
    seeds: Annotated[
        int | None, typer.Option("--seeds", min=1, help="Run this many seeds, from --start.")
    ] = None,
    start: Annotated[int, typer.Option("--start", min=0, help="First seed of --seeds.")] = 0,
    terminals: Annotated[int, typer.Option("--terminals", min=1, help="Terminals in the world.")] = 20,
    operations: Annotated[
        int, typer.Option("--operations", min=1, help="Merchant operations in the day.")
    ] = 200,
    last: Annotated[
        int, typer.Option("--last", min=1, help="Events of a failing run's trace to print.")
    ] = 40,
    as_json: JsonOption = False,
) -> None:
    """Simulate a merchant day of terminals and the host under seeded faults; check the invariants."""
    # imported here so that `poskit --help` does not load the host, the ledger and the terminal
    from poskit.sim import SimResult, run_seed, run_seeds
    from poskit.sim.invariants import INVARIANTS

    if (seed is None) == (seeds is None):
        fail("give exactly one of --seed N or --seeds K", as_json=as_json)
    if seed is not None:
        result = run_seed(seed, terminals=terminals, operations=operations)
        if as_json:
            emit_json(_result_json(result))
        elif result.ok:
            faults = sum(result.faults.values())
            console.print(
                f"seed {seed}: ok — {result.operations} operations, {faults} faults injected, "
                f"{len(INVARIANTS)} invariants hold",
                highlight=False,
            )
        else:
            console.print(result.report(last), markup=False, highlight=False, soft_wrap=True)
        if not result.ok:
            raise typer.Exit(1)
        return

    assert seeds is not None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    failed: list[int] = []
    progress = Progress(
        TextColumn("[bold]sim"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failures {task.fields[failures]}"),
        TimeRemainingColumn(),
        console=console,
        disable=as_json,
        transient=False,
    )

    with progress:
        task = progress.add_task("seeds", total=seeds, failures=0)

        def on_result(result: SimResult) -> None:
            if not result.ok:
                failed.append(result.seed)
            progress.update(task, advance=1, failures=len(failed))

        summary = run_seeds(
            range(start, start + seeds), terminals=terminals, operations=operations, on_result=on_result
        )

    if as_json:
        emit_json(
            {
                "runs": summary.runs,
                "operations": summary.operations,
                "invariants_checked": summary.invariants_checked,
                "faults": dict(sorted(summary.faults.items())),
                "failures": [_result_json(r) for r in summary.failures],
            }
        )
    else:
        console.print(
            f"runs {summary.runs}, operations {summary.operations}, "
            f"invariants checked {summary.invariants_checked}, failures {len(summary.failures)}",
            highlight=False,
        )
        console.print(f"faults injected: {sum(summary.faults.values())}", highlight=False)
        for kind, count in sorted(summary.faults.items()):
            console.print(f"  {kind:<32} {count}", highlight=False)
        for r in summary.failures:
            console.print(f"FAILED seed {r.seed}: {r.replay_command()}", highlight=False)
            for violation in r.violations:
                console.print(f"  {violation}", markup=False, highlight=False, soft_wrap=True)
    if summary.failures:
        raise typer.Exit(1)
