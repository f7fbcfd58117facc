"""ISO 8583 for poskit: dialects as data, framing, codec and the neutral model.

Terminal and host code use :func:`get_dialect` and the model classes
(:class:`Request`, :class:`Response`, ...); they never touch field numbers. The byte
work is pyiso8583's, behind :mod:`poskit.iso8583.codec`. docs/protocol.md is the wire
contract.
"""

from __future__ import annotations

from poskit.iso8583.codec import decode, encode, extract_mac, mac_input, with_mac
from poskit.iso8583.dialects import (
    DIALECT_NAMES,
    Ascii87Dialect,
    CupsDialect,
    Dialect,
    get_dialect,
)
from poskit.iso8583.errors import (
    ConnectionClosedError,
    EmptyFrameError,
    FrameTooLargeError,
    FramingError,
    Iso8583Error,
    MessageEncodeError,
    MessageFormatError,
    SpecError,
    TruncatedFrameError,
    UnknownTransactionError,
)
from poskit.iso8583.framing import (
    DEFAULT_MAX_FRAME,
    CupsHeader,
    Envelope,
    ProcessingRequirement,
    Tpdu,
    encode_frame,
    read_frame,
    unpack_frame,
)
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.model import (
    BatchItem,
    BatchUpload,
    CardData,
    EntryMode,
    Original,
    Reconciliation,
    Request,
    Response,
    SignatureUpload,
    Totals,
    TxnType,
    WorkingKeys,
)
from poskit.iso8583.response_codes import (
    ResponseCode,
    TerminalAction,
    is_approved,
    response_info,
    response_text,
)
from poskit.iso8583.spec import DialectSpec, load_spec
from poskit.iso8583.transactions import TxnDefinition, txn_label

__all__ = [
    "DEFAULT_MAX_FRAME",
    "DIALECT_NAMES",
    "Ascii87Dialect",
    "BatchItem",
    "BatchUpload",
    "CardData",
    "ConnectionClosedError",
    "CupsDialect",
    "CupsHeader",
    "Dialect",
    "DialectSpec",
    "EmptyFrameError",
    "EntryMode",
    "Envelope",
    "FrameTooLargeError",
    "FramingError",
    "Iso8583Error",
    "IsoMessage",
    "MessageEncodeError",
    "MessageFormatError",
    "Original",
    "ProcessingRequirement",
    "Reconciliation",
    "Request",
    "Response",
    "ResponseCode",
    "SignatureUpload",
    "SpecError",
    "TerminalAction",
    "Totals",
    "Tpdu",
    "TruncatedFrameError",
    "TxnDefinition",
    "TxnType",
    "UnknownTransactionError",
    "WorkingKeys",
    "decode",
    "encode",
    "encode_frame",
    "extract_mac",
    "get_dialect",
    "is_approved",
    "load_spec",
    "mac_input",
    "read_frame",
    "response_info",
    "response_text",
    "txn_label",
    "unpack_frame",
    "with_mac",
]
