"""Parsing of hex and digit arguments with one-line errors that name the argument.

These are what a command line (``poskit hsm kcv --key HEX``) or a configuration loader calls,
so that bad input fails as ``--key: odd number of hex digits`` instead of a traceback. The
messages never echo the value: it may be a key or a PAN.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from poskit.crypto.errors import InputError

__all__ = ["parse_digits", "parse_hex", "parse_key"]

_HEX = frozenset("0123456789abcdefABCDEF")
_SEPARATORS = str.maketrans("", "", " :-")


def parse_hex(value: str, argument: str, *, lengths: Collection[int] | None = None) -> bytes:
    """Decode ``value`` (hex; spaces, ``:`` and ``-`` are ignored) to bytes.

    ``lengths`` lists the accepted lengths in bytes. Raises :class:`InputError` naming
    ``argument`` for a non-hex character (with its 1-based position), an odd number of digits
    or a length that is not accepted.
    """
    text = value.translate(_SEPARATORS)
    for i, ch in enumerate(text):
        if ch not in _HEX:
            raise InputError(argument, f"not a hex digit at position {i + 1}")
    if len(text) % 2:
        raise InputError(argument, "odd number of hex digits")
    data = bytes.fromhex(text)
    if lengths is not None and len(data) not in lengths:
        wanted = " or ".join(str(n) for n in sorted(lengths))
        raise InputError(argument, f"{len(data)} bytes, expected {wanted}")
    return data


def parse_key(
    value: str,
    argument: str,
    *,
    algorithm: Literal["TDES", "AES", "SM4"] = "TDES",
    parity: Literal["ignore", "check"] = "ignore",
) -> bytes:
    """Decode a clear key given in hex, checking its length (and DES odd parity if asked)."""
    # Imported here: des imports this module's sibling errors only, but keep the graph flat.
    from poskit.crypto.des import has_odd_parity

    lengths = {"TDES": (8, 16, 24), "AES": (16, 24, 32), "SM4": (16,)}[algorithm]
    key = parse_hex(value, argument, lengths=lengths)
    if algorithm == "TDES" and parity == "check" and not has_odd_parity(key):
        raise InputError(argument, "DES key does not have odd parity")
    return key


def parse_digits(value: str, argument: str, *, min_length: int = 1, max_length: int | None = None) -> str:
    """Check that ``value`` is ASCII digits within the given length range and return it."""
    for i, ch in enumerate(value):
        if not "0" <= ch <= "9":
            raise InputError(argument, f"not a digit at position {i + 1}")
    n = len(value)
    if n < min_length or (max_length is not None and n > max_length):
        if max_length is None:
            raise InputError(argument, f"{n} digits, expected at least {min_length}")
        if min_length == max_length:
            raise InputError(argument, f"{n} digits, expected {min_length}")
        raise InputError(argument, f"{n} digits, expected {min_length} to {max_length}")
    return value
