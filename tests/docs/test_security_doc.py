"""docs/security.md names real tests: every ``tests/...py::test_name`` it cites exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "security.md"
NODE_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_every_test_named_in_security_doc_exists() -> None:
    """Each node id in docs/security.md is a test function in the file it names."""
    cited = NODE_ID.findall(DOC.read_text(encoding="utf-8"))
    assert len(cited) >= 30  # the bad-input table, the fuzz and the simulator sections
    missing = [
        f"{file}::{name}"
        for file, name in cited
        if not (ROOT / file).is_file() or name not in _test_functions(ROOT / file)
    ]
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"


def test_every_row_of_the_bad_input_table_names_a_test() -> None:
    """No row of the bad-input table is a claim without a test to show it."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## Bad-input table", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| Hostile")]
    assert len(rows) >= 20
    assert [row for row in rows if not NODE_ID.search(row)] == []
