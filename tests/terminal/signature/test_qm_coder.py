"""The T.82 QM arithmetic coder: published test sequence, table sanity, random round trips."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.terminal.signature.qm_coder import PROBABILITY_TABLE, QmDecoder, QmEncoder

# ITU-T T.82 clause 7.1, "Test sequence for the arithmetic coder": 256 decisions given as
# sixteen 16-bit words of PIX and of CX (MSB first), coded from a fresh coder. The expected
# SDE is 30 bytes of PSCD (0xFF 0x00 is a stuffed 0xFF) followed by ESC SDNORM. The same
# three arrays appear in the test suites of JBIG-KIT (tstcodec.c) and SpanDSP
# (t81_t82_arith_coding_tests.c), which both quote T.82 7.1.
T82_PIX = (
    0x05E0, 0x0000, 0x8B00, 0x01C4, 0x1700, 0x0034, 0x7FFF, 0x1A3F,
    0x951B, 0x05D8, 0x1D17, 0xE770, 0x0000, 0x0000, 0x0656, 0x0E6A,
)  # fmt: skip
T82_CX = (
    0x0FE0, 0x0000, 0x0F00, 0x00F0, 0xFF00, 0x0000, 0x0000, 0x0000,
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,
)  # fmt: skip
T82_SDE = bytes.fromhex("6989995c32eafaa0 d5ff00527fff00ff 00ff00c00000003f ff002d208291 ff02")


def _bits(words: tuple[int, ...]) -> list[int]:
    return [(word >> (15 - bit)) & 1 for word in words for bit in range(16)]


def _unstuff(pscd: bytes) -> bytes:
    return pscd.replace(b"\xff\x00", b"\xff")


def test_t82_7_1_encoder_output() -> None:
    """Encoding the T.82 7.1 decisions gives exactly the published SCD (before stuffing)."""
    encoder = QmEncoder(context_count=2)
    encoder.start(reset_contexts=True)
    for cx, pix in zip(_bits(T82_CX), _bits(T82_PIX), strict=True):
        encoder.encode(cx, pix)
    assert encoder.flush() == _unstuff(T82_SDE[:-2])


def test_t82_7_1_decoder_output() -> None:
    """Decoding the published T.82 7.1 SCD with the given contexts returns the 256 PIX values."""
    decoder = QmDecoder(context_count=2)
    decoder.start(_unstuff(T82_SDE[:-2]), reset_contexts=True)
    assert [decoder.decode(cx) for cx in _bits(T82_CX)] == _bits(T82_PIX)


def test_probability_table_is_well_formed() -> None:
    """Table 24 has 113 states, next states stay in range, SWTCH only where LSZ is near 1/2."""
    assert len(PROBABILITY_TABLE) == 113
    for lsz, nlps, nmps, switch in PROBABILITY_TABLE:
        assert 0 < lsz < 0x8000
        assert 0 <= nlps < 113 and 0 <= nmps < 113
        assert switch in (0, 1)
        if switch:
            assert lsz > 0x5000
    # Spot values of T.82 Table 24 / T.81 Table D.3.
    assert PROBABILITY_TABLE[0] == (0x5A1D, 1, 1, 1)
    assert PROBABILITY_TABLE[13] == (0x0001, 12, 13, 0)
    assert PROBABILITY_TABLE[112] == (0x59EB, 112, 111, 1)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 1)),
        max_size=600,
    ),
    st.floats(0.0, 1.0),
)
def test_random_decisions_round_trip(decisions: list[tuple[int, int]], skew: float) -> None:
    """Any sequence of (context, decision) pairs decodes back to itself, whatever the skew."""
    # Skew most decisions to one value so long MPS runs, carries and 0xFF bytes all occur.
    pairs = [(cx, pix if skew < 0.5 or cx % 2 else 0) for cx, pix in decisions]
    encoder = QmEncoder(context_count=8)
    encoder.start(reset_contexts=True)
    for cx, pix in pairs:
        encoder.encode(cx, pix)
    scd = encoder.flush()
    assert not scd.endswith(b"\x00")
    decoder = QmDecoder(context_count=8)
    decoder.start(scd, reset_contexts=True)
    assert [decoder.decode(cx) for cx, _ in pairs] == [pix for _, pix in pairs]


def test_contexts_carry_over_between_runs_unless_reset() -> None:
    """A second run coded with carried-over statistics decodes only with the same statistics."""
    first = [(0, 1)] * 200
    second = [(0, 1)] * 50 + [(0, 0)]
    encoder = QmEncoder(context_count=1)
    encoder.start(reset_contexts=True)
    for cx, pix in first:
        encoder.encode(cx, pix)
    scd1 = encoder.flush()
    encoder.start(reset_contexts=False)
    for cx, pix in second:
        encoder.encode(cx, pix)
    scd2 = encoder.flush()

    decoder = QmDecoder(context_count=1)
    decoder.start(scd1, reset_contexts=True)
    assert [decoder.decode(0) for _ in first] == [1] * 200
    decoder.start(scd2, reset_contexts=False)
    assert [decoder.decode(0) for _ in second] == [pix for _, pix in second]
