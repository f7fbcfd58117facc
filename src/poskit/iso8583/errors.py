"""Typed errors of the ISO 8583 layer.

Every problem with bytes that came off the wire is a :class:`MessageFormatError`
(or a :class:`FramingError` for the length prefix, TPDU and header), so a host can
answer response code 30 or close the connection, and never crash. Messages name the
field, the byte position and the reason; they never quote field values, which may
hold a PAN or track data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poskit.iso8583.message import IsoMessage

__all__ = [
    "ConnectionClosedError",
    "EmptyFrameError",
    "FieldKey",
    "FrameTooLargeError",
    "FramingError",
    "Iso8583Error",
    "MessageEncodeError",
    "MessageFormatError",
    "SpecError",
    "TruncatedFrameError",
    "UnknownTransactionError",
]

#: A field number, or one of ``"mti"``, ``"bitmap"``, ``"header"`` for the message parts
#: that are not numbered fields.
FieldKey = int | str


class Iso8583Error(ValueError):
    """Base class of every error raised by :mod:`poskit.iso8583`."""


class SpecError(Iso8583Error):
    """A dialect specification file that does not validate."""

    def __init__(self, dialect: str, reason: str, field: str | None = None) -> None:
        where = f" field {field}" if field is not None else ""
        super().__init__(f"invalid dialect spec {dialect!r}{where}: {reason}")
        self.dialect = dialect
        self.field = field
        self.reason = reason


class FramingError(Iso8583Error):
    """The bytes around the ISO message (length prefix, TPDU, header) are wrong."""

    response_code = "30"

    def __init__(self, reason: str, *, position: int | None = None, length: int | None = None) -> None:
        where = f" at byte {position}" if position is not None else ""
        super().__init__(f"framing error{where}: {reason}")
        self.reason = reason
        self.position = position
        self.length = length


class FrameTooLargeError(FramingError):
    """The length prefix announces more bytes than the configured maximum."""

    def __init__(self, length: int, max_length: int) -> None:
        super().__init__(
            f"frame of {length} bytes exceeds the maximum of {max_length}", position=0, length=length
        )
        self.max_length = max_length


class TruncatedFrameError(FramingError):
    """The stream or buffer ended inside a frame."""


class EmptyFrameError(FramingError):
    """A zero-length frame (some hosts send one as a keep-alive poll)."""

    def __init__(self) -> None:
        super().__init__("zero-length frame", position=0, length=0)


class ConnectionClosedError(FramingError):
    """The peer closed the connection cleanly between two frames."""

    def __init__(self) -> None:
        super().__init__("connection closed by peer between frames", position=0)


class MessageFormatError(Iso8583Error):
    """A received message that cannot be decoded or lacks a mandatory field.

    Maps to response code 30 (format error). ``partial`` holds what could be decoded
    before the error (MTI, often 11/41), so a host can still address its answer.
    """

    response_code = "30"

    def __init__(
        self, field: FieldKey | None, position: int | None, reason: str, *, partial: IsoMessage | None = None
    ) -> None:
        where = ""
        if field is not None:
            where += f" field {field}"
        if position is not None:
            where += f" at byte {position}"
        super().__init__(f"format error{where}: {reason}")
        self.field = field
        self.position = position
        self.reason = reason
        self.partial = partial


class MessageEncodeError(Iso8583Error):
    """A message or model value that cannot be put on the wire (sending side)."""

    def __init__(self, field: FieldKey | None, reason: str) -> None:
        where = f" field {field}" if field is not None else ""
        super().__init__(f"cannot encode{where}: {reason}")
        self.field = field
        self.reason = reason


class UnknownTransactionError(Iso8583Error):
    """A message whose MTI / processing code / condition / function code is not a known
    transaction. ``response_code`` is 12 (invalid transaction) or 40 (a real transaction
    this system does not support)."""

    def __init__(
        self,
        reason: str,
        *,
        response_code: str = "12",
        mti: str | None = None,
        partial: IsoMessage | None = None,
    ) -> None:
        super().__init__(f"unknown transaction: {reason}")
        self.reason = reason
        self.response_code = response_code
        self.mti = mti
        self.partial = partial
