"""Log masking: no PAN, track, PIN or key ever reaches a log line."""

from __future__ import annotations

import io
import json

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
