"""BER-TLV codec: vectors, errors with offsets, round-trips, fuzzing and pyemv cross-checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyemv import tlv as pyemv_tlv

from poskit.emv.tlv import (
    Tlv,
    TlvError,
    decode,
    decode_flat,
    encode,
    encode_flat,
    encode_length,
    encode_tag,
    find,
    flatten,
    tlv,
)

# A GPO format 2 response as printed in EMV Book 3 style traces (AIP + AFL in template 77).
GPO_FORMAT2 = bytes.fromhex("770E8202580094080801010010010301")


def test_decode_template_with_children() -> None:
    """A constructed template is decoded with its children in order."""
    items = decode(GPO_FORMAT2)
    assert [i.tag for i in items] == ["77"]
    assert [c.tag for c in items[0].children] == ["82", "94"]
    assert items[0].children[0].value == bytes.fromhex("5800")
    assert flatten(items) == {"82": bytes.fromhex("5800"), "94": bytes.fromhex("0801010010010301")}


def test_multi_byte_tags_and_long_lengths() -> None:
    """Two-byte tags and the 81/82 length forms decode and encode symmetrically."""
    value = bytes(200)
    data = tlv("9F46", value) + tlv("5F2A", b"\x01\x56") + tlv("BF0C", tlv("9F4D", b"\x0b\x0a"))
    assert data[:4] == bytes.fromhex("9F4681C8")
    items = decode(data)
    assert [i.tag for i in items] == ["9F46", "5F2A", "BF0C"]
    assert items[2].children[0].tag == "9F4D"
    assert encode(items) == data
    assert encode_length(0x7F) == b"\x7f"
    assert encode_length(0x80) == b"\x81\x80"
    assert encode_length(0x1234) == b"\x82\x12\x34"


def test_three_byte_tag() -> None:
    """Tags with several subsequent bytes (Chinese e-receipt style) are supported."""
    data = tlv("DF8101", b"\x01")
    assert decode(data)[0].tag == "DF8101"
    assert encode_tag("df8101") == bytes.fromhex("DF8101")


def test_order_is_kept() -> None:
    """Flattening keeps the card's order, which field 55 MACs and cryptograms rely on."""
    data = tlv("9F36", b"\x00\x01") + tlv("82", b"\x7c\x00") + tlv("9F26", bytes(8))
    assert list(decode_flat(data)) == ["9F36", "82", "9F26"]
    assert encode_flat(decode_flat(data)) == data


def test_zero_padding_between_objects_is_skipped() -> None:
    """Annex B allows '00' bytes between data objects."""
    data = tlv("82", b"\x7c\x00") + b"\x00\x00" + tlv("9F36", b"\x00\x02")
    assert list(decode_flat(data)) == ["82", "9F36"]


def test_find_searches_nested_templates() -> None:
    """find() returns the first object with the tag at any depth."""
    fci = tlv("6F", tlv("84", b"\xa0\x00") + tlv("A5", tlv("88", b"\x01")))
    found = find(decode(fci), "88")
    assert found is not None and found.value == b"\x01"
    assert find(decode(fci), "9F38") is None


@pytest.mark.parametrize(
    ("data", "offset", "reason"),
    [
        (bytes.fromhex("9F"), 0, "multi-byte tag is cut short"),
        (bytes.fromhex("9F02"), 2, "length expected"),
        (bytes.fromhex("820300"), 1, "runs past the end"),
        (bytes.fromhex("8280"), 1, "indefinite length"),
        (bytes.fromhex("828400000001"), 1, "at most 3 allowed"),
        (bytes.fromhex("9F80"), 1, "bits 7-1 all zero"),
        (bytes.fromhex("9FFFFFFF0100"), 0, "tag longer than 4 bytes"),
        (bytes.fromhex("7003820201"), 3, "runs past the end"),
    ],
)
def test_errors_carry_offset(data: bytes, offset: int, reason: str) -> None:
    """Malformed input raises TlvError with the byte offset of the problem."""
    with pytest.raises(TlvError, match=reason) as info:
        decode(data)
    assert info.value.offset == offset


def test_building_checks_tags_and_lengths() -> None:
    """Bad tags and oversized values are refused when building."""
    with pytest.raises(TlvError):
        encode_tag("9F")
    with pytest.raises(TlvError):
        encode_tag("zz")
    with pytest.raises(TlvError):
        encode_length(0x10000)
    with pytest.raises(TlvError):
        Tlv.primitive("70", b"")
    with pytest.raises(TlvError):
        Tlv.template("82", [])


def test_repr_hides_values() -> None:
    """A Tlv repr never shows the value (it may be a PAN)."""
    item = Tlv.primitive("5A", bytes.fromhex("6222021001123456789F"))
    assert "6222" not in repr(item)


_tag_numbers = st.one_of(
    st.sampled_from(["82", "84", "95", "9A", "9C", "57", "5A", "8A", "91"]),
    st.sampled_from(["9F02", "9F26", "9F36", "5F2A", "5F34", "DF31", "9F4B"]),
)
_templates = st.sampled_from(["70", "77", "A5", "BF0C", "71", "72", "61"])


def _tlv_trees(depth: int = 2) -> st.SearchStrategy[list[Tlv]]:
    leaf = st.builds(Tlv.primitive, _tag_numbers, st.binary(max_size=300))
    node: st.SearchStrategy[Tlv] = leaf
    for _ in range(depth):
        node = st.one_of(leaf, st.builds(Tlv.template, _templates, st.lists(node, max_size=4)))
    return st.lists(node, max_size=5)


@settings(max_examples=150, deadline=None)
@given(_tlv_trees())
def test_round_trip(items: list[Tlv]) -> None:
    """encode then decode gives the same objects, in the same order."""
    data = encode(items)
    assert decode(data) == items
    assert encode(decode(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_only_tlv_error(data: bytes) -> None:
    """Random bytes either decode or raise TlvError, never anything else."""
    try:
        items = decode(data)
    except TlvError as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(data)
    else:
        assert isinstance(items, list)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_tag_numbers, st.binary(max_size=200), max_size=6))
def test_flat_matches_pyemv(values: dict[str, bytes]) -> None:
    """Flat primitives decode as pyemv.tlv does (test oracle)."""
    data = encode_flat(values)
    assert decode_flat(data) == pyemv_tlv.decode(data, flatten=True)


def test_encode_keeps_padding_inside_a_decoded_template() -> None:
    """A template decoded with '00' padding between its children re-encodes byte for byte,
    as Tlv.to_bytes does (found by the tlv fuzz target)."""
    data = bytes.fromhex("70075f2002434400" + "00")
    items = decode(data)
    assert encode(items) == data == items[0].to_bytes()
    assert decode(encode(items)) == items
