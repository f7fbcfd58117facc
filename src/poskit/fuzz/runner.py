"""Running fuzz targets: coverage-guided under atheris, or a seeded mutation replay.

atheris (libFuzzer) drives ``poskit fuzz``; it exits the process when done, so the
suite uses :func:`replay` instead: the same targets on the seed and regression corpus
plus deterministic byte-level mutations of it (flip, insert, delete, splice, truncate).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from poskit.fuzz.corpus import regressions, seeds
from poskit.fuzz.targets import TARGETS

__all__ = ["FuzzFinding", "ReplayResult", "fuzz_with_atheris", "mutate", "replay"]


class FuzzFinding(AssertionError):
    """A target raised something other than its documented error for ``data``."""

    def __init__(self, target: str, data: bytes, error: str) -> None:
        super().__init__(f"{target}: {error} for input {data.hex()}")
        self.target = target
        self.data = data
        self.error = error


@dataclass(frozen=True, slots=True)
class ReplayResult:
    target: str
    executions: int


def _target(name: str) -> Callable[[bytes], None]:
    try:
        return TARGETS[name]
    except KeyError:
        raise LookupError(f"no fuzz target {name!r} (have: {', '.join(TARGETS)})") from None


def mutate(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    """One random byte-level mutation of ``data``."""
    buf = bytearray(data)
    op = rng.randrange(6)
    if op == 0 and buf:
        buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif op == 1:
        buf.insert(rng.randrange(len(buf) + 1), rng.randrange(256))
    elif op == 2 and buf:
        del buf[rng.randrange(len(buf))]
    elif op == 3 and buf:
        buf[rng.randrange(len(buf))] = rng.choice((0x00, 0x7F, 0x80, 0x81, 0x82, 0xFF, 0x1F, 0x30))
    elif op == 4:
        other = rng.choice(corpus)
        cut = rng.randrange(len(buf) + 1)
        buf = buf[:cut] + other[rng.randrange(len(other) + 1) :]
    else:
        buf = buf[: rng.randrange(len(buf) + 1)]
    return bytes(buf)


def replay(name: str, *, runs: int, seed: int = 0) -> ReplayResult:
    """Run ``name`` on its corpus and ``runs`` mutations of it; raise :class:`FuzzFinding`."""
    target = _target(name)
    corpus = seeds(name) + regressions(name)
    rng = random.Random(seed)
    executions = 0
    inputs = iter(corpus)
    for _ in range(len(corpus) + runs):
        data = next(inputs, None)
        if data is None:
            data = rng.choice(corpus)
            for _ in range(rng.randrange(1, 4)):
                data = mutate(data, rng, corpus)
        try:
            target(data)
        except Exception as exc:
            raise FuzzFinding(name, data, f"{type(exc).__name__}: {exc}") from exc
        executions += 1
    return ReplayResult(name, executions)


def fuzz_with_atheris(name: str, *, runs: int, corpus_dir: Path) -> None:
    """Coverage-guided fuzzing of ``name`` under atheris for ``runs`` executions (exits).

    ``corpus_dir`` is seeded with the target's corpus; libFuzzer adds what it finds there
    and writes any crashing input to ``crash-*`` in the current directory.
    """
    import atheris  # type: ignore[import-untyped]  # the optional "fuzz" extra

    target = _target(name)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for index, data in enumerate(seeds(name) + regressions(name)):
        (corpus_dir / f"seed-{index:03d}").write_bytes(data)
    atheris.instrument_all()
    args = [sys.argv[0], f"-runs={runs}", "-timeout=5", "-rss_limit_mb=1024", "-print_final_stats=1"]
    atheris.Setup([*args, str(corpus_dir)], target)
    atheris.Fuzz()
