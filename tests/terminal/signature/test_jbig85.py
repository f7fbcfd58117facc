"""T.85 JBIG encoder/decoder: T.82 known answers, BIE layout, round trips, markers, fuzzing."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from poskit.terminal.signature.jbig85 import (
    BiLevelHeader,
    JbigError,
    JbigParameterError,
    decode_t85,
    encode_t85,
    parse_bih,
)

# "JBIG" in 23 x 5 pixels, the example bitmap of the JBIG-KIT jbig85 documentation.
JBIG_LETTERS = [bytes.fromhex(h) for h in ("7ce238", "049240", "04e25c", "449244", "38e238")]


def _row_bytes(width: int) -> int:
    return (width + 7) // 8


def _clean(rows: list[bytes], width: int) -> list[bytes]:
    """Clear padding bits, as the decoder returns them."""
    mask = (0xFF << (8 * _row_bytes(width) - width)) & 0xFF
    return [row[:-1] + bytes((row[-1] & mask,)) for row in rows]


# --------------------------------------------------------------------------- known answers


def t82_test_image() -> list[bytes]:
    """The 1960 x 1951 test image of ITU-T T.82 clause 7.2.1, from its pseudo-random generator.

    Lines 0..191 are white; lines 192..1022 are random pixels; from line 1023 only columns
    with (x >> 3) & 3 == 0 are random and the others repeat the last random value seen at the
    same x mod 8. The generator is a 16-bit shift register fed with the parity of its bits
    0, 2, 11 and 15; a pixel is black when the two low bits of the register are 00.
    """
    rows: list[bytes] = []
    register = 1
    repeat = [0] * 8
    to_ascii = bytes.maketrans(b"\x00\x01", b"01")
    for y in range(1951):
        pixels = bytearray(1960)
        if y >= 192:
            for x in range(1960):
                if y < 1023 or (x >> 3) & 3 == 0:
                    feedback = (register ^ (register >> 2) ^ (register >> 11) ^ (register >> 15)) & 1
                    register = ((register << 1) | feedback) & 0xFFFF
                    repeat[x & 7] = 1 if register & 3 == 0 else 0
                pixels[x] = repeat[x & 7]
        rows.append(int(pixels.translate(to_ascii), 2).to_bytes(245, "big"))
    return rows


@pytest.fixture(scope="module")
def t82_image() -> list[bytes]:
    rows = t82_test_image()
    # T.82 7.2.1 states the image has 861965 foreground pixels.
    assert sum(int.from_bytes(row, "big").bit_count() for row in rows) == 861965
    return rows


@pytest.fixture(scope="module")
def t82_bie_tpbon_atmove(t82_image: list[bytes]) -> bytes:
    # MX=8: the AT pixel moves to tx=8 from stripe 9 (line 1152), after the periodic region
    # that starts at line 1023 has been seen for one stripe.
    return encode_t85(t82_image, 1960, 1951, l0=128, tpbon=True, at_moves={9: 8})


# ITU-T T.82 clause 7.2.2: expected BIE sizes of the test image for the sequential
# (single-layer) parameter sets; JBIG-KIT's jbig85 test suite checks the same three numbers.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("lrltwo", "expected_length"),
    [pytest.param(False, 317384, id="TPBON=0,LRLTWO=0,L0=1951"), pytest.param(True, 317132, id="LRLTWO=1")],
)
def test_t82_7_2_single_stripe_bie_lengths(
    t82_image: list[bytes], lrltwo: bool, expected_length: int
) -> None:
    """Encoding the T.82 7.2 test image in one stripe without TP gives the published sizes."""
    bie = encode_t85(t82_image, 1960, 1951, l0=1951, tpbon=False, lrltwo=lrltwo)
    assert len(bie) == expected_length


@pytest.mark.slow
def test_t82_7_2_striped_tpbon_bie_length_and_decoding(
    t82_image: list[bytes], t82_bie_tpbon_atmove: bytes
) -> None:
    """TPBON, MX=8, L0=128 gives the published 253653 bytes and decodes losslessly."""
    assert len(t82_bie_tpbon_atmove) == 253653
    assert t82_bie_tpbon_atmove[16] == 8
    assert decode_t85(t82_bie_tpbon_atmove) == (1960, 1951, t82_image)


def test_bih_layout() -> None:
    """The BIH is DL D P 0, XD YD L0 big-endian, MX MY ORDER OPTIONS, as T.82 6.2.2 lays it out."""
    bie = encode_t85(JBIG_LETTERS, 23, 5)
    assert bie[:20] == bytes.fromhex("00000100 00000017 00000005 00000080 00000008")
    assert bie.endswith(b"\xff\x02")
    assert parse_bih(bie) == BiLevelHeader(width=23, height=5, l0=128, mx=0, tpbon=True)
    two_line = encode_t85(JBIG_LETTERS, 23, 5, l0=2, tpbon=False, lrltwo=True, at_moves={1: 5})
    assert two_line[12:20] == bytes.fromhex("00000002 05000040")
    assert decode_t85(two_line) == (23, 5, JBIG_LETTERS)


def test_bih_round_trips_through_parse() -> None:
    """parse_bih(to_bytes()) gives the same header for every option combination."""
    for options in range(8):
        header = BiLevelHeader(
            width=1728,
            height=2376,
            l0=128,
            mx=127,
            lrltwo=bool(options & 1),
            vlength=bool(options & 2),
            tpbon=bool(options & 4),
        )
        assert parse_bih(header.to_bytes()) == header


# --------------------------------------------------------------------------- round trips


@st.composite
def bitmaps(draw: st.DrawFn) -> tuple[int, int, list[bytes]]:
    """Small random bitmaps, with runs of repeated lines so typical prediction triggers."""
    width = draw(st.integers(1, 40))
    height = draw(st.integers(1, 24))
    density = draw(st.sampled_from([0.0, 0.05, 0.5, 0.95, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rnd = random.Random(seed)
    rows: list[bytes] = []
    for _ in range(height):
        if rows and rnd.random() < 0.3:
            rows.append(rows[-1])
            continue
        value = sum(1 << bit for bit in range(8 * _row_bytes(width)) if rnd.random() < density)
        rows.append(value.to_bytes(_row_bytes(width), "big"))
    return width, height, rows


@settings(max_examples=150, deadline=None)
@given(
    bitmaps(),
    st.sampled_from([1, 2, 3, 5, 128]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_random_bitmaps_round_trip(
    bitmap: tuple[int, int, list[bytes]], l0: int, tpbon: bool, lrltwo: bool, vlength: bool, reset: bool
) -> None:
    """Any small bitmap survives encode/decode with either template, TPBON on/off, any L0."""
    width, height, rows = bitmap
    bie = encode_t85(
        rows, width, height, l0=l0, tpbon=tpbon, lrltwo=lrltwo, vlength=vlength, reset_stripes=reset
    )
    assert decode_t85(bie) == (width, height, _clean(rows, width))


@settings(max_examples=60, deadline=None)
@given(bitmaps(), st.booleans(), st.data())
def test_adaptive_template_moves_round_trip(
    bitmap: tuple[int, int, list[bytes]], lrltwo: bool, data: st.DataObject
) -> None:
    """ATMOVE marker segments (tx = 0 or min..127) at stripe starts decode to the same image."""
    width, height, rows = bitmap
    l0 = data.draw(st.integers(1, 4))
    stripes = -(-height // l0)
    low = 5 if lrltwo else 3
    moves = data.draw(
        st.dictionaries(
            st.integers(0, stripes - 1), st.one_of(st.just(0), st.integers(low, 12), st.just(127)), max_size=3
        )
    )
    bie = encode_t85(rows, width, height, l0=l0, lrltwo=lrltwo, at_moves=moves)
    assert decode_t85(bie) == (width, height, _clean(rows, width))


@st.composite
def signatures(draw: st.DrawFn) -> tuple[int, int, list[bytes]]:
    """Signature-like bitmaps: a few pen strokes drawn as polylines on a white pad."""
    width = draw(st.integers(16, 160))
    height = draw(st.integers(8, 64))
    point = st.tuples(st.integers(0, width - 1), st.integers(0, height - 1))
    strokes = draw(st.lists(st.lists(point, min_size=2, max_size=8), min_size=1, max_size=4))
    pen = draw(st.integers(1, 3))
    pad = Image.new("1", (width, height), 0)
    canvas = ImageDraw.Draw(pad)
    for stroke in strokes:
        canvas.line(stroke, fill=1, width=pen, joint="curve")
    raw = pad.tobytes()
    nbytes = _row_bytes(width)
    return width, height, [raw[y * nbytes : (y + 1) * nbytes] for y in range(height)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signatures(), st.booleans(), st.booleans(), st.sampled_from([16, 128]))
def test_signature_strokes_round_trip(
    bitmap: tuple[int, int, list[bytes]], tpbon: bool, lrltwo: bool, l0: int
) -> None:
    """Signature-like stroke images round-trip and, once not tiny, compress below raw size."""
    width, height, rows = bitmap
    bie = encode_t85(rows, width, height, l0=l0, tpbon=tpbon, lrltwo=lrltwo)
    assert decode_t85(bie) == (width, height, rows)
    if width * height >= 2048:
        # Strokes on white compress: the BIE, header included, is smaller than the bitmap.
        assert len(bie) < len(b"".join(rows))


@pytest.mark.parametrize("lrltwo", [False, True])
@pytest.mark.parametrize("tpbon", [False, True])
def test_white_and_black_images(tpbon: bool, lrltwo: bool) -> None:
    """All-white and all-black images round-trip; a white image codes to almost nothing."""
    white = [bytes(6)] * 40
    black = [b"\xff" * 5 + b"\xf0"] * 40
    bie = encode_t85(white, 44, 40, tpbon=tpbon, lrltwo=lrltwo)
    assert decode_t85(bie) == (44, 40, white)
    assert len(bie) <= 20 + 2 + 4
    assert decode_t85(encode_t85(black, 44, 40, tpbon=tpbon, lrltwo=lrltwo)) == (44, 40, black)


def test_padding_bits_are_ignored() -> None:
    """Set padding bits past the width do not change the encoding and come back as zero."""
    dirty = [row[:-1] + bytes((row[-1] | 0x01,)) for row in JBIG_LETTERS]
    assert encode_t85(dirty, 23, 5) == encode_t85(JBIG_LETTERS, 23, 5)
    assert decode_t85(encode_t85(dirty, 23, 5))[2] == JBIG_LETTERS


def test_typical_prediction_shrinks_repeated_lines() -> None:
    """With TPBON a bitmap of identical lines costs far less than without."""
    rows = [bytes.fromhex("a55a0ff0c3")] * 100
    with_tp = encode_t85(rows, 40, 100, tpbon=True)
    without_tp = encode_t85(rows, 40, 100, tpbon=False)
    assert len(with_tp) < len(without_tp)
    assert decode_t85(with_tp) == decode_t85(without_tp) == (40, 100, rows)


# --------------------------------------------------------------------------- NEWLEN / markers

_SDNORM = b"\xff\x02"


def _split_sdes(bie: bytes) -> list[bytes]:
    """Cut the BID of a BIE made by encode_t85 (no floating markers) into SDEs."""
    sdes, body = [], bie[20:]
    while body:
        # Stuffing guarantees a coded 0xFF is followed by 0x00, so the first FF 02 ends the SDE.
        end = body.index(_SDNORM) + 2
        sdes.append(body[:end])
        body = body[end:]
    return sdes


def _vlength_header(bie: bytes, height: int) -> bytes:
    return bie[:8] + height.to_bytes(4, "big") + bie[12:19] + bytes((bie[19] | 0x20,))


def test_late_newlen_form_is_decoded() -> None:
    """VLENGTH with YD = 2^32-1 and ESC NEWLEN + empty SDE after the last stripe (T.85)."""
    bie = encode_t85(JBIG_LETTERS, 23, 5, l0=2, vlength=True)
    assert bie[8:12] == b"\xff\xff\xff\xff"
    assert bie.endswith(b"\xff\x05\x00\x00\x00\x05\xff\x02")
    assert decode_t85(bie) == (23, 5, JBIG_LETTERS)


def test_newlen_right_after_stripe_shortens_that_stripe() -> None:
    """A NEWLEN straight after an SDE ends the image inside that stripe (T.82 6.2.6.2)."""
    # Five lines coded in stripes of 4: the second stripe really holds one line.
    plain = encode_t85(JBIG_LETTERS, 23, 5, l0=4)
    first, second = _split_sdes(plain)
    stream = _vlength_header(plain, 8) + first + second + b"\xff\x05" + (5).to_bytes(4, "big")
    assert decode_t85(stream) == (23, 5, JBIG_LETTERS)


def test_newlen_before_stripes_and_comments_are_honoured() -> None:
    """A NEWLEN and COMMENT segments between SDEs are processed; the comment is skipped."""
    plain = encode_t85(JBIG_LETTERS, 23, 5, l0=2)
    sdes = _split_sdes(plain)
    comment = b"\xff\x07" + (3).to_bytes(4, "big") + b"\xff\x02\x00"
    stream = _vlength_header(plain, 99) + comment + b"\xff\x05" + (5).to_bytes(4, "big") + b"".join(sdes)
    assert decode_t85(stream) == (23, 5, JBIG_LETTERS)


def test_trailing_empty_sde_and_comment_are_accepted() -> None:
    """After the last line, empty SDEs and COMMENT segments may follow; other data may not."""
    plain = encode_t85(JBIG_LETTERS, 23, 5)
    tail = _SDNORM + b"\xff\x07\x00\x00\x00\x01X"
    assert decode_t85(plain + tail) == (23, 5, JBIG_LETTERS)
    with pytest.raises(JbigError, match="after the last line"):
        decode_t85(plain + b"\x12\x34" + _SDNORM)


# --------------------------------------------------------------------------- errors


def _with(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value) :]


GOOD = encode_t85(JBIG_LETTERS, 23, 5, l0=2)


@pytest.mark.parametrize(
    ("data", "position", "reason"),
    [
        (GOOD[:19], 19, "BIH needs 20 bytes"),
        (_with(GOOD, 0, b"\x01"), 0, "DL"),
        (_with(GOOD, 1, b"\x01"), 1, "D is 1"),
        (_with(GOOD, 2, b"\x02"), 2, "P is 2"),
        (_with(GOOD, 3, b"\x01"), 3, "fill byte"),
        (_with(GOOD, 4, bytes(4)), 4, "XD"),
        (_with(GOOD, 8, bytes(4)), 8, "YD"),
        (_with(GOOD, 12, bytes(4)), 12, "L0"),
        (_with(GOOD, 16, b"\x80"), 16, "MX is 128"),
        (_with(GOOD, 17, b"\x01"), 17, "MY"),
        (_with(GOOD, 18, b"\x04"), 18, "ORDER"),
        (_with(GOOD, 19, b"\x88"), 19, "reserved bit 7"),
        (_with(GOOD, 19, b"\x18"), 19, "TPDON/DPON"),
        (_with(GOOD, 19, b"\x0c"), 19, "TPDON/DPON"),
        (GOOD[:20] + b"\xff\x04", 20, "ABORT"),
        (GOOD[:20] + b"\xff\x01", 20, "RESERVE"),
        (GOOD[:20] + b"\xff\x09\x00", 20, "unknown marker 0x09"),
        (GOOD[:20] + b"\x12\xff\x09", 21, "marker 0x09 inside stripe data"),
        (GOOD[:20] + b"\x12\x34\xff\x04", 22, "ABORT"),
        (GOOD[:20] + b"\x12\x34", 22, "not terminated"),
        (GOOD[:20] + b"\xff", 20, "data ends after ESC"),
        (GOOD[:20] + b"\xff\x05\x00\x00\x00\x03", 20, "NEWLEN without VLENGTH"),
        (GOOD[:20] + b"\xff\x07\x00\x00\x01\x00abc", 20, "COMMENT of 256 bytes"),
        (GOOD[:20] + b"\xff\x06\x00\x00", 24, "truncated"),
        (GOOD[:20] + b"\xff\x06\x00\x00\x00\x00\x03\x00", 26, "ATMOVE tx 3 must be 0 or 3..MX=0"),
        (_with(GOOD, 16, b"\x08")[:20] + b"\xff\x06\x00\x00\x00\x00\x04\x01", 27, "ty is 1"),
        (_with(GOOD, 16, b"\x08")[:20] + b"\xff\x06\x00\x00\x00\x02\x04\x00", 22, "not inside a stripe"),
    ],
)
def test_malformed_input_is_reported_with_position(data: bytes, position: int, reason: str) -> None:
    """Every malformation raises JbigError naming what is wrong and the byte offset."""
    with pytest.raises(JbigError, match=reason) as caught:
        decode_t85(data)
    assert caught.value.position == position
    assert isinstance(caught.value, ValueError)


def test_missing_stripe_is_reported() -> None:
    """A BIE cut after a whole SDE reports how many lines were decoded."""
    cut = GOOD[:20] + b"".join(_split_sdes(GOOD)[:2])
    with pytest.raises(JbigError, match="data ends after 4 of 5 lines") as caught:
        decode_t85(cut)
    assert caught.value.position == len(cut)


def test_newlen_must_not_grow_or_undercut_decoded_lines() -> None:
    """NEWLEN may only shrink YD, and not below the lines already decoded."""
    plain = encode_t85(JBIG_LETTERS, 23, 5, l0=2)
    sdes = _split_sdes(plain)
    header = _vlength_header(plain, 5)
    with pytest.raises(JbigError, match="larger than YD"):
        decode_t85(header + b"\xff\x05" + (6).to_bytes(4, "big") + b"".join(sdes))
    with pytest.raises(JbigError, match="below the 4 lines already decoded"):
        decode_t85(
            header + sdes[0] + sdes[1] + b"\xff\x07\x00\x00\x00\x00" + b"\xff\x05" + (3).to_bytes(4, "big")
        )
    with pytest.raises(JbigError, match="NEWLEN to 0 lines"):
        decode_t85(header + b"\xff\x05" + bytes(4))


def test_pixel_budget_limits_hostile_headers() -> None:
    """Headers announcing huge images are refused before any work is done."""
    huge = BiLevelHeader(width=0xFFFFFFFF, height=0xFFFFFFFF, l0=0xFFFFFFFF).to_bytes() + _SDNORM
    with pytest.raises(JbigError, match="budget"):
        decode_t85(huge)
    tall = BiLevelHeader(width=100, height=0xFFFFFFFF, l0=0xFFFFFFFF, vlength=True).to_bytes() + _SDNORM
    with pytest.raises(JbigError, match="budget"):
        decode_t85(tall, max_pixels=10_000)
    with pytest.raises(JbigParameterError, match="max_pixels"):
        decode_t85(GOOD, max_pixels=0)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"rows": JBIG_LETTERS, "width": 0, "height": 5}, "width"),
        ({"rows": JBIG_LETTERS, "width": 23, "height": 0}, "height"),
        ({"rows": JBIG_LETTERS, "width": 23, "height": 4}, "rows"),
        ({"rows": JBIG_LETTERS, "width": 30, "height": 5}, "rows"),
        ({"rows": JBIG_LETTERS, "width": 23, "height": 5, "l0": 0}, "l0"),
        ({"rows": JBIG_LETTERS, "width": 23, "height": 5, "at_moves": {1: 3}}, "at_moves"),
        ({"rows": JBIG_LETTERS, "width": 23, "height": 5, "at_moves": {0: 2}}, "at_moves"),
        ({"rows": JBIG_LETTERS, "width": 23, "height": 5, "lrltwo": True, "at_moves": {0: 4}}, "at_moves"),
        ({"rows": JBIG_LETTERS, "width": 23, "height": 5, "at_moves": {0: 128}}, "at_moves"),
    ],
)
def test_encoder_rejects_bad_arguments(kwargs: dict[str, object], argument: str) -> None:
    """Encoder arguments outside T.85 raise JbigParameterError naming the argument."""
    with pytest.raises(JbigParameterError) as caught:
        encode_t85(**kwargs)  # type: ignore[arg-type]
    assert caught.value.argument == argument


# --------------------------------------------------------------------------- fuzzing


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_only_raise_jbig_error(data: bytes) -> None:
    """Arbitrary bytes either decode or raise JbigError, never anything else."""
    try:
        width, height, rows = decode_t85(data, max_pixels=50_000)
    except JbigError:
        return
    assert len(rows) == height and all(len(row) == _row_bytes(width) for row in rows)


@st.composite
def mutated_bies(draw: st.DrawFn) -> bytes:
    """Valid BIEs with a few bytes overwritten, inserted or cut (markers favoured)."""
    width, height, rows = draw(bitmaps())
    bie = bytearray(
        encode_t85(
            rows,
            width,
            height,
            l0=draw(st.sampled_from([1, 3, 128])),
            tpbon=draw(st.booleans()),
            lrltwo=draw(st.booleans()),
            vlength=draw(st.booleans()),
            at_moves={0: draw(st.sampled_from([0, 5, 9]))},
        )
    )
    interesting = st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x7F, 0x80, 0xFF])
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["set", "insert", "cut", "marker"]))
        at = draw(st.integers(0, len(bie)))
        if action == "set" and at < len(bie):
            bie[at] = draw(st.one_of(interesting, st.integers(0, 255)))
        elif action == "insert":
            bie[at:at] = bytes([draw(st.integers(0, 255))])
        elif action == "cut":
            del bie[at:]
        else:
            bie[at:at] = bytes([0xFF, draw(interesting)])
    return bytes(bie)


@settings(max_examples=300, deadline=None)
@given(mutated_bies())
def test_fuzz_mutated_bies_only_raise_jbig_error(data: bytes) -> None:
    """Corrupted but plausible BIEs either decode or raise JbigError, never anything else."""
    try:
        width, height, rows = decode_t85(data, max_pixels=50_000)
    except JbigError:
        return
    assert len(rows) == height and all(len(row) == _row_bytes(width) for row in rows)
