"""``poskit pay`` loads what a swipe needs: no Alembic, EMV kernel, chip simulator, host or portal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from poskit.config import Settings
from poskit.testing import LiveServices

# Run `poskit pay ARGS` in a clean interpreter; print its exit code and every module it loaded.
_PAY_PROBE = """
import sys
sys.argv = ["poskit", "pay", *sys.argv[1:]]
import poskit.cli
code = 0
try:
    poskit.cli.main()
except SystemExit as exc:
    code = exc.code
print("EXIT", code)
print("MODULES", " ".join(sorted(sys.modules)))
"""

_NOT_FOR_A_SWIPE = (
    "alembic",
    "poskit.emv.kernel",
    "poskit.emv.contactless",
    "poskit.emv.oda",
    "poskit.emv.capk",
    "poskit.cards.icc",
    "poskit.host",
    "poskit.portal",
    "sqlalchemy.orm",
)


def test_swipe_sale_imports_neither_alembic_nor_chip_host_or_portal(
    demo_settings: Settings, live_host: LiveServices
) -> None:
    """A magstripe sale against the running host is approved, and the process never imported
    Alembic (the terminal store is at its schema head), the EMV kernel (ODA, CA keys) or chip
    simulator, the host, the portal or SQLAlchemy's ORM."""
    args = ["1.00", "--card", "magstripe-debit", "--pin", "654321", "--host", live_host.address, "--json"]
    out = subprocess.run(
        [sys.executable, "-c", _PAY_PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "POSKIT_DATA_DIR": str(demo_settings.data_dir)},
        check=True,
    )
    lines = out.stdout.splitlines()
    outcome = json.loads(next(x for x in lines if x.startswith("{")))
    assert outcome["status"] == "approved", outcome
    assert "EXIT 0" in lines
    modules = next(x for x in lines if x.startswith("MODULES ")).split()[1:]
    assert "poskit.terminal.engine" in modules  # the probe did run a sale
    assert sorted(m for m in modules if m.startswith(_NOT_FOR_A_SWIPE)) == []
