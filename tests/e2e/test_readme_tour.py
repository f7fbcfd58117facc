"""The README's tour, run line by line as a new user would, on a fresh data directory.

`poskit up` is started as the README says (its own process, fresh data, free ports); then every
``poskit ...`` line of the tour's shell blocks runs as written. Where the README tells the reader to
take a value from an earlier slip (CODE, RRN, MMDD, N), the test reads it from that slip, as the reader
would. Only ``poskit terminal`` (the interactive TUI, tested in tests/terminal/ui) is not run.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.net import free_port

from poskit.demo.world import DEMO_OPERATORS, DEMO_USERS

README = Path(__file__).resolve().parents[2] / "README.md"
#: Lines a test cannot run as written: the interactive terminal app.
INTERACTIVE = {"poskit terminal"}


@dataclass(frozen=True)
class TourLine:
    command: str
    comment: str

    @property
    def expected_exit(self) -> int:
        """The README says "exit status N" where a line does not succeed (a decline is 1)."""
        found = re.search(r"exit status (\d)", self.comment)
        return int(found.group(1)) if found else 0


def tour_lines(text: str) -> list[TourLine]:
    """Every ``poskit`` command of the shell blocks from "A short tour" up to "What is in it"."""
    section = text[text.index("## A short tour") : text.index("## What is in it")]
    lines: list[TourLine] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for raw in block.splitlines():
            code, _, comment = raw.partition("  #")
            for part in code.split(";"):
                command = part.strip()
                if command.startswith("poskit ") or command == "poskit":
                    lines.append(TourLine(command, comment.strip()))
    return lines


def _png(path: Path) -> Path:
    """A small signature image: a 40x10 PNG with one dark stroke."""
    width, height = 40, 10
    rows = b"".join(
        b"\x00" + bytes(0 if y == 5 and 4 <= x <= 35 else 255 for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


@dataclass
class Demo:
    env: dict[str, str]
    cwd: Path
    banner: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`poskit up` on a fresh data directory, in its own process, as the README's first command."""
    cwd = tmp_path_factory.mktemp("tour")
    env = {
        **os.environ,
        "POSKIT_DATA_DIR": str(cwd / "poskit-data"),
        "POSKIT_HOST_PORT": str(free_port()),
        "POSKIT_PORTAL_PORT": str(free_port()),
        "COLUMNS": "200",
    }
    env.pop("POSKIT_DATABASE_URL", None)
    log = (cwd / "up.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "poskit", "up"], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while "Press Ctrl-C to stop." not in (cwd / "up.log").read_text():
            assert process.poll() is None, (cwd / "up.log").read_text()
            assert time.monotonic() < deadline, "poskit up did not start in 90 s"
            time.sleep(0.2)
        yield Demo(env, cwd, (cwd / "up.log").read_text())
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_the_tour_is_parsed_from_the_readme() -> None:
    """The parser finds the tour's lines (so the tour test below cannot pass by running nothing)."""
    commands = [line.command for line in tour_lines(README.read_text())]
    assert "poskit cards" in commands and "poskit settle" in commands and len(commands) >= 25
    assert any(c.startswith("poskit void --voucher ") for c in commands)


def test_poskit_up_prints_every_demo_login(demo: Demo) -> None:
    """The banner gives every portal login (cafe staff and the reviewer too) and the operators'."""
    for user, (password, _role, _merchant) in DEMO_USERS.items():
        assert f"{user} / {password}" in demo.banner, user
    for code, _name, _role, password in DEMO_OPERATORS:
        assert f"{code} / {password}" in demo.banner, code
    readme = README.read_text()
    for user, (password, _role, _merchant) in DEMO_USERS.items():
        assert f"| `{user}` | `{password}` |" in readme, f"README's login table lacks {user}"


def test_the_readme_tour_runs_line_by_line(demo: Demo) -> None:
    """Each tour line, as written, exits as the README says; values the README asks the reader to
    copy from a slip (CODE, RRN, MMDD, N) are copied from the slip printed before."""
    _png(demo.cwd / "signature.png")
    seen: dict[str, str] = {}
    slips: dict[str, tuple[str, str]] = {}  # sale amount -> (RRN, MMDD) read off its slip
    ran = 0
    for line in tour_lines(README.read_text()):
        if line.command in INTERACTIVE:
            continue
        command = line.command
        named = re.search(r"the (\d+\.\d\d) sale", line.comment)  # "the 66.00 sale's slip"
        if named:
            seen["RRN"], seen["MMDD"] = slips[named.group(1)]
        for placeholder in ("CODE", "RRN", "MMDD", "N"):
            if re.search(rf"(?<![\w-]){placeholder}(?![\w-])", command):
                assert placeholder in seen, f"{command!r}: no earlier slip gave {placeholder}"
                command = re.sub(rf"(?<![\w-]){placeholder}(?![\w-])", seen[placeholder], command)
        result = subprocess.run(
            [sys.executable, "-m", "poskit", *shlex.split(command)[1:]],
            cwd=demo.cwd,
            env=demo.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == line.expected_exit, (
            f"{line.command!r} exited {result.returncode}, README says {line.expected_exit}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        ran += 1
        out = result.stdout
        if line.command.startswith("poskit preauth") and (auth := re.search(r"(?:授权码 )?AUTH: (\w+)", out)):
            seen["CODE"] = auth.group(1)
        if line.command.startswith("poskit pay") and result.returncode == 0:
            # English slips (Lagos) print the labels without their Chinese
            rrn = re.search(r"(?:参考号 )?REF NO\.: (\d{12})", out)
            when = re.search(r"(?:日期时间 )?DATE/TIME: \d{4}-(\d\d)-(\d\d)", out)
            assert rrn and when, out
            slips[line.command.split()[2]] = (rrn.group(1), when.group(1) + when.group(2))
            seen.setdefault("RRN", rrn.group(1))  # "transactions show --rrn RRN": any sale's slip
        if line.command == "poskit unsigned" and (voucher := re.search(r"poskit sign --voucher (\d+)", out)):
            seen["N"] = voucher.group(1)
    assert ran >= 25
