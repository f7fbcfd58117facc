"""One version number: the package's, shown by the CLI, the portal's footer and its API."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import poskit


def test_cli_footer_and_api_give_the_package_version(portal: Callable[..., Any]) -> None:
    """`poskit --version`, the footer of a portal page and the OpenAPI document agree with the
    installed package's metadata (no second number such as a portal "1.0.0")."""
    version = poskit.__version__
    assert importlib.metadata.version("poskit") == version
    cli = subprocess.run(
        [sys.executable, "-m", "poskit", "--version"], capture_output=True, text=True, check=True
    )
    assert cli.stdout.strip() == f"poskit {version}"
    page = portal("cafe").get("/")
    assert f"poskit {version} ·" in page.text
    assert portal(None).get("/openapi.json").json()["info"]["version"] == version
