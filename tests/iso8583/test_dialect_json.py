"""The dialect JSON files have the shape docs/protocol.md (intro, §11) describes."""

from __future__ import annotations

import json
from pathlib import Path

import iso8583
import pytest

DIALECTS = Path(__file__).resolve().parents[2] / "src" / "poskit" / "iso8583" / "dialects"
PYISO_KEYS = ("data_enc", "len_enc", "len_type", "max_len", "desc")
OPTIONAL_KEYS = ("len_count", "left_pad", "right_pad")


@pytest.mark.parametrize("name", ["cups", "ascii87"])
def test_field_specs_are_the_entries_under_fields(name: str) -> None:
    """Top level: name, description, mac_field, fields; every entry of `fields` is a pyiso8583 field spec."""
    data = json.loads((DIALECTS / f"{name}.json").read_text())
    assert set(data) == {"name", "description", "mac_field", "fields"}
    assert str(data["mac_field"]) in data["fields"]
    assert {"h", "t", "p"} <= set(data["fields"])
    for key, entry in data["fields"].items():
        assert all(k in entry for k in PYISO_KEYS), key


def test_the_entries_under_fields_encode_a_message_as_a_pyiso8583_spec() -> None:
    """The spec built as §11 says (pyiso8583 keys of each `fields` entry) encodes and decodes a message."""
    data = json.loads((DIALECTS / "cups.json").read_text())
    spec = {k: {x: v[x] for x in PYISO_KEYS + OPTIONAL_KEYS if x in v} for k, v in data["fields"].items()}
    doc = {"t": "0800", "11": "000001", "41": "12345678", "42": "123456789012345", "60": "00000001004"}
    raw, _ = iso8583.encode(dict(doc), spec)
    decoded, _ = iso8583.decode(bytes(raw), spec)
    assert {k: decoded[k] for k in doc} == doc
