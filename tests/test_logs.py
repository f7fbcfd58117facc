"""Log masking: no PAN, track, PIN or key ever reaches a log line."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

from poskit.logs import configure_logging, get_logger, scrub_text


def test_scrub_masks_luhn_pans_and_tracks_only() -> None:
    """Luhn-valid PAN-like digit runs are masked, tracks wiped; other numbers stay."""
    text = "pan 6222021001123456789 track 4761739001010010=30122011234 rrn 123456789012 id 1234567890123"
    out = scrub_text(text)
    assert "6222021001123456789" not in out and "622202*********6789" in out
    assert "30122011234" not in out
    assert "123456789012" in out  # an RRN is not a PAN


def test_logger_wipes_sensitive_keys_and_masks_values() -> None:
    """Events with pan/pin/key fields or PANs inside text are scrubbed before rendering."""
    buffer = io.StringIO()
    configure_logging("json", stream=buffer)
    get_logger("t").info(
        "sale", pan="4761739001010010", pin_block="0412AC89B7FF1234", note="card 4761739001010010"
    )
    line = json.loads(buffer.getvalue())
    assert line["pan"] == "<wiped>" and line["pin_block"] == "<wiped>"
    assert "4761739001010010" not in buffer.getvalue()
    configure_logging("console")


def test_log_files_are_created_0600(tmp_path: Path) -> None:
    """open_log_file creates a new log owner-only, in append and in truncate mode."""

    from poskit.logs import open_log_file

    for name, mode in (("a.log", "a"), ("w.log", "w")):
        with open_log_file(tmp_path / name, mode) as stream:
            stream.write("line\n")
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    with open_log_file(tmp_path / "a.log") as stream:
        stream.write("more\n")
    assert (tmp_path / "a.log").read_text() == "line\nmore\n"
