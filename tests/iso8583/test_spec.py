"""Dialect spec files: validation, pyiso8583 compatibility, cups field formats."""

from __future__ import annotations

import json
from pathlib import Path

import iso8583
import iso8583.specs
import pytest

from poskit.iso8583.errors import SpecError
from poskit.iso8583.spec import PYISO_KEYS, load_spec, load_spec_file

DIALECT_DIR = Path(__file__).parents[2] / "src" / "poskit" / "iso8583" / "dialects"


def test_ascii87_is_exactly_pyiso8583_default_ascii() -> None:
    """The ascii87 pyiso8583 keys are identical to iso8583.specs.default_ascii."""
    assert load_spec("ascii87").pyiso == iso8583.specs.default_ascii


@pytest.mark.parametrize("name", ["cups", "ascii87"])
def test_every_field_has_metadata(name: str) -> None:
    """Each field names its format and its English and Chinese names."""
    for key, field in load_spec(name).fields.items():
        assert field.format, key
        assert field.name_en and field.name_zh, key


@pytest.mark.parametrize("name", ["cups", "ascii87"])
def test_sensitive_fields_are_marked(name: str) -> None:
    """PAN is masked; tracks, PIN block and MAC are wiped; 55 wipes card tags."""
    spec = load_spec(name)
    assert spec.fields["2"].sensitive == "mask"
    for number in ("35", "36", "52", "64"):
        assert spec.fields[number].sensitive == "wipe"
    assert spec.fields["55"].tlv and {"5A", "57"} <= set(spec.fields["55"].wipe_tags)


def test_cups_field_formats_follow_the_unionpay_spec() -> None:
    """cups: BCD MTI, binary bitmap, packed BCD with digit counts, BCD length prefixes."""
    f = load_spec("cups").pyiso
    assert f["t"]["data_enc"] == "b" and f["p"]["data_enc"] == "b" and f["p"]["max_len"] == 8
    assert f["2"] == {
        **f["2"],
        "len_type": 1,
        "len_enc": "bcd",
        "len_count": "nibbles",
        "right_pad": "0",
        "max_len": 19,
    }
    assert f["22"]["right_pad"] == "0" and f["22"]["max_len"] == 3
    assert f["35"]["right_pad"] == "0" and f["36"]["len_type"] == 2
    assert f["4"]["max_len"] == 12 and f["4"]["len_count"] == "nibbles"
    assert (f["52"]["data_enc"], f["52"]["max_len"]) == ("b", 8)
    assert (f["64"]["data_enc"], f["64"]["max_len"]) == ("b", 8)
    assert (f["55"]["data_enc"], f["55"]["len_type"], f["55"]["max_len"]) == ("b", 2, 255)
    assert (f["60"]["len_enc"], f["60"]["len_type"], f["60"]["max_len"]) == ("bcd", 2, 19)
    assert (f["62"]["data_enc"], f["62"]["max_len"]) == ("b", 999)
    assert f["63"]["max_len"] == 163 and f["48"]["max_len"] == 512
    assert f["41"]["data_enc"] == "ascii" and f["44"]["len_type"] == 1


def test_cups_field_22_is_left_justified_bcd() -> None:
    """Field 22 "021" packs as 02 10 (left-justified, trailing pad)."""
    spec = load_spec("cups").pyiso
    data, _ = iso8583.encode({"t": "0200", "22": "021"}, spec)
    assert bytes(data).endswith(b"\x02\x10")


def test_cups_pan_packs_with_bcd_length_and_trailing_pad() -> None:
    """A 19-digit PAN packs as 19 followed by 10 bytes ending in a 0 pad nibble."""
    spec = load_spec("cups").pyiso
    data, _ = iso8583.encode({"t": "0200", "2": "6222021001123456789"}, spec)
    assert bytes(data)[10:].hex() == "19" + "6222021001123456789" + "0"


def test_pyiso_keys_are_only_pyiso8583_keys() -> None:
    """The loader hands pyiso8583 only the keys it knows."""
    for name in ("cups", "ascii87"):
        for entry in load_spec(name).pyiso.values():
            assert set(entry) <= set(PYISO_KEYS)


def _write(tmp_path: Path, mutate: dict[str, object], field: str = "2") -> Path:
    raw = json.loads((DIALECT_DIR / "cups.json").read_text("utf-8"))
    raw["fields"][field] = {**raw["fields"][field], **mutate}
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(raw), "utf-8")
    return path


def test_a_valid_variant_file_loads(tmp_path: Path) -> None:
    """An acquirer variant (PAN padded with F) loads from disk."""
    spec = load_spec_file(_write(tmp_path, {"right_pad": "F"}))
    assert spec.pyiso["2"]["right_pad"] == "F"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        ({"len_count": "nibbles", "data_enc": "ascii"}, "nibbles"),
        ({"right_pad": "FF"}, "one hex character"),
        ({"left_pad": "0"}, "not both"),
        ({"data_enc": "no-such-codec"}, "codec"),
        ({"max_len": 150}, "does not fit"),
        ({"sensitive": "hide"}, "sensitive"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_field_entries_are_rejected(tmp_path: Path, mutate: dict[str, object], reason: str) -> None:
    """Bad field entries raise SpecError naming the field."""
    with pytest.raises(SpecError, match=reason) as info:
        load_spec_file(_write(tmp_path, mutate))
    assert info.value.field == "2"


def test_non_json_and_unknown_dialect_are_spec_errors(tmp_path: Path) -> None:
    """Broken JSON and unknown dialect names are SpecErrors."""
    path = tmp_path / "broken.json"
    path.write_text("{", "utf-8")
    with pytest.raises(SpecError, match="not JSON"):
        load_spec_file(path)
    with pytest.raises(SpecError, match="no such bundled dialect"):
        load_spec("iso93")
