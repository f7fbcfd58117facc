"""TR-31 key blocks: TR-31:2018 Annex A vectors, psec in both directions, tampering."""

from __future__ import annotations

import psec
import psec.tr31 as psec_tr31
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.crypto.errors import KeyBlockError
from poskit.crypto.tr31 import KeyBlockHeader, KeyBlockWrapper, parse_header, unwrap, wrap

H = bytes.fromhex

# TR-31:2018 Annex A.7.4 (version D) and A.7.3 (version B) worked examples.
D_KBPK = H("88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6")
D_BLOCK = (
    "D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA05"
    "F7425509593D03A457DC34"
)
B_KBPK = H("DD7515F2BFC17F85CE48F3CA25CB21F6")
B_BLOCK = "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E"
KEY = H("3F419E1CB7079442AA37474C2EFBF8B8")


def test_version_d_annex_vector() -> None:
    """The TR-31:2018 A.7.4 block unwraps to its key and re-wraps byte for byte."""
    header, key = unwrap(D_KBPK, D_BLOCK)
    assert key == KEY
    assert (header.version, header.usage, header.algorithm, header.mode) == ("D", "P0", "A", "E")
    pad = H("1C2965473CE206BB855B01533782")
    again = wrap(D_KBPK, header, KEY, masked_key_length=16, random=lambda n: pad[:n])
    assert again == D_BLOCK


def test_version_b_annex_vector() -> None:
    """The TR-31:2018 version B example unwraps to its key."""
    header, key = unwrap(B_KBPK, B_BLOCK)
    assert key == KEY
    assert (header.version, header.usage, header.algorithm, header.exportability) == ("B", "P0", "T", "E")


def test_psec_documented_example() -> None:
    """psec's documented version B block under AB..AB unwraps to CD..CD."""
    block = "B0096P0TE00N0000471D4FBE35E5865BDE20DBF4C15503161F55D681170BF8DD14D01B6822EF8550CB67C569DE8AC048"
    header, key = unwrap(b"\xab" * 16, block)
    assert key == b"\xcd" * 16 and header.exportability == "N"


usages = st.sampled_from(["P0", "M3", "K0", "B0", "D0", "E0", "C0", "V2", "M6"])
modes = st.sampled_from(list("BCDEGNVX"))
versions = st.sampled_from([("D", 16), ("D", 24), ("D", 32), ("B", 16), ("B", 24)])
key_specs = st.sampled_from([("T", 8), ("T", 16), ("T", 24), ("A", 16), ("A", 24), ("A", 32)])


@settings(max_examples=60, deadline=None)
@given(
    version=versions, spec=key_specs, usage=usages, mode=modes, export=st.sampled_from("ENS"), data=st.data()
)
def test_cross_psec_both_directions(
    version: tuple[str, int],
    spec: tuple[str, int],
    usage: str,
    mode: str,
    export: str,
    data: st.DataObject,
) -> None:
    """Our blocks unwrap in psec, psec's unwrap here, and fixed padding gives the same text."""
    v, kbpk_len = version
    algorithm, key_len = spec
    kbpk = data.draw(st.binary(min_size=kbpk_len, max_size=kbpk_len))
    key = data.draw(st.binary(min_size=key_len, max_size=key_len))
    header = KeyBlockHeader(v, usage, algorithm, mode, "00", export)
    ours = wrap(kbpk, header, key)
    _, k = psec.tr31.unwrap(kbpk, ours)
    assert k == key
    theirs = psec.tr31.wrap(kbpk, psec.tr31.Header(v, usage, algorithm, mode, "00", export), key)
    h2, k2 = unwrap(kbpk, theirs)
    assert k2 == key and (h2.usage, h2.mode, h2.exportability) == (usage, mode, export)
    pad = data.draw(st.binary(min_size=64, max_size=64))
    original = psec_tr31._urandom  # type: ignore[attr-defined]
    psec_tr31._urandom = lambda n: pad[:n]  # type: ignore[attr-defined]
    try:
        expected = psec.tr31.wrap(kbpk, psec.tr31.Header(v, usage, algorithm, mode, "00", export), key)
    finally:
        psec_tr31._urandom = original  # type: ignore[attr-defined]
    assert wrap(kbpk, header, key, random=lambda n: pad[:n]) == expected


def test_optional_blocks_round_trip_and_psec() -> None:
    """Optional blocks (with PB padding) survive our wrap/unwrap and psec's unwrap."""
    kbpk = bytes(range(32))
    header = KeyBlockHeader("D", "B0", "T", "X", "12", "S", (("KS", "00604B120F9292800000"),))
    block = wrap(kbpk, header, H("EDB380DD340BC2620247D445F5B8D678"))
    h, key = unwrap(kbpk, block)
    assert dict(h.optional_blocks)["KS"] == "00604B120F9292800000"
    assert key == H("EDB380DD340BC2620247D445F5B8D678")
    ph, pkey = psec.tr31.unwrap(kbpk, block)
    assert ph.blocks["KS"] == "00604B120F9292800000" and pkey == key


@pytest.mark.parametrize("position", [5, 8, 9, 40, 100, 111])
def test_tampering_detected(position: int) -> None:
    """Changing any character of the header, key data or MAC fails with KeyBlockError."""
    chars = list(D_BLOCK)
    original = chars[position]
    chars[position] = "1" if original != "1" else "2"
    with pytest.raises(KeyBlockError):
        unwrap(D_KBPK, "".join(chars))


def test_wrong_kbpk_names_mac_position() -> None:
    """A block under another KBPK fails its MAC, reported at the MAC's position."""
    with pytest.raises(KeyBlockError, match=r"field MAC at position 81: MAC does not verify"):
        unwrap(bytes(32), D_BLOCK)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("", "empty"),
        ("D0112P0AE00E", "shorter than the 16-character header"),
        ("D0113P0AE00E0000" + "0" * 96, "field key block length at position 2"),
        ("DXXXXP0AE00E0000", "field key block length at position 2: not 4 digits"),
        ("X0016P0AE00E0000", "field version ID at position 1"),
        ("D0016P0AZ00E0000", "field mode of use at position 9"),
        ("D0016P0AE00Q0000", "field exportability at position 12"),
        ("D0016P0AE00EXX00", "field number of optional blocks at position 13"),
        ("D0048P0AE00E0000" + "G" * 32, "field key data at position 17"),
    ],
)
def test_malformed_blocks(block: str, message: str) -> None:
    """Malformed key blocks name the failing field and its character position."""
    with pytest.raises(KeyBlockError, match=message):
        unwrap(D_KBPK, block)


def test_parse_header_without_key() -> None:
    """The header can be read without the KBPK."""
    header, length = parse_header(D_BLOCK)
    assert length == 16 and header.usage == "P0" and header.key_version == "00"


def test_version_must_match_kbpk() -> None:
    """A version D wrapper refuses a version B header and block."""
    wrapper = KeyBlockWrapper(D_KBPK, "D")
    with pytest.raises(KeyBlockError, match="version ID"):
        wrapper.wrap(KeyBlockHeader("B", "P0", "T", "E"), KEY)
    with pytest.raises(KeyBlockError, match="version ID"):
        wrapper.unwrap(B_BLOCK)
    with pytest.raises(KeyBlockError, match="not an AES key"):
        KeyBlockWrapper(bytes(8), "D")
