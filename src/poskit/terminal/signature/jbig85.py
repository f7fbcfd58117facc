"""JBIG1 bi-level images in the ITU-T T.85 facsimile profile: what UnionPay terminals put in F62.

Implemented from ITU-T T.82 (JBIG1, ISO/IEC 11544) restricted by ITU-T T.85 (the
"application profile for facsimile"): one resolution layer (DL = D = 0), one bit-plane
(P = 1), no differential-layer tools (TPDON = DPON = 0, no DPTABLE), AT pixel moves only
horizontally (MY = 0, MX <= 127). What is covered:

* **BIE layout**: a 20-byte BIH ``DL D P 00 XD(4) YD(4) L0(4) MX MY ORDER OPTIONS``
  (big-endian), then stripe data entities (SDE), each being PSCD terminated by
  ``ESC SDNORM`` (0xFF 0x02) or ``ESC SDRST`` (0xFF 0x03), with floating marker segments
  (``ESC ATMOVE`` 0xFF 0x06 YAT(4) tx ty, ``ESC NEWLEN`` 0xFF 0x05 YD(4), ``ESC COMMENT``
  0xFF 0x07 Lc(4) data, ``ESC ABORT`` 0xFF 0x04) allowed between SDEs. Inside PSCD a coded
  0xFF byte is followed by a stuffed 0x00 (ESC STUFF).
* **Stripes** of L0 lines (the last one may be shorter). SDNORM keeps the context
  statistics, the typical-prediction state, the AT position and the lines above the stripe;
  SDRST resets all of them (the next stripe sees white lines above it). The arithmetic coder
  registers restart at every stripe.
* **Templates** of the lowest-resolution layer, with CX bit 9 first::

      three-line (LRLTWO=0)          two-line (LRLTWO=1)
      y-2:     9 8 7                 y-1:  9 8 7 6 5 A4
      y-1:   6 5 4 3 A2              y  :  3 2 1 0 ?
      y  :   1 0 ?

  ``A`` is the adaptive-template pixel, by default at (x+2, y-1); an ATMOVE with tx != 0
  moves it to (x-tx, y) in the current line (tx >= 3 three-line, tx >= 5 two-line,
  tx <= MX). Pixels outside the image are white (0).
* **Typical prediction** TPBON (layer-0 TP): before each line the pseudo-pixel
  SLNTP = !(LNTP(y) xor LNTP(y-1)) is coded in context 0x0E5 (three-line) / 0x195
  (two-line), LNTP(y) = 1 when line y differs from line y-1 (the line above the image is
  white; LNTP(-1) = 1). A typical line (LNTP = 0) is not coded further.
* **QM coder**: see :mod:`poskit.terminal.signature.qm_coder` (T.82 6.8, Table 24).
* **VLENGTH / NEWLEN** (T.85): the decoder accepts a NEWLEN anywhere between SDEs, including
  straight after the SDE that holds the new last line (it then applies to that stripe) and the
  "late" form ``... ESC SDNORM ESC NEWLEN YD ESC SDNORM`` that T.85 requires decoders to accept.

Deviations and choices (all conforming):

* The encoder never moves the AT pixel by itself (T.82's ATMOVE decision procedure is
  informative); ``at_moves`` lets a caller request moves at stripe starts, and MX in the
  BIH is the largest tx requested (0 otherwise). ATMOVE's YAT counts lines from the start
  of the stripe that follows the marker segment.
* The encoder drops trailing 0x00 bytes of each stripe's SCD (T.82 6.8.2.10 permits it).
* Only the T.85 subset is decoded: other BIH values (progressive layers, several planes,
  TPDON/DPON, MY != 0, non-zero ORDER) are rejected with :class:`JbigError`; so is anything
  after the last line other than empty SDEs and floating marker segments.
* The decoder is a single-pass, whole-buffer decoder (no streaming) with a ``max_pixels``
  budget so hostile headers cannot exhaust memory or time.

Verification: the QM coder reproduces the T.82 7.1 test sequence byte for byte, and the
encoder reproduces the BIE sizes T.82 7.2.2 publishes for its 1960 x 1951 test image
(317384, 317132 and 253653 bytes); see ``tests/terminal/signature``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from poskit.terminal.signature.qm_coder import QmDecoder, QmEncoder

__all__ = [
    "BIH_LENGTH",
    "DEFAULT_MAX_PIXELS",
    "SIGNATURE_MAX_PIXELS",
    "BiLevelHeader",
    "JbigError",
    "JbigParameterError",
    "decode_t85",
    "encode_t85",
    "parse_bih",
]

BIH_LENGTH = 20
#: Enough for a 1728 x 2376 fax page; a 384-pixel-wide signature is far below it.
DEFAULT_MAX_PIXELS = 1 << 22
#: Budget for e-signatures (a 384 x 384 bitmap is 147456 pixels): decoding untrusted
#: uploads in pure Python should stay in the tens of milliseconds.
SIGNATURE_MAX_PIXELS = 1 << 20
_MAX_U32 = 0xFFFFFFFF

# Marker codes (T.82 Table 2)
_ESC = 0xFF
_STUFF = 0x00
_RESERVE = 0x01
_SDNORM = 0x02
_SDRST = 0x03
_ABORT = 0x04
_NEWLEN = 0x05
_ATMOVE = 0x06
_COMMENT = 0x07

# BIH OPTIONS byte
_LRLTWO = 0x40
_VLENGTH = 0x20
_TPDON = 0x10
_TPBON = 0x08
_DPON = 0x04
_DPPRIV = 0x02
_DPLAST = 0x01

# Contexts of the TP pseudo-pixel SLNTP (the same values as JBIG2's TPGDON for its
# templates 2 and 3, which are these two templates).
_TP_CX_THREE_LINE = 0x0E5
_TP_CX_TWO_LINE = 0x195

# Unpacked rows are bytes of 0/1 with white padding: _LEFT on the left so x - tx (tx <= 127)
# and x - 3 never index below zero, 4 on the right for x + 3.
_LEFT = 128
_RIGHT = 4
_TO_BITS = bytes.maketrans(b"01", b"\x00\x01")
_TO_ASCII = bytes.maketrans(b"\x00\x01", b"01")


class JbigError(ValueError):
    """Malformed or unsupported JBIG (T.82/T.85) data; ``position`` is the byte offset."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        where = f" at byte {position}" if position is not None else ""
        super().__init__(f"invalid JBIG data{where}: {reason}")
        self.reason = reason
        self.position = position


class JbigParameterError(JbigError):
    """An encoder argument outside what T.85 (or this encoder) allows."""

    def __init__(self, argument: str, reason: str) -> None:
        ValueError.__init__(self, f"invalid JBIG encoder argument {argument}: {reason}")
        self.argument = argument
        self.reason = reason
        self.position = None


@dataclasses.dataclass(frozen=True, slots=True)
class BiLevelHeader:
    """The fields of a T.85 BIH (DL = D = 0, P = 1, MY = 0, ORDER = 0 are implied)."""

    width: int
    height: int
    l0: int
    mx: int = 0
    lrltwo: bool = False
    vlength: bool = False
    tpbon: bool = True

    def to_bytes(self) -> bytes:
        options = _LRLTWO if self.lrltwo else 0
        options |= _VLENGTH if self.vlength else 0
        options |= _TPBON if self.tpbon else 0
        return (
            bytes((0, 0, 1, 0))
            + self.width.to_bytes(4, "big")
            + self.height.to_bytes(4, "big")
            + self.l0.to_bytes(4, "big")
            + bytes((self.mx, 0, 0, options))
        )


def parse_bih(data: bytes) -> BiLevelHeader:
    """Parse and check the 20-byte BIH at the start of ``data`` against the T.85 profile."""
    if len(data) < BIH_LENGTH:
        raise JbigError(f"BIH needs {BIH_LENGTH} bytes, got {len(data)}", len(data))
    if data[0] != 0:
        raise JbigError(f"DL is {data[0]}, T.85 allows only 0 (single layer)", 0)
    if data[1] != 0:
        raise JbigError(f"D is {data[1]}, T.85 allows only 0 (no progressive layers)", 1)
    if data[2] != 1:
        raise JbigError(f"P is {data[2]}, T.85 allows only 1 bit-plane", 2)
    if data[3] != 0:
        raise JbigError("fill byte after P must be 0", 3)
    width = int.from_bytes(data[4:8], "big")
    height = int.from_bytes(data[8:12], "big")
    l0 = int.from_bytes(data[12:16], "big")
    if width == 0:
        raise JbigError("XD (width) is 0", 4)
    if height == 0:
        raise JbigError("YD (height) is 0", 8)
    if l0 == 0:
        raise JbigError("L0 (lines per stripe) is 0", 12)
    mx, my, order, options = data[16], data[17], data[18], data[19]
    if mx > 127:
        raise JbigError(f"MX is {mx}, T.85 allows at most 127", 16)
    if my != 0:
        raise JbigError(f"MY is {my}, T.85 allows only 0", 17)
    if order != 0:
        raise JbigError(f"ORDER is 0x{order:02X}, T.85 allows only 0", 18)
    if options & 0x80:
        raise JbigError("reserved bit 7 of OPTIONS is set", 19)
    if options & (_TPDON | _DPON | _DPPRIV | _DPLAST):
        raise JbigError(f"OPTIONS 0x{options:02X} uses TPDON/DPON, not allowed by T.85", 19)
    return BiLevelHeader(
        width=width,
        height=height,
        l0=l0,
        mx=mx,
        lrltwo=bool(options & _LRLTWO),
        vlength=bool(options & _VLENGTH),
        tpbon=bool(options & _TPBON),
    )


# --------------------------------------------------------------------------- rows


def _row_bytes(width: int) -> int:
    return (width + 7) // 8


def _unpack(row: bytes, width: int) -> bytes:
    """Packed MSB-first row -> padded 0/1 bytes (pixel x at index _LEFT + x)."""
    bits = format(int.from_bytes(row, "big"), f"0{8 * len(row)}b")[:width]
    return bytes(_LEFT) + bits.encode("ascii").translate(_TO_BITS) + bytes(_RIGHT)


def _pack(pixels: bytes | bytearray, width: int) -> bytes:
    """Padded 0/1 bytes -> packed MSB-first row with zero padding bits."""
    nbytes = _row_bytes(width)
    bits = bytes(pixels[_LEFT : _LEFT + width]).translate(_TO_ASCII)
    return (int(bits, 2) << (8 * nbytes - width)).to_bytes(nbytes, "big")


def _white(width: int) -> bytes:
    return bytes(_LEFT + width + _RIGHT)


# --------------------------------------------------------------------------- encoder


def _encode_row(enc: QmEncoder, r2: bytes, r1: bytes, r0: bytes, width: int, two_line: bool, tx: int) -> None:
    """Code every pixel of line ``r0`` with lines ``r1`` (y-1) and ``r2`` (y-2) as context."""
    encode = enc.encode
    o = _LEFT
    if two_line:
        # w1: y-1 pixels x-3..x+2 (bits 9..4 of CX), w0: y pixels x-4..x-1 (bits 3..0).
        w1 = (r1[o] << 2) | (r1[o + 1] << 1) | r1[o + 2]
        w0 = 0
        for i in range(o, o + width):
            pix = r0[i]
            if tx:
                encode(((w1 >> 1) << 5) | (r0[i - tx] << 4) | w0, pix)
            else:
                encode((w1 << 4) | w0, pix)
            w1 = ((w1 << 1) & 0x3F) | r1[i + 3]
            w0 = ((w0 << 1) & 0xF) | pix
    else:
        # w2: y-2 pixels x-1..x+1 (bits 9..7), w1: y-1 pixels x-2..x+2 (bits 6..2),
        # w0: y pixels x-2..x-1 (bits 1..0).
        w2 = (r2[o] << 1) | r2[o + 1]
        w1 = (r1[o] << 2) | (r1[o + 1] << 1) | r1[o + 2]
        w0 = 0
        for i in range(o, o + width):
            pix = r0[i]
            if tx:
                encode((w2 << 7) | ((w1 >> 1) << 3) | (r0[i - tx] << 2) | w0, pix)
            else:
                encode((w2 << 7) | (w1 << 2) | w0, pix)
            w2 = ((w2 << 1) & 0x7) | r2[i + 2]
            w1 = ((w1 << 1) & 0x1F) | r1[i + 3]
            w0 = ((w0 << 1) & 0x3) | pix


def _stuff(scd: bytes) -> bytes:
    """SCD -> PSCD: every 0xFF is followed by a stuffed 0x00 (ESC STUFF)."""
    return scd.replace(b"\xff", b"\xff\x00")


def _check_encoder_arguments(
    rows: Sequence[bytes],
    width: int,
    height: int,
    l0: int,
    lrltwo: bool,
    at_moves: Mapping[int, int],
) -> None:
    if not 1 <= width <= _MAX_U32:
        raise JbigParameterError("width", f"{width} is outside 1..{_MAX_U32}")
    if not 1 <= height < _MAX_U32:
        raise JbigParameterError("height", f"{height} is outside 1..{_MAX_U32 - 1}")
    if not 1 <= l0 <= _MAX_U32:
        raise JbigParameterError("l0", f"{l0} is outside 1..{_MAX_U32}")
    if len(rows) != height:
        raise JbigParameterError("rows", f"{len(rows)} rows given for height {height}")
    nbytes = _row_bytes(width)
    for y, row in enumerate(rows):
        if len(row) != nbytes:
            raise JbigParameterError("rows", f"row {y} has {len(row)} bytes, width {width} needs {nbytes}")
    stripes = -(-height // l0)
    min_tx = 5 if lrltwo else 3
    for stripe, tx in at_moves.items():
        if not 0 <= stripe < stripes:
            raise JbigParameterError("at_moves", f"stripe {stripe} is outside 0..{stripes - 1}")
        if tx != 0 and not min_tx <= tx <= 127:
            raise JbigParameterError("at_moves", f"tx {tx} for stripe {stripe} must be 0 or {min_tx}..127")


def encode_t85(
    rows: Sequence[bytes],
    width: int,
    height: int,
    *,
    l0: int = 128,
    tpbon: bool = True,
    lrltwo: bool = False,
    vlength: bool = False,
    reset_stripes: bool = False,
    at_moves: Mapping[int, int] | None = None,
) -> bytes:
    """Encode a bilevel image as a complete T.85 BIE (BIH + stripe data entities).

    ``rows`` are ``height`` packed rows of ``ceil(width / 8)`` bytes, MSB = leftmost pixel,
    1 = black; padding bits past ``width`` are ignored. ``l0`` is lines per stripe (128 is
    the T.85 basic value), ``tpbon`` enables typical prediction, ``lrltwo`` selects the
    two-line template. ``vlength`` writes YD = 0xFFFFFFFF and announces the real height in
    a NEWLEN after the last stripe (the T.85 late-NEWLEN form). ``reset_stripes`` ends every
    stripe with SDRST instead of SDNORM. ``at_moves`` maps a stripe index to the AT offset tx
    used from the first line of that stripe (written as an ATMOVE marker segment).
    """
    moves = dict(at_moves or {})
    _check_encoder_arguments(rows, width, height, l0, lrltwo, moves)
    header = BiLevelHeader(
        width=width,
        height=_MAX_U32 if vlength else height,
        l0=l0,
        mx=max(moves.values(), default=0),
        lrltwo=lrltwo,
        vlength=vlength,
        tpbon=tpbon,
    )
    out = bytearray(header.to_bytes())
    nbytes = _row_bytes(width)
    # Clear padding bits so typical prediction compares only real pixels.
    mask_last = (0xFF << (8 * nbytes - width)) & 0xFF
    packed = [bytes(row[:-1]) + bytes((row[-1] & mask_last,)) for row in rows]
    white_packed = bytes(nbytes)
    white = _white(width)
    tp_cx = _TP_CX_TWO_LINE if lrltwo else _TP_CX_THREE_LINE
    end_marker = bytes((_ESC, _SDRST if reset_stripes else _SDNORM))

    enc = QmEncoder()
    prev2 = prev1 = white
    prev_packed = white_packed
    lntp_prev = 1
    tx = 0
    reset = True
    for stripe, first in enumerate(range(0, height, l0)):
        if stripe in moves:
            tx = moves[stripe]
            out += bytes((_ESC, _ATMOVE)) + (0).to_bytes(4, "big") + bytes((tx, 0))
        enc.start(reset_contexts=reset)
        for y in range(first, min(first + l0, height)):
            row = packed[y]
            if tpbon:
                lntp = 0 if row == prev_packed else 1
                enc.encode(tp_cx, 1 ^ lntp ^ lntp_prev)
                lntp_prev = lntp
                if not lntp:
                    prev2 = prev1
                    continue
            cur = _unpack(row, width)
            _encode_row(enc, prev2, prev1, cur, width, lrltwo, tx)
            prev2, prev1, prev_packed = prev1, cur, row
        out += _stuff(enc.flush())
        out += end_marker
        reset = reset_stripes
        if reset_stripes:
            prev2 = prev1 = white
            prev_packed = white_packed
            lntp_prev = 1
            tx = 0
    if vlength:
        # NEWLEN after the final SDE, then an empty SDE (T.82 6.2.6.2 / T.85).
        out += bytes((_ESC, _NEWLEN)) + height.to_bytes(4, "big") + bytes((_ESC, _SDNORM))
    return bytes(out)


# --------------------------------------------------------------------------- decoder


def _decode_row(dec: QmDecoder, r2: bytes, r1: bytes, width: int, two_line: bool, tx: int) -> bytearray:
    """Decode one line given lines y-1 (``r1``) and y-2 (``r2``); returns padded 0/1 bytes."""
    decode = dec.decode
    cur = bytearray(_LEFT + width + _RIGHT)
    o = _LEFT
    if two_line:
        w1 = (r1[o] << 2) | (r1[o + 1] << 1) | r1[o + 2]
        w0 = 0
        for i in range(o, o + width):
            cx = (((w1 >> 1) << 5) | (cur[i - tx] << 4) | w0) if tx else ((w1 << 4) | w0)
            pix = decode(cx)
            cur[i] = pix
            w1 = ((w1 << 1) & 0x3F) | r1[i + 3]
            w0 = ((w0 << 1) & 0xF) | pix
    else:
        w2 = (r2[o] << 1) | r2[o + 1]
        w1 = (r1[o] << 2) | (r1[o + 1] << 1) | r1[o + 2]
        w0 = 0
        for i in range(o, o + width):
            # Bits 6..2: line y-1 x-2..x+2, or x-2..x+1 plus the moved AT pixel at bit 2.
            middle = (((w1 >> 1) << 3) | (cur[i - tx] << 2)) if tx else (w1 << 2)
            pix = decode((w2 << 7) | middle | w0)
            cur[i] = pix
            w2 = ((w2 << 1) & 0x7) | r2[i + 2]
            w1 = ((w1 << 1) & 0x1F) | r1[i + 3]
            w0 = ((w0 << 1) & 0x3) | pix
    return cur


class _Decoder:
    """One pass over a BIE: floating marker segments, SDEs, NEWLEN bookkeeping."""

    def __init__(self, data: bytes, max_pixels: int) -> None:
        self.data = data
        self.max_pixels = max_pixels
        self.header = parse_bih(data)
        self.width = self.header.width
        self.height = self.header.height
        if self.width > max_pixels:
            raise JbigError(f"width {self.width} exceeds the {max_pixels}-pixel budget", 4)
        if not self.header.vlength and self.width * self.height > max_pixels:
            raise JbigError(f"{self.width}x{self.height} exceeds the {max_pixels}-pixel budget", 8)
        self.min_tx = 5 if self.header.lrltwo else 3
        self.pos = BIH_LENGTH
        self.pending_moves: dict[int, int] = {}

    # ---- marker segments

    def _u32(self, at: int) -> int:
        if at + 4 > len(self.data):
            raise JbigError("marker segment is truncated", len(self.data))
        return int.from_bytes(self.data[at : at + 4], "big")

    def _floating(self, lines_done: int) -> None:
        """Consume one floating marker segment at ``self.pos`` (ESC already checked)."""
        data, at = self.data, self.pos
        code = data[at + 1]
        if code == _COMMENT:
            length = self._u32(at + 2)
            end = at + 6 + length
            if end > len(data):
                raise JbigError(f"COMMENT of {length} bytes runs past the end", at)
            self.pos = end
        elif code == _ATMOVE:
            yat = self._u32(at + 2)
            if at + 8 > len(data):
                raise JbigError("ATMOVE marker segment is truncated", len(data))
            tx, ty = data[at + 6], data[at + 7]
            if ty != 0:
                raise JbigError(f"ATMOVE ty is {ty}, T.85 allows only 0", at + 7)
            if tx != 0 and not self.min_tx <= tx <= self.header.mx:
                raise JbigError(f"ATMOVE tx {tx} must be 0 or {self.min_tx}..MX={self.header.mx}", at + 6)
            if yat >= self.header.l0:
                raise JbigError(f"ATMOVE line {yat} is not inside a stripe of L0={self.header.l0}", at + 2)
            self.pending_moves[yat] = tx
            self.pos = at + 8
        elif code == _NEWLEN:
            self._newlen(at, lines_done)
        elif code == _ABORT:
            raise JbigError("ABORT marker segment", at)
        elif code == _RESERVE:
            raise JbigError("RESERVE marker is not allowed", at)
        else:
            raise JbigError(f"unknown marker 0x{code:02X}", at)

    def _newlen(self, at: int, lines_done: int) -> None:
        new_height = self._u32(at + 2)
        if not self.header.vlength:
            raise JbigError("NEWLEN without VLENGTH in the BIH", at)
        if new_height == 0:
            raise JbigError("NEWLEN to 0 lines", at + 2)
        if new_height > self.height:
            raise JbigError(f"NEWLEN {new_height} is larger than YD {self.height}", at + 2)
        if new_height < lines_done:
            raise JbigError(f"NEWLEN {new_height} is below the {lines_done} lines already decoded", at + 2)
        self.height = new_height
        self.pos = at + 6

    def _is_floating_marker(self) -> bool:
        data, at = self.data, self.pos
        if data[at] != _ESC:
            return False
        if at + 1 >= len(data):
            raise JbigError("data ends after ESC", at)
        # ESC STUFF starts a PSCD with a coded 0xFF; SDNORM/SDRST here is an empty SDE.
        return data[at + 1] not in (_STUFF, _SDNORM, _SDRST)

    def _read_sde(self) -> tuple[bytes, int]:
        """Read PSCD up to ESC SDNORM/SDRST, removing stuffing; returns (SCD, end marker)."""
        data, pos = self.data, self.pos
        scd = bytearray()
        while True:
            esc = data.find(b"\xff", pos)
            if esc < 0 or esc + 1 >= len(data):
                raise JbigError("stripe data is not terminated by SDNORM/SDRST", len(data))
            scd += data[pos:esc]
            code = data[esc + 1]
            if code == _STUFF:
                scd.append(0xFF)
                pos = esc + 2
                continue
            if code in (_SDNORM, _SDRST):
                self.pos = esc + 2
                return bytes(scd), code
            if code == _ABORT:
                raise JbigError("ABORT marker segment", esc)
            raise JbigError(f"marker 0x{code:02X} inside stripe data", esc)

    # ---- image

    def run(self) -> tuple[int, int, list[bytes]]:
        header, data, width = self.header, self.data, self.width
        nbytes = _row_bytes(width)
        white = _white(width)
        white_packed = bytes(nbytes)
        tp_cx = _TP_CX_TWO_LINE if header.lrltwo else _TP_CX_THREE_LINE
        dec = QmDecoder()
        rows: list[bytes] = []
        prev2 = prev1 = white
        prev_packed = white_packed
        lntp_prev = 1
        tx = 0
        reset = True
        while len(rows) < self.height:
            if self.pos >= len(data):
                raise JbigError(f"data ends after {len(rows)} of {self.height} lines", len(data))
            if self._is_floating_marker():
                self._floating(len(rows))
                continue
            sde_at = self.pos
            scd, end_marker = self._read_sde()
            # A NEWLEN straight after an SDE may end the image inside that stripe (T.82 6.2.6.2).
            if header.vlength and data[self.pos : self.pos + 2] == bytes((_ESC, _NEWLEN)):
                self._newlen(self.pos, len(rows))
            lines = min(header.l0, self.height - len(rows))
            if lines <= 0:
                raise JbigError("stripe data entity after the last line", sde_at)
            if (len(rows) + lines) * width > self.max_pixels:
                raise JbigError(f"image exceeds the {self.max_pixels}-pixel budget", sde_at)
            moves, self.pending_moves = self.pending_moves, {}
            dec.start(scd, reset_contexts=reset)
            for line in range(lines):
                if line in moves:
                    tx = moves[line]
                if header.tpbon:
                    lntp = lntp_prev ^ 1 ^ dec.decode(tp_cx)
                    lntp_prev = lntp
                    if not lntp:
                        rows.append(prev_packed)
                        prev2 = prev1
                        continue
                cur = _decode_row(dec, prev2, prev1, width, header.lrltwo, tx)
                packed = _pack(cur, width)
                rows.append(packed)
                prev2, prev1, prev_packed = prev1, bytes(cur), packed
            reset = end_marker == _SDRST
            if reset:
                prev2 = prev1 = white
                prev_packed = white_packed
                lntp_prev = 1
                tx = 0
        self._check_trailer(len(rows))
        return width, self.height, rows

    def _check_trailer(self, lines_done: int) -> None:
        """After the last line only floating marker segments and empty SDEs may follow."""
        data = self.data
        while self.pos < len(data):
            at = self.pos
            if data[at] != _ESC or at + 1 >= len(data):
                raise JbigError("data after the last line", at)
            code = data[at + 1]
            if code in (_SDNORM, _SDRST):
                self.pos = at + 2
            elif code == _STUFF:
                raise JbigError("stripe data after the last line", at)
            else:
                self._floating(lines_done)


def decode_t85(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, list[bytes]]:
    """Decode a T.85 BIE to ``(width, height, rows)``: packed rows, MSB first, 1 = black.

    Raises :class:`JbigError` (a ``ValueError``) for anything malformed, outside the T.85
    profile, or larger than ``max_pixels``; never any other exception for bad input.
    """
    if max_pixels < 1:
        raise JbigParameterError("max_pixels", f"{max_pixels} must be at least 1")
    return _Decoder(bytes(data), max_pixels).run()
