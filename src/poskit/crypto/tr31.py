"""TR-31 / ANSI X9.143 key blocks, versions B (TDES KBPK) and D (AES KBPK).

A key block is printable text: a 16-character header, optional blocks, the encrypted key data
in hex and a MAC in hex::

    D 0112 P0 A E 00 N 00 00 | optional blocks | hex(E(len || key || pad)) | hex(MAC)
    ^ ^    ^  ^ ^ ^  ^ ^  ^
    | |    |  | | |  | |  reserved
    | |    |  | | |  | number of optional blocks
    | |    |  | | |  exportability (E, N, S)
    | |    |  | | key version number
    | |    |  | mode of use (B, C, D, E, G, N, S, T, V, X, Y)
    | |    |  algorithm (A AES, D DES, T TDES, H HMAC, ...)
    | |    key usage (P0, M3, K0, B0, ...)
    | total length
    version ID

The key block protection key (KBPK) is never used directly: an encryption key (KBEK) and a MAC
key (KBAK) are derived from it with CMAC in counter mode (8-byte input: counter, usage 0000 or
0001, separator 00, algorithm and length of the KBPK). The MAC is CMAC(KBAK, header || clear key
data): 16 bytes for D, 8 for B. Key data (2-byte key length in bits, key, random padding,
masking the key length up to the algorithm maximum) is CBC-encrypted under the KBEK with the
MAC as IV. Any bad field, or a MAC that fails, raises :class:`KeyBlockError` naming the field and
its 1-based character position.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives.cmac import CMAC

from poskit.crypto._engine import BlockCipher, block_algorithm
from poskit.crypto.errors import KeyBlockError

__all__ = [
    "ALGORITHMS",
    "EXPORTABILITY",
    "MODES_OF_USE",
    "KeyBlockHeader",
    "KeyBlockWrapper",
    "parse_header",
    "unwrap",
    "wrap",
]

ALGORITHMS = frozenset("ADEHRST")
MODES_OF_USE = frozenset("BCDEGNSTVXY")
EXPORTABILITY = frozenset("ENS")

_VERSION_BLOCK = {"B": 8, "D": 16}
_VERSION_MAC = {"B": 8, "D": 16}
_HEX = frozenset("0123456789ABCDEF")
RandomSource = Callable[[int], bytes]


def _alnum(text: str) -> bool:
    return text.isascii() and text.isalnum()


@dataclass(frozen=True)
class KeyBlockHeader:
    """The clear header of a key block. Numeric values are allowed where TR-31 reserves them
    for proprietary use (usage, algorithm, mode of use)."""

    version: str
    usage: str
    algorithm: str
    mode: str
    key_version: str = "00"
    exportability: str = "E"
    optional_blocks: tuple[tuple[str, str], ...] = field(default=())
    reserved: str = "00"

    def validate(self) -> None:
        """Raise :class:`KeyBlockError` for a field TR-31 does not allow."""
        if self.version not in _VERSION_BLOCK:
            raise KeyBlockError(
                f"version {self.version!r} not supported (B or D)", field="version ID", position=1
            )
        if len(self.usage) != 2 or not _alnum(self.usage):
            raise KeyBlockError("must be 2 letters or digits", field="key usage", position=6)
        if len(self.algorithm) != 1 or not (self.algorithm in ALGORITHMS or self.algorithm.isdigit()):
            raise KeyBlockError(f"{self.algorithm!r} is not a TR-31 algorithm", field="algorithm", position=8)
        if len(self.mode) != 1 or not (self.mode in MODES_OF_USE or self.mode.isdigit()):
            raise KeyBlockError(f"{self.mode!r} is not a TR-31 mode of use", field="mode of use", position=9)
        if len(self.key_version) != 2 or not _alnum(self.key_version):
            raise KeyBlockError("must be 2 letters or digits", field="key version number", position=10)
        if self.exportability not in EXPORTABILITY or len(self.exportability) != 1:
            raise KeyBlockError(
                f"{self.exportability!r} is not E, N or S", field="exportability", position=12
            )
        if len(self.reserved) != 2 or not _alnum(self.reserved):
            raise KeyBlockError("must be 2 letters or digits", field="reserved", position=15)
        for block_id, data in self.optional_blocks:
            if len(block_id) != 2 or not _alnum(block_id):
                raise KeyBlockError(
                    f"optional block ID {block_id!r} is not 2 letters or digits",
                    field="optional blocks",
                    position=17,
                )
            if not data.isascii() or not data.isprintable():
                raise KeyBlockError(
                    f"optional block {block_id} data is not printable ASCII",
                    field="optional blocks",
                    position=17,
                )

    def _optional_text(self) -> tuple[int, str]:
        """The optional blocks as text, with a PB block padding them to the cipher block."""
        parts = []
        count = 0
        for block_id, data in self.optional_blocks:
            if block_id == "PB":
                continue  # padding is recomputed
            count += 1
            n = len(data) + 4
            if n <= 255:
                parts.append(f"{block_id}{n:02X}{data}")
            else:
                parts.append(f"{block_id}0002{len(data) + 10:04X}{data}")
        text = "".join(parts)
        bs = _VERSION_BLOCK[self.version]
        if text and len(text) % bs:
            pad = -(len(text) + 4) % bs
            text += f"PB{pad + 4:02X}" + "0" * pad
            count += 1
        if count > 99:
            raise KeyBlockError("more than 99 optional blocks", field="optional blocks", position=13)
        return count, text

    def encode(self, total_length: int) -> str:
        """The header text (with optional blocks) for a block of ``total_length`` characters."""
        count, blocks = self._optional_text()
        return (
            f"{self.version}{total_length:04d}{self.usage}{self.algorithm}{self.mode}"
            f"{self.key_version}{self.exportability}{count:02d}{self.reserved}{blocks}"
        )

    def optional_length(self) -> int:
        """Characters taken by the optional blocks (after padding)."""
        return len(self._optional_text()[1])


def parse_header(block: str) -> tuple[KeyBlockHeader, int]:
    """Parse a key block's header and optional blocks without any key.

    Returns the header and the number of characters it takes (16 + optional blocks).
    """
    if not block.isascii():
        raise KeyBlockError("contains non-ASCII characters")
    if len(block) < 16:
        raise KeyBlockError(f"{len(block)} characters, shorter than the 16-character header")
    length_text = block[1:5]
    if not length_text.isdigit():
        raise KeyBlockError("not 4 digits", field="key block length", position=2)
    if int(length_text) != len(block):
        raise KeyBlockError(
            f"says {int(length_text)} characters, the block has {len(block)}",
            field="key block length",
            position=2,
        )
    count_text = block[12:14]
    if not count_text.isdigit():
        raise KeyBlockError("not 2 digits", field="number of optional blocks", position=13)
    pos = 16
    blocks: list[tuple[str, str]] = []
    for _ in range(int(count_text)):
        if pos + 4 > len(block):
            raise KeyBlockError("runs past the end of the block", field="optional blocks", position=pos + 1)
        block_id = block[pos : pos + 2]
        length_hex = block[pos + 2 : pos + 4]
        if not all(ch in _HEX for ch in length_hex):
            raise KeyBlockError(
                f"block {block_id} length is not hex", field="optional blocks", position=pos + 3
            )
        n = int(length_hex, 16)
        start = pos + 4
        if n == 0:  # extended length: 2 hex digits giving the length of the length
            ll_text = block[pos + 4 : pos + 6]
            if len(ll_text) != 2 or not all(ch in _HEX for ch in ll_text):
                raise KeyBlockError(
                    f"block {block_id} extended length is not hex", field="optional blocks", position=pos + 5
                )
            ll = int(ll_text, 16)
            ext = block[pos + 6 : pos + 6 + 2 * ll]
            if len(ext) != 2 * ll or not ext or not all(ch in _HEX for ch in ext):
                raise KeyBlockError(
                    f"block {block_id} extended length is not hex", field="optional blocks", position=pos + 7
                )
            n = int(ext, 16)
            start = pos + 6 + 2 * ll
        if n < start - pos or pos + n > len(block):
            raise KeyBlockError(
                f"block {block_id} length {n} is inconsistent", field="optional blocks", position=pos + 3
            )
        blocks.append((block_id, block[start : pos + n]))
        pos += n
    header = KeyBlockHeader(
        version=block[0],
        usage=block[5:7],
        algorithm=block[7],
        mode=block[8],
        key_version=block[9:11],
        exportability=block[11],
        optional_blocks=tuple(blocks),
        reserved=block[14:16],
    )
    header.validate()
    return header, pos


def _cmac(alg_key: bytes, algorithm: str, data: bytes) -> bytes:
    c = CMAC(block_algorithm(alg_key, "AES" if algorithm == "D" else "TDES", "kbpk"))
    c.update(data)
    return c.finalize()


class KeyBlockWrapper:
    """Wraps and unwraps key blocks under one KBPK, keeping the derived KBEK/KBAK."""

    __slots__ = ("_kbak", "_kbek", "_random", "version")

    def __init__(self, kbpk: bytes, version: Literal["B", "D"], *, random: RandomSource = os.urandom) -> None:
        if version not in _VERSION_BLOCK:
            raise KeyBlockError(f"version {version!r} not supported (B or D)", field="version ID", position=1)
        self.version = version
        self._random = random
        self._kbek, self._kbak = _derive_keys(kbpk, version)

    def __repr__(self) -> str:
        return f"KeyBlockWrapper(version={self.version!r})"

    def wrap(self, header: KeyBlockHeader, key: bytes, *, masked_key_length: int | None = None) -> str:
        """The key block of ``key`` with ``header`` (its version must match the KBPK)."""
        header.validate()
        if header.version != self.version:
            raise KeyBlockError(
                f"version {header.version} needs a {'TDES' if header.version == 'B' else 'AES'} KBPK",
                field="version ID",
                position=1,
            )
        if not 1 <= len(key) <= 8191:
            raise KeyBlockError(f"key of {len(key)} bytes cannot be wrapped")
        bs = _VERSION_BLOCK[self.version]
        if masked_key_length is None:
            masked_key_length = {"T": 24, "D": 24, "A": 32}.get(header.algorithm, len(key))
        masked = max(masked_key_length, len(key))
        pad_len = (masked - len(key)) + (-(2 + masked) % bs)
        pad = self._random(pad_len)
        if len(pad) != pad_len:
            raise KeyBlockError(f"random source returned {len(pad)} bytes, wanted {pad_len}")
        clear = (8 * len(key)).to_bytes(2, "big") + key + pad
        mac_len = _VERSION_MAC[self.version]
        total = 16 + header.optional_length() + 2 * len(clear) + 2 * mac_len
        if total > 9999:
            raise KeyBlockError(f"{total} characters, longer than 9999")
        head = header.encode(total)
        mac = _cmac(self._kbak, self.version, head.encode("ascii") + clear)[:mac_len]
        # The MAC is also the CBC IV: 8 bytes for B, 16 for D, one block either way.
        encrypted = BlockCipher(self._kbek, _cipher_name(self.version)).encrypt_cbc(mac, clear)
        return head + encrypted.hex().upper() + mac.hex().upper()

    def unwrap(self, block: str) -> tuple[KeyBlockHeader, bytes]:
        """The header and clear key of ``block``; :class:`KeyBlockError` if bad or tampered."""
        header, head_len = parse_header(block)
        if header.version != self.version:
            raise KeyBlockError(
                f"version {header.version} does not match this {self.version} KBPK",
                field="version ID",
                position=1,
            )
        bs = _VERSION_BLOCK[self.version]
        mac_hex_len = 2 * _VERSION_MAC[self.version]
        body = block[head_len:]
        for i, ch in enumerate(body):
            if ch not in _HEX:
                raise KeyBlockError("not an uppercase hex digit", field="key data", position=head_len + i + 1)
        if len(body) < mac_hex_len + 2 * bs or (len(body) - mac_hex_len) % (2 * bs):
            raise KeyBlockError(
                f"{len(body) - mac_hex_len} hex characters of key data, not whole blocks",
                field="key data",
                position=head_len + 1,
            )
        encrypted = bytes.fromhex(body[:-mac_hex_len])
        mac = bytes.fromhex(body[-mac_hex_len:])
        clear = BlockCipher(self._kbek, _cipher_name(self.version)).decrypt_cbc(mac[:bs], encrypted)
        expected = _cmac(self._kbak, self.version, block[:head_len].encode("ascii") + clear)
        if not hmac.compare_digest(expected[: len(mac)], mac):
            raise KeyBlockError(
                "MAC does not verify (wrong KBPK or a tampered block)",
                field="MAC",
                position=len(block) - mac_hex_len + 1,
            )
        bits = int.from_bytes(clear[:2], "big")
        if bits % 8 or not 0 < bits // 8 <= len(clear) - 2:
            raise KeyBlockError(
                f"key length {bits} bits does not fit the key data", field="key length", position=head_len + 1
            )
        return header, clear[2 : 2 + bits // 8]


def _cipher_name(version: str) -> Literal["AES", "TDES"]:
    return "AES" if version == "D" else "TDES"


def _derive_keys(kbpk: bytes, version: str) -> tuple[bytes, bytes]:
    n = len(kbpk)
    if version == "D":
        if n not in (16, 24, 32):
            raise KeyBlockError(f"KBPK of {n} bytes is not an AES key")
        algorithm, bits = {16: (2, 128), 24: (3, 192), 32: (4, 256)}[n]
        out_block = 16
    else:
        if n not in (16, 24):
            raise KeyBlockError(f"KBPK of {n} bytes is not a 2- or 3-key TDES key")
        algorithm, bits = {16: (0, 128), 24: (1, 192)}[n]
        out_block = 8
    calls = -(-n // out_block)
    keys = []
    for usage in (0, 1):  # 0000 encryption (KBEK), 0001 authentication (KBAK)
        material = b"".join(
            _cmac(
                kbpk,
                version,
                bytes((i,))
                + usage.to_bytes(2, "big")
                + b"\x00"
                + algorithm.to_bytes(2, "big")
                + bits.to_bytes(2, "big"),
            )
            for i in range(1, calls + 1)
        )
        keys.append(material[:n])
    return keys[0], keys[1]


def wrap(
    kbpk: bytes,
    header: KeyBlockHeader,
    key: bytes,
    *,
    masked_key_length: int | None = None,
    random: RandomSource = os.urandom,
) -> str:
    """Wrap ``key`` under ``kbpk`` (version D needs an AES KBPK, B a TDES one)."""
    header.validate()
    version: Literal["B", "D"] = "D" if header.version == "D" else "B"
    wrapper = KeyBlockWrapper(kbpk, version, random=random)
    return wrapper.wrap(header, key, masked_key_length=masked_key_length)


def unwrap(kbpk: bytes, block: str) -> tuple[KeyBlockHeader, bytes]:
    """Unwrap ``block`` under ``kbpk``, choosing the KBPK algorithm from the version ID."""
    if not block:
        raise KeyBlockError("empty")
    version = block[0]
    if version in ("B", "D"):
        return KeyBlockWrapper(kbpk, "D" if version == "D" else "B").unwrap(block)
    raise KeyBlockError(f"version {version!r} not supported (B or D)", field="version ID", position=1)
