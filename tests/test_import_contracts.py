"""The import graph: layer contracts (import-linter) and what ``poskit --version`` loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# ``poskit --version`` in a clean interpreter, then every module it loaded.
_VERSION_PROBE = """
import sys
sys.argv = ["poskit", "--version"]
import poskit.cli
try:
    poskit.cli.main()
except SystemExit:
    pass
print("MODULES", " ".join(sorted(sys.modules)))
"""


def test_import_contracts_are_kept() -> None:
    """Every contract in pyproject's [tool.importlinter] holds: the terminal imports neither host
    nor portal, the host not the portal or terminal UI, ``poskit --version``'s modules no portal,
    EMV or SQLAlchemy, the EMV, crypto and ISO 8583 layers no application layer."""
    done = subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
    assert "Contracts: 4 kept" in done.stdout


def test_version_does_not_load_portal_emv_or_orm() -> None:
    """``poskit --version`` imports neither the portal, the EMV kernel nor SQLAlchemy (its ORM
    or anything else of it)."""
    out = subprocess.run([sys.executable, "-c", _VERSION_PROBE], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("MODULES "))
    modules = set(line.split()[1:])
    assert "poskit.cli.app" in modules  # the probe did run the command line
    loaded = sorted(m for m in modules if m.startswith(("poskit.portal", "poskit.emv", "sqlalchemy")))
    assert loaded == []
