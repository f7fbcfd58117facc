"""Transaction identification tables: which message is which transaction.

cups (UnionPay "trans code", china-pos-domain.md §1.2): MTI + field 3 digits 1-2 +
field 25 + field 60.1, and field 60.3 for network management, settlement and uploads.

ascii87 (ISO 8583:1987 style): MTI + field 3 digits 1-2 + field 25 for financial
messages, field 3 alone for 0500 (92 settlement, 96 end of batch upload), field 70 for
0800/0820 network management, the MTI alone for 0320/0420/0620.

A repeat MTI (origin digit 1: 0401, 0221, ...) identifies as its base MTI. An unknown
combination raises :class:`UnknownTransactionError` with response code 12, or 40 for
real transactions this system does not support.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from poskit.iso8583.errors import UnknownTransactionError
from poskit.iso8583.model import TxnType

__all__ = [
    "ASCII87_TABLE",
    "CUPS_TABLE",
    "IMPLIED_ORIGINAL",
    "ONLINE_TYPES",
    "TXN_LABELS",
    "TransactionTable",
    "TxnDefinition",
    "txn_label",
]

T = TxnType


@dataclasses.dataclass(frozen=True, slots=True)
class TxnDefinition:
    """One row of an identification table.

    ``processing``/``condition``/``function`` are the values of field 3 digits 1-2,
    field 25 and cups 60.1; None means the field does not identify this message (it is
    absent, or copied from the original transaction). ``network`` lists accepted
    network codes (cups 60.3, ascii87 field 70); the first is the one sent.
    """

    txn_type: TxnType
    request_mti: str
    response_mti: str
    processing: str | None
    condition: str | None
    function: str | None
    network: tuple[str, ...]
    reversible: bool
    mac: bool

    def matches(
        self, processing: str | None, condition: str | None, function: str | None, network: str | None
    ) -> bool:
        return (
            (self.processing is None or self.processing == processing)
            and (self.condition is None or self.condition == (condition or "00"))
            and (self.function is None or self.function == function)
            and (not self.network or network in self.network)
        )


class TransactionTable:
    """Identification rows of one dialect, with lookups both ways."""

    def __init__(
        self,
        dialect: str,
        rows: Iterable[TxnDefinition],
        *,
        unsupported_functions: Iterable[str] = (),
        unsupported_network: Iterable[str] = (),
        unsupported_processing: Iterable[str] = (),
    ) -> None:
        self.dialect = dialect
        self.rows = tuple(rows)
        self._by_type = {row.txn_type: row for row in self.rows}
        self._unsupported_functions = frozenset(unsupported_functions)
        self._unsupported_network = frozenset(unsupported_network)
        self._unsupported_processing = frozenset(unsupported_processing)

    def __iter__(self) -> Iterator[TxnDefinition]:
        return iter(self.rows)

    def definition(self, txn_type: TxnType) -> TxnDefinition:
        try:
            return self._by_type[txn_type]
        except KeyError:
            raise UnknownTransactionError(
                f"{txn_type.value} is not defined in {self.dialect}", response_code="40"
            ) from None

    def supports(self, txn_type: TxnType) -> bool:
        return txn_type in self._by_type

    def identify(
        self,
        mti: str,
        *,
        processing: str | None = None,
        condition: str | None = None,
        function: str | None = None,
        network: str | None = None,
    ) -> TxnDefinition:
        """The row for a received message (request or response MTI)."""
        base = mti[:3] + "0" if len(mti) == 4 and mti[3] == "1" else mti
        candidates = [r for r in self.rows if base in (r.request_mti, r.response_mti)]
        if not candidates:
            raise UnknownTransactionError(f"MTI {mti} is not used in {self.dialect}", mti=mti)
        for row in candidates:
            if row.matches(processing, condition, function, network):
                return row
        if len(candidates) == 1 and all(v is None for v in (processing, function, network)):
            # The MTI alone identifies it (0410, 0630...): the echoes are optional.
            return candidates[0]
        code = "12"
        if (
            function in self._unsupported_functions
            or network in self._unsupported_network
            or processing in self._unsupported_processing
        ):
            code = "40"
        what = ", ".join(
            f"{k} {v}"
            for k, v in (
                ("processing", processing),
                ("condition", condition),
                ("function", function),
                ("network", network),
            )
            if v is not None
        )
        raise UnknownTransactionError(
            f"MTI {mti} with {what or 'no identifying fields'}", response_code=code, mti=mti
        )

    def identify_original(
        self,
        *,
        processing: str | None,
        condition: str | None,
        function: str | None = None,
        mti: str | None = None,
        among: Iterable[TxnType],
    ) -> TxnDefinition:
        """The original transaction type behind a reversal, script advice or upload.

        The first row of ``among`` (table order) that matches wins, so ambiguous codes
        resolve to the online request (e.g. cups 20/00 to a void, not a refund).
        """
        wanted = set(among)
        for row in self.rows:
            if row.txn_type not in wanted:
                continue
            if mti is not None and row.request_mti != mti:
                continue
            if (
                row.processing == processing
                and row.condition == (condition or "00")
                and (function is None or row.function == function)
            ):
                return row
        raise UnknownTransactionError(
            f"no original transaction with processing {processing}, condition {condition}",
            response_code="12",
            mti=mti,
        )


def _row(
    txn: TxnType,
    req: str,
    proc: str | None,
    cond: str | None,
    func: str | None,
    network: tuple[str, ...] = (),
    *,
    reversible: bool = False,
    mac: bool = True,
) -> TxnDefinition:
    resp = f"{req[:2]}{int(req[2]) + 1}0"
    return TxnDefinition(txn, req, resp, proc, cond, func, network, reversible, mac)


CUPS_TABLE = TransactionTable(
    "cups",
    (
        _row(T.SALE, "0200", "00", "00", "22", reversible=True),
        _row(T.VOID, "0200", "20", "00", "23", reversible=True),
        _row(T.REFUND, "0220", "20", "00", "25"),
        _row(T.BALANCE, "0200", "31", "00", "01"),
        _row(T.PREAUTH, "0100", "03", "06", "10", reversible=True),
        _row(T.PREAUTH_VOID, "0100", "20", "06", "11", reversible=True),
        _row(T.COMPLETION, "0200", "00", "06", "20", reversible=True),
        _row(T.COMPLETION_VOID, "0200", "20", "06", "21", reversible=True),
        _row(T.COMPLETION_ADVICE, "0220", "00", "06", "24"),
        _row(T.OFFLINE_SALE_ADVICE, "0220", "00", "00", "30"),
        _row(T.REVERSAL, "0400", None, None, None),
        _row(T.SCRIPT_ADVICE, "0620", None, None, "00", ("951",)),
        _row(T.SIGN_ON, "0800", None, None, "00", ("004", "001", "003", "006"), mac=False),
        _row(T.SIGN_OFF, "0820", None, None, "00", ("002",), mac=False),
        _row(T.ECHO, "0820", None, None, "00", ("301",), mac=False),
        _row(T.STATUS_UPLOAD, "0820", None, None, "00", ("362",), mac=False),
        _row(T.SETTLEMENT, "0500", None, None, "00", ("201",)),
        _row(T.BATCH_UPLOAD, "0320", None, None, "00", ("201", "203", "205")),
        _row(T.BATCH_UPLOAD_END, "0320", None, None, "00", ("202", "207")),
        _row(
            T.SIGNATURE_UPLOAD,
            "0820",
            None,
            None,
            "07",
            ("800", "801", "802", "803", "804", "805", "806", "807", "808", "809"),
        ),
    ),
    unsupported_functions=(
        "03",
        "27",
        "32",
        "34",
        "36",
        "40",
        "41",
        "42",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "53",
        "54",
    ),
    unsupported_network=("204", "206", "364", "370", "371", "372", "373", "380", "381", "382", "394", "395"),
)

ASCII87_TABLE = TransactionTable(
    "ascii87",
    (
        _row(T.SALE, "0200", "00", "00", None, reversible=True),
        _row(T.VOID, "0200", "02", "00", None, reversible=True),
        _row(T.REFUND, "0200", "20", "00", None, reversible=True),
        _row(T.BALANCE, "0100", "31", "00", None),
        _row(T.PREAUTH, "0100", "00", "06", None, reversible=True),
        _row(T.PREAUTH_VOID, "0100", "02", "06", None, reversible=True),
        _row(T.COMPLETION, "0200", "00", "06", None, reversible=True),
        _row(T.COMPLETION_VOID, "0200", "02", "06", None, reversible=True),
        _row(T.COMPLETION_ADVICE, "0220", "00", "06", None),
        _row(T.OFFLINE_SALE_ADVICE, "0220", "00", "00", None),
        _row(T.REVERSAL, "0420", None, None, None),
        _row(T.SCRIPT_ADVICE, "0620", None, None, None),
        _row(T.SIGN_ON, "0800", None, None, None, ("001", "101"), mac=False),
        _row(T.SIGN_OFF, "0800", None, None, None, ("002",), mac=False),
        _row(T.ECHO, "0800", None, None, None, ("301",), mac=False),
        _row(T.STATUS_UPLOAD, "0820", None, None, None, ("362",), mac=False),
        _row(T.SIGNATURE_UPLOAD, "0820", None, None, None, ("800", "801")),
        _row(T.SETTLEMENT, "0500", "92", None, None),
        _row(T.BATCH_UPLOAD_END, "0500", "96", None, None),
        _row(T.BATCH_UPLOAD, "0320", None, None, None),
    ),
    unsupported_processing=("01", "09", "21", "22", "40"),
    unsupported_network=("161", "201"),
)

#: What the ``original`` of each referring transaction is.
IMPLIED_ORIGINAL: dict[TxnType, TxnType] = {
    T.VOID: T.SALE,
    T.REFUND: T.SALE,
    T.PREAUTH_VOID: T.PREAUTH,
    T.COMPLETION: T.PREAUTH,
    T.COMPLETION_ADVICE: T.PREAUTH,
    T.COMPLETION_VOID: T.COMPLETION,
}

#: Online requests a script advice or an IC batch-upload detail can refer to.
ONLINE_TYPES = (
    T.SALE,
    T.VOID,
    T.REFUND,
    T.BALANCE,
    T.PREAUTH,
    T.PREAUTH_VOID,
    T.COMPLETION,
    T.COMPLETION_VOID,
    T.COMPLETION_ADVICE,
    T.OFFLINE_SALE_ADVICE,
)

TXN_LABELS: dict[TxnType, tuple[str, str]] = {
    T.SALE: ("Sale", "消费"),
    T.VOID: ("Void", "消费撤销"),
    T.REFUND: ("Refund", "退货"),
    T.PREAUTH: ("Pre-authorization", "预授权"),
    T.PREAUTH_VOID: ("Pre-auth cancel", "预授权撤销"),
    T.COMPLETION: ("Auth completion", "预授权完成"),
    T.COMPLETION_VOID: ("Completion void", "预授权完成撤销"),
    T.COMPLETION_ADVICE: ("Completion advice", "预授权完成通知"),
    T.OFFLINE_SALE_ADVICE: ("Offline sale", "离线结算"),
    T.BALANCE: ("Balance inquiry", "余额查询"),
    T.REVERSAL: ("Reversal", "冲正"),
    T.SCRIPT_ADVICE: ("Script advice", "脚本处理结果通知"),
    T.SIGN_ON: ("Sign-on", "签到"),
    T.SIGN_OFF: ("Sign-off", "签退"),
    T.ECHO: ("Echo test", "回响测试"),
    T.STATUS_UPLOAD: ("Status upload", "终端状态上送"),
    T.SETTLEMENT: ("Settlement", "批结算"),
    T.BATCH_UPLOAD: ("Batch upload", "批上送"),
    T.BATCH_UPLOAD_END: ("Batch upload end", "批上送结束"),
    T.SIGNATURE_UPLOAD: ("Signature upload", "电子签名上送"),
}


def txn_label(txn_type: TxnType, lang: str = "en") -> str:
    """Receipt/display name of a transaction type (``"zh"`` for Chinese)."""
    en, zh = TXN_LABELS[txn_type]
    return zh if lang.lower().startswith("zh") else en
