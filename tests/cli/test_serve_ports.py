"""`poskit up` on a port something else holds: one plain sentence, no traceback, nothing started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.net import free_port


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo data directory for both cases (seeded by the first)."""
    return tmp_path_factory.mktemp("busy-port") / "data"


def _held_port() -> socket.socket:
    return socket.create_server(("127.0.0.1", 0))


@pytest.mark.parametrize(
    ("busy", "service", "setting"),
    [("portal", "portal", "POSKIT_PORTAL_PORT"), ("host", "ISO 8583 host", "POSKIT_HOST_PORT")],
)
def test_a_busy_port_is_named_with_the_setting_that_moves_it(
    data_dir: Path, busy: str, service: str, setting: str
) -> None:
    """The message names the service, the address and the setting; exit status 1; no uvicorn
    "ERROR:" line and no traceback; exit status 2."""
    holder = _held_port()
    try:
        taken = holder.getsockname()[1]
        ports = {"portal": free_port(), "host": free_port(), busy: taken}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "poskit",
                "up",
                "--data-dir",
                str(data_dir),
                "--host-port",
                str(ports["host"]),
                "--portal-port",
                str(ports["portal"]),
            ],
            env={**os.environ, "COLUMNS": "300"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.close()
    output = result.stdout + result.stderr
    assert result.returncode == 2, output  # "could not complete", as every refused start
    assert f"the {service} port 127.0.0.1:{taken} is already in use" in output, output
    assert setting in output, output
    assert "Traceback" not in output and "ERROR:" not in output, output
    assert "poskit is running" not in output, output
