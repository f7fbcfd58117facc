"""Typed errors of the security module.

Every error is a :class:`CryptoError`, which subclasses :class:`ValueError` because it is
raised for bad input, a key used outside its usage, or data that fails a cryptographic check.
Messages are one line and name the argument, field or operation involved. They never carry a
clear key, PIN, PIN block, PAN or track data: only lengths, positions, usages and check values.
"""

from __future__ import annotations

__all__ = [
    "CryptoError",
    "DukptExhaustedError",
    "InputError",
    "KeyBlockError",
    "KeyCheckValueError",
    "KeyUsageError",
    "LmkError",
    "MacVerificationError",
    "PinBlockFormatError",
    "UnsupportedAlgorithmError",
]


class CryptoError(ValueError):
    """Base class of every error raised by :mod:`poskit.crypto`."""


class InputError(CryptoError):
    """A bad argument: hex that does not parse, a wrong length, bad parity, a non-digit PIN.

    ``argument`` is what the caller called the value (``"--key"``, ``"pan"``), so a command
    line can print ``--key: odd number of hex digits`` as it is.
    """

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"{argument}: {reason}")
        self.argument = argument
        self.reason = reason

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        return (type(self), (self.argument, self.reason))


class UnsupportedAlgorithmError(CryptoError):
    """An algorithm the installed ``cryptography``/OpenSSL does not provide (e.g. SM4)."""

    def __init__(self, algorithm: str, reason: str = "not available in this build") -> None:
        super().__init__(f"{algorithm}: {reason}")
        self.algorithm = algorithm
        self.reason = reason

    def __reduce__(self) -> tuple[type[UnsupportedAlgorithmError], tuple[str, str]]:
        return (type(self), (self.algorithm, self.reason))


class KeyUsageError(CryptoError):
    """A key used outside its TR-31 key usage, mode of use, algorithm or exportability."""

    def __init__(self, operation: str, usage: str, reason: str) -> None:
        super().__init__(f"{operation}: not permitted with a {usage} key: {reason}")
        self.operation = operation
        self.usage = usage
        self.reason = reason

    def __reduce__(self) -> tuple[type[KeyUsageError], tuple[str, str, str]]:
        return (type(self), (self.operation, self.usage, self.reason))


class KeyCheckValueError(CryptoError):
    """A key's check value differs from the expected one (wrong key, KEK or transmission)."""

    def __init__(self, expected: bytes, actual: bytes) -> None:
        # Check values are public by design: printing them is how custodians compare keys.
        super().__init__(
            f"key check value mismatch: expected {expected.hex().upper()}, computed {actual.hex().upper()}"
        )
        self.expected = expected
        self.actual = actual

    def __reduce__(self) -> tuple[type[KeyCheckValueError], tuple[bytes, bytes]]:
        return (type(self), (self.expected, self.actual))


class MacVerificationError(CryptoError):
    """A MAC that does not verify. ISO 8583 hosts answer such a request with response A0."""

    response_code = "A0"

    def __init__(self, reason: str = "MAC does not match the data") -> None:
        super().__init__(f"MAC verification failed: {reason}")
        self.reason = reason

    def __reduce__(self) -> tuple[type[MacVerificationError], tuple[str]]:
        return (type(self), (self.reason,))


class PinBlockFormatError(CryptoError):
    """A PIN block that does not decode in the expected ISO 9564 format (response code 99)."""

    response_code = "99"

    def __init__(self, fmt: int, reason: str) -> None:
        super().__init__(f"PIN block format {fmt}: {reason}")
        self.fmt = fmt
        self.reason = reason

    def __reduce__(self) -> tuple[type[PinBlockFormatError], tuple[int, str]]:
        return (type(self), (self.fmt, self.reason))


class KeyBlockError(CryptoError):
    """A TR-31 key block that does not parse or whose MAC fails, with the field and position.

    ``argument`` names which key block of a call failed (``"kek"``, ``"source_key"``).
    """

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        position: int | None = None,
        argument: str | None = None,
    ) -> None:
        where = ""
        if field is not None:
            where += f" field {field}"
        if position is not None:
            where += f" at position {position}"
        prefix = f"{argument}: " if argument else ""
        super().__init__(f"{prefix}key block{where}: {reason}")
        self.reason = reason
        self.field = field
        self.position = position
        self.argument = argument

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_key_block_error,
            (self.reason, self.field, self.position, self.argument),
        )


def _rebuild_key_block_error(
    reason: str, field: str | None, position: int | None, argument: str | None = None
) -> KeyBlockError:
    return KeyBlockError(reason, field=field, position=position, argument=argument)


class LmkError(CryptoError):
    """The local master key cannot be loaded, saved or used."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"local master key: {reason}")
        self.reason = reason

    def __reduce__(self) -> tuple[type[LmkError], tuple[str]]:
        return (type(self), (self.reason,))


class DukptExhaustedError(CryptoError):
    """A DUKPT device used every transaction key its counter allows; it must be re-keyed."""

    def __init__(self, scheme: str, limit: int) -> None:
        super().__init__(
            f"{scheme} DUKPT key exhausted: the transaction counter passed its limit "
            f"({limit:#x}); load a new initial key"
        )
        self.scheme = scheme
        self.limit = limit

    def __reduce__(self) -> tuple[type[DukptExhaustedError], tuple[str, int]]:
        return (type(self), (self.scheme, self.limit))
