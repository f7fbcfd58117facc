"""The QM adaptive binary arithmetic coder of ITU-T T.82 clause 6.8 (JBIG1, also T.85).

One binary decision (a pixel, PIX) is coded at a time in a context (CX, 0..1023 for the
T.85 templates). Each context holds a probability-estimation state ST (0..112, rows of
T.82 Table 24) and its more probable symbol MPS. The coder keeps an interval size ``A``
(kept in 0x8000..0x10000 by renormalisation) and a code register ``C``; the LPS sub-interval
is the tabulated ``LSZ`` (Qe), so nothing is multiplied.

Register layout (T.82 Table 23): ``C`` is ``0000cbbb bbbbbsss xxxxxxxx xxxxxxxx``: a carry
bit, the byte about to leave, three spacer bits and sixteen fraction bits aligned with ``A``.

What the encoder emits is SCD (stripe coded data) *without* 0xFF/0x00 stuffing; the JBIG
framing layer (``jbig85``) adds the stuffing and the SDNORM/SDRST marker. The decoder takes
SCD with the stuffing already removed and reads 0x00 once the data runs out (T.82 6.8.3),
which is what lets the encoder drop trailing zero bytes.

Contexts outlive one run of the coder: INITENC/INITDEC re-initialise the registers at the
start of every stripe, while the context states carry on after SDNORM and are reset only
at the start of the image or after SDRST (T.82 6.2.5). ``reset_contexts`` selects which.
"""

from __future__ import annotations

__all__ = [
    "CONTEXT_COUNT",
    "PROBABILITY_TABLE",
    "QmDecoder",
    "QmEncoder",
]

#: T.85 contexts are 10-bit template values.
CONTEXT_COUNT = 1024

#: ITU-T T.82 Table 24 (identical to T.81 Table D.3): one row per state ST,
#: ``(LSZ, NLPS, NMPS, SWTCH)``, ST 0 first. Compared entry by entry with two independent
#: published transcriptions (the IJG ``jaricom.c`` table of T.81 D.3 and a spec-derived
#: T.82 implementation); the T.82 7.1 and 7.2 test data exercise it.
PROBABILITY_TABLE: tuple[tuple[int, int, int, int], ...] = (
    (0x5A1D, 1, 1, 1),
    (0x2586, 14, 2, 0),
    (0x1114, 16, 3, 0),
    (0x080B, 18, 4, 0),
    (0x03D8, 20, 5, 0),
    (0x01DA, 23, 6, 0),
    (0x00E5, 25, 7, 0),
    (0x006F, 28, 8, 0),
    (0x0036, 30, 9, 0),
    (0x001A, 33, 10, 0),
    (0x000D, 35, 11, 0),
    (0x0006, 9, 12, 0),
    (0x0003, 10, 13, 0),
    (0x0001, 12, 13, 0),
    (0x5A7F, 15, 15, 1),
    (0x3F25, 36, 16, 0),
    (0x2CF2, 38, 17, 0),
    (0x207C, 39, 18, 0),
    (0x17B9, 40, 19, 0),
    (0x1182, 42, 20, 0),
    (0x0CEF, 43, 21, 0),
    (0x09A1, 45, 22, 0),
    (0x072F, 46, 23, 0),
    (0x055C, 48, 24, 0),
    (0x0406, 49, 25, 0),
    (0x0303, 51, 26, 0),
    (0x0240, 52, 27, 0),
    (0x01B1, 54, 28, 0),
    (0x0144, 56, 29, 0),
    (0x00F5, 57, 30, 0),
    (0x00B7, 59, 31, 0),
    (0x008A, 60, 32, 0),
    (0x0068, 62, 33, 0),
    (0x004E, 63, 34, 0),
    (0x003B, 32, 35, 0),
    (0x002C, 33, 9, 0),
    (0x5AE1, 37, 37, 1),
    (0x484C, 64, 38, 0),
    (0x3A0D, 65, 39, 0),
    (0x2EF1, 67, 40, 0),
    (0x261F, 68, 41, 0),
    (0x1F33, 69, 42, 0),
    (0x19A8, 70, 43, 0),
    (0x1518, 72, 44, 0),
    (0x1177, 73, 45, 0),
    (0x0E74, 74, 46, 0),
    (0x0BFB, 75, 47, 0),
    (0x09F8, 77, 48, 0),
    (0x0861, 78, 49, 0),
    (0x0706, 79, 50, 0),
    (0x05CD, 48, 51, 0),
    (0x04DE, 50, 52, 0),
    (0x040F, 50, 53, 0),
    (0x0363, 51, 54, 0),
    (0x02D4, 52, 55, 0),
    (0x025C, 53, 56, 0),
    (0x01F8, 54, 57, 0),
    (0x01A4, 55, 58, 0),
    (0x0160, 56, 59, 0),
    (0x0125, 57, 60, 0),
    (0x00F6, 58, 61, 0),
    (0x00CB, 59, 62, 0),
    (0x00AB, 61, 63, 0),
    (0x008F, 61, 32, 0),
    (0x5B12, 65, 65, 1),
    (0x4D04, 80, 66, 0),
    (0x412C, 81, 67, 0),
    (0x37D8, 82, 68, 0),
    (0x2FE8, 83, 69, 0),
    (0x293C, 84, 70, 0),
    (0x2379, 86, 71, 0),
    (0x1EDF, 87, 72, 0),
    (0x1AA9, 87, 73, 0),
    (0x174E, 72, 74, 0),
    (0x1424, 72, 75, 0),
    (0x119C, 74, 76, 0),
    (0x0F6B, 74, 77, 0),
    (0x0D51, 75, 78, 0),
    (0x0BB6, 77, 79, 0),
    (0x0A40, 77, 48, 0),
    (0x5832, 80, 81, 1),
    (0x4D1C, 88, 82, 0),
    (0x438E, 89, 83, 0),
    (0x3BDD, 90, 84, 0),
    (0x34EE, 91, 85, 0),
    (0x2EAE, 92, 86, 0),
    (0x299A, 93, 87, 0),
    (0x2516, 86, 71, 0),
    (0x5570, 88, 89, 1),
    (0x4CA9, 95, 90, 0),
    (0x44D9, 96, 91, 0),
    (0x3E22, 97, 92, 0),
    (0x3824, 99, 93, 0),
    (0x32B4, 99, 94, 0),
    (0x2E17, 93, 86, 0),
    (0x56A8, 95, 96, 1),
    (0x4F46, 101, 97, 0),
    (0x47E5, 102, 98, 0),
    (0x41CF, 103, 99, 0),
    (0x3C3D, 104, 100, 0),
    (0x375E, 99, 93, 0),
    (0x5231, 105, 102, 0),
    (0x4C0F, 106, 103, 0),
    (0x4639, 107, 104, 0),
    (0x415E, 103, 99, 0),
    (0x5627, 105, 106, 1),
    (0x50E7, 108, 107, 0),
    (0x4B85, 109, 103, 0),
    (0x5597, 110, 109, 0),
    (0x504F, 111, 107, 0),
    (0x5A10, 110, 111, 1),
    (0x5522, 112, 109, 0),
    (0x59EB, 112, 111, 1),
)

# A context's state is packed as ST << 1 | MPS. These tables give LSZ per packed state and the
# packed state after an MPS renormalisation / after an LPS (with SWTCH applied), so the hot
# loops do one list lookup instead of four.
_LSZ: tuple[int, ...] = tuple(PROBABILITY_TABLE[s >> 1][0] for s in range(2 * len(PROBABILITY_TABLE)))
_AFTER_MPS: tuple[int, ...] = tuple(
    (PROBABILITY_TABLE[s >> 1][2] << 1) | (s & 1) for s in range(2 * len(PROBABILITY_TABLE))
)
_AFTER_LPS: tuple[int, ...] = tuple(
    (PROBABILITY_TABLE[s >> 1][1] << 1) | ((s & 1) ^ PROBABILITY_TABLE[s >> 1][3])
    for s in range(2 * len(PROBABILITY_TABLE))
)


class QmEncoder:
    """T.82 arithmetic encoder (INITENC, ENCODE, FLUSH) producing unstuffed SCD per stripe."""

    __slots__ = ("_a", "_buffer", "_c", "_ct", "_out", "_sc", "states")

    def __init__(self, context_count: int = CONTEXT_COUNT) -> None:
        self.states: list[int] = [0] * context_count
        self._a = 0x10000
        self._c = 0
        self._ct = 11
        self._sc = 0
        self._buffer = 0
        self._out = bytearray()

    def start(self, *, reset_contexts: bool) -> None:
        """INITENC: clear the registers; reset every context to ST=0, MPS=0 if asked."""
        if reset_contexts:
            self.states = [0] * len(self.states)
        self._a = 0x10000
        self._c = 0
        # CT counts a byte plus the 3 spacer bits before the first BYTEOUT.
        self._ct = 11
        self._sc = 0
        # BUFFER starts as a placeholder byte that FLUSH discards: the first BYTEOUT
        # writes it before any real byte exists, and a carry can never reach it.
        self._buffer = 0
        self._out = bytearray()

    def encode(self, cx: int, pix: int) -> None:
        """ENCODE one decision ``pix`` (0/1) in context ``cx`` (CODEMPS / CODELPS + RENORME)."""
        states = self.states
        s = states[cx]
        lsz = _LSZ[s]
        a = self._a - lsz
        if pix == (s & 1):
            if a >= 0x8000:
                self._a = a
                return
            # Conditional exchange: the MPS keeps the larger of the two sub-intervals.
            if a < lsz:
                self._c += a
                a = lsz
            states[cx] = _AFTER_MPS[s]
        else:
            if a >= lsz:
                self._c += a
                a = lsz
            states[cx] = _AFTER_LPS[s]
        c = self._c
        ct = self._ct
        while a < 0x8000:
            a <<= 1
            c <<= 1
            ct -= 1
            if ct == 0:
                c = self._byte_out(c)
                ct = 8
        self._a = a
        self._c = c
        self._ct = ct

    def _byte_out(self, c: int) -> int:
        """BYTEOUT: settle the byte at the top of C, holding 0xFF bytes until a carry is known."""
        temp = c >> 19
        if temp > 0xFF:
            # A carry: the held byte goes up by one and every held 0xFF becomes 0x00.
            self._out.append(self._buffer + 1)
            self._out.extend(b"\x00" * self._sc)
            self._sc = 0
            self._buffer = temp & 0xFF
        elif temp == 0xFF:
            self._sc += 1
        else:
            self._out.append(self._buffer)
            self._out.extend(b"\xff" * self._sc)
            self._sc = 0
            self._buffer = temp
        return c & 0x7FFFF

    def flush(self) -> bytes:
        """FLUSH (CLEARBITS + FINALWRITES); return the stripe's SCD without trailing zeros."""
        c = self._c
        # CLEARBITS: the value in [C, C + A - 1] with the most trailing zero bits.
        temp = (self._a - 1 + c) & 0xFFFF0000
        c = temp + 0x8000 if temp < c else temp
        # FINALWRITES
        c <<= self._ct
        if c > 0x7FFFFFF:
            self._out.append(self._buffer + 1)
            self._out.extend(b"\x00" * self._sc)
        else:
            self._out.append(self._buffer)
            self._out.extend(b"\xff" * self._sc)
        self._out.append((c >> 19) & 0xFF)
        self._out.append((c >> 11) & 0xFF)
        self._sc = 0
        # Drop the placeholder first byte and the trailing zeros (T.82 6.8.2.10 allows
        # removing them; decoders read 0x00 past the end of SCD).
        return bytes(self._out[1:]).rstrip(b"\x00")


class QmDecoder:
    """T.82 arithmetic decoder (INITDEC, DECODE) reading unstuffed SCD, 0x00 past its end."""

    __slots__ = ("_a", "_c", "_ct", "_data", "_pos", "states")

    def __init__(self, context_count: int = CONTEXT_COUNT) -> None:
        self.states: list[int] = [0] * context_count
        self._data = b""
        self._pos = 0
        self._a = 0x10000
        self._c = 0
        self._ct = 0

    def start(self, scd: bytes, *, reset_contexts: bool) -> None:
        """INITDEC on one stripe's SCD; reset every context if asked."""
        if reset_contexts:
            self.states = [0] * len(self.states)
        self._data = scd
        self._pos = 0
        # Three bytes into C: the first two form CHIGH, the third waits in CLOW.
        c = self._next_byte() << 16
        c |= self._next_byte() << 8
        c |= self._next_byte()
        self._c = c << 8
        self._ct = 8
        self._a = 0x10000

    def _next_byte(self) -> int:
        pos = self._pos
        self._pos = pos + 1
        data = self._data
        return data[pos] if pos < len(data) else 0

    def decode(self, cx: int) -> int:
        """DECODE one decision in context ``cx`` (LPS_EXCHANGE / MPS_EXCHANGE + RENORMD)."""
        states = self.states
        s = states[cx]
        lsz = _LSZ[s]
        a = self._a - lsz
        c = self._c
        if (c >> 16) < a:
            if a >= 0x8000:
                self._a = a
                return s & 1
            # MPS_EXCHANGE: the lower sub-interval, which the exchange may have given the LPS.
            if a < lsz:
                pix = (s & 1) ^ 1
                states[cx] = _AFTER_LPS[s]
            else:
                pix = s & 1
                states[cx] = _AFTER_MPS[s]
        else:
            # LPS_EXCHANGE: the upper sub-interval, the MPS's if the exchange happened.
            c -= a << 16
            if a < lsz:
                pix = s & 1
                states[cx] = _AFTER_MPS[s]
            else:
                pix = (s & 1) ^ 1
                states[cx] = _AFTER_LPS[s]
            a = lsz
        ct = self._ct
        while a < 0x8000:
            if ct == 0:
                c += self._next_byte() << 8
                ct = 8
            a <<= 1
            c <<= 1
            ct -= 1
        self._a = a
        self._c = c
        self._ct = ct
        return pix
