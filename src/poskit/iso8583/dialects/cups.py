"""The ``cups`` dialect: the UnionPay POS terminal specification.

Wire: 2-byte length, 5-byte TPDU, 6-byte header, BCD MTI, 8-byte binary bitmap,
packed-BCD numerics (field specs in ``cups.json``). Transactions are identified by
MTI + field 3 digits 1-2 + field 25 + 60.1 (and 60.3 for management messages);
reversals (0400) repeat the original request with field 39 = reason; settlement
totals travel in field 48; the MAC (8 bytes) is field 64.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from poskit.iso8583.dialects.base import (
    BaseDialect,
    MessagePlan,
    plan,
)
from poskit.iso8583.errors import MessageEncodeError, MessageFormatError, TruncatedFrameError
from poskit.iso8583.fields import (
    Field60,
    Field61,
    pack_settlement_totals,
    unpack_settlement_totals,
)
from poskit.iso8583.framing import (
    DEFAULT_MAX_FRAME,
    CupsHeader,
    Envelope,
    Tpdu,
    encode_frame,
)
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.model import (
    KEY_SCHEMES,
    Original,
    Reconciliation,
    Request,
    Response,
    Totals,
    TxnType,
)
from poskit.iso8583.transactions import (
    CUPS_TABLE,
    IMPLIED_ORIGINAL,
    TxnDefinition,
)

__all__ = ["CUPS_PLANS", "CupsDialect"]

T = TxnType

_FIN_REQ = "2 3 4 11 12 13 14 22 23 25 26 35 36 41 42 49 52 53 55 60 62 63"
_FIN_REQ_M = "3 4 11 22 25 41 42 49 60"
_FIN_RESP = "3 4 11 12 13 15 25 32 37 38 39 41 42 43 44 49 55 60 62 63"
_FIN_RESP_M = "3 11 25 39 41 60"
_NET_RESP = "11 12 13 39 41 42 60"
_NET_RESP_M = "11 39 41 60"

#: Fields per cups message (requests, then responses); docs/protocol.md §4 lists them.
CUPS_PLANS: dict[TxnType, MessagePlan] = {
    T.SALE: plan(_FIN_REQ, _FIN_REQ_M, _FIN_RESP, _FIN_RESP_M),
    T.VOID: plan(_FIN_REQ + " 37 38 61", _FIN_REQ_M + " 61", _FIN_RESP, _FIN_RESP_M),
    T.REFUND: plan(_FIN_REQ + " 37 61", _FIN_REQ_M + " 37 61", _FIN_RESP, _FIN_RESP_M),
    T.BALANCE: plan(_FIN_REQ.replace(" 4 ", " "), "3 11 22 25 41 42 60", _FIN_RESP + " 54", _FIN_RESP_M),
    T.PREAUTH: plan(_FIN_REQ, _FIN_REQ_M, _FIN_RESP, _FIN_RESP_M),
    T.PREAUTH_VOID: plan(_FIN_REQ + " 38 61", _FIN_REQ_M + " 38 61", _FIN_RESP, _FIN_RESP_M),
    T.COMPLETION: plan(_FIN_REQ + " 38 61", _FIN_REQ_M + " 38 61", _FIN_RESP, _FIN_RESP_M),
    T.COMPLETION_VOID: plan(_FIN_REQ + " 37 38 61", _FIN_REQ_M + " 61", _FIN_RESP, _FIN_RESP_M),
    T.COMPLETION_ADVICE: plan(_FIN_REQ + " 38 61", _FIN_REQ_M + " 38 61", _FIN_RESP, _FIN_RESP_M),
    T.OFFLINE_SALE_ADVICE: plan(_FIN_REQ, _FIN_REQ_M, _FIN_RESP, _FIN_RESP_M),
    T.REVERSAL: plan(
        "2 3 4 11 14 22 23 25 38 39 41 42 49 55 60 61",
        "3 4 11 22 25 39 41 42 49 60",
        "3 4 11 12 13 15 25 32 37 39 41 42 49 60",
        "11 39 41",
    ),
    T.SCRIPT_ADVICE: plan(
        "2 3 4 11 22 23 25 37 38 41 42 49 55 60 61", "3 11 22 25 41 42 55 60 61", _NET_RESP, "11 39 41"
    ),
    T.SIGN_ON: plan("11 41 42 60 62 63", "11 41 42 60", _NET_RESP + " 37 62", _NET_RESP_M),
    T.SIGN_OFF: plan("11 41 42 60 63", "11 41 42 60", _NET_RESP, _NET_RESP_M),
    T.ECHO: plan("11 41 42 60", "11 41 42 60", _NET_RESP, _NET_RESP_M),
    T.STATUS_UPLOAD: plan("11 41 42 60 62", "11 41 42 60 62", _NET_RESP, _NET_RESP_M),
    T.SETTLEMENT: plan(
        "11 41 42 48 49 60 63", "11 41 42 48 49 60", "11 12 13 15 37 39 41 42 48 49 60", "11 39 41"
    ),
    T.BATCH_UPLOAD: plan(
        "2 3 4 11 22 23 25 37 38 41 42 48 49 55 60 61", "11 41 42 60", _NET_RESP + " 48", _NET_RESP_M
    ),
    T.BATCH_UPLOAD_END: plan("11 41 42 48 60", "11 41 42 48 60", _NET_RESP + " 48", _NET_RESP_M),
    T.SIGNATURE_UPLOAD: plan("2 4 11 15 37 41 42 49 55 60 62", "11 37 41 42 60 62", _NET_RESP, _NET_RESP_M),
}


class CupsDialect(BaseDialect):
    """UnionPay POS dialect. ``tpdu``/``header`` are what this terminal puts in front of
    its requests (the host answers with the TPDU swapped)."""

    name = "cups"
    table = CUPS_TABLE
    plans = CUPS_PLANS
    max_signature_chunk = 999

    def __init__(
        self,
        *,
        tpdu: Tpdu | None = None,
        header: CupsHeader | None = None,
        clock: Callable[[], datetime] = datetime.now,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        super().__init__(clock=clock, max_frame=max_frame)
        self.tpdu = tpdu or Tpdu()
        self.header = header or CupsHeader()

    # ------------------------------------------------------------------ identification
    def identify(self, message: IsoMessage) -> TxnDefinition:
        f60 = Field60.unpack(message.fields[60]) if 60 in message else None
        processing = message.fields[3][:2] if 3 in message else None
        return self.table.identify(
            message.mti,
            processing=processing,
            condition=message.get(25),
            function=f60.txn_code if f60 else None,
            network=f60.network if f60 else None,
        )

    def _identity(
        self,
        r: Request,
        d: TxnDefinition,
        ref: TxnDefinition | None,
        *,
        batch: int,
        response: bool,
        key_scheme: str | None,
    ) -> dict[int, str]:
        f: dict[int, str] = {}
        processing = self._processing(r, d, ref)
        if processing is not None:
            f[3] = processing
        condition = (ref or d).condition
        if condition is not None:
            f[25] = condition
        function = ref.function if d.txn_type == T.REVERSAL and ref is not None else d.function
        if function is None:  # only the reversal row lacks 60.1, and it copies the original's
            raise MessageEncodeError(60, f"no 60.1 code for {d.txn_type.value}")
        tail = (
            (r.reading_capability, r.chip_condition, r.partial_approval)
            if not response
            else (None, None, None)
        )
        f[60] = Field60(function, batch, self._network(r, d, key_scheme), *tail).pack()
        return f

    def _network(self, r: Request, d: TxnDefinition, key_scheme: str | None) -> str:
        t = d.txn_type
        if t == T.SIGN_ON:
            scheme = key_scheme or d.network[0]
            if scheme not in KEY_SCHEMES:
                raise MessageEncodeError(60, f"key scheme must be one of {', '.join(KEY_SCHEMES)}")
            return scheme
        if t == T.SIGNATURE_UPLOAD:
            return "801" if r.signature is not None and r.signature.continuation else "800"
        if t in (T.BATCH_UPLOAD, T.BATCH_UPLOAD_END):
            return self._upload_code(r, d)
        return d.network[0] if d.network else "000"

    def _network_code(self, m: IsoMessage, f60: Field60) -> str:
        return f60.network

    def _key_scheme_of(self, m: IsoMessage, f60: Field60 | None) -> str | None:
        if f60 is None:
            return None
        if f60.network not in KEY_SCHEMES:
            raise MessageFormatError(60, None, f"unknown key scheme {f60.network}", partial=m)
        return f60.network

    # ------------------------------------------------------------------ reversal
    def _request_stan(self, r: Request) -> int:
        # A cups reversal re-sends the original request, trace number included.
        if r.txn_type == T.REVERSAL and r.original is not None and r.original.stan is not None:
            return r.original.stan
        return r.stan

    def _reversal_fields(self, r: Request) -> dict[int, str]:
        out: dict[int, str] = {11: f"{self._request_stan(r):06d}"}
        ref = r.original.reference if r.original is not None else None
        if ref is not None:
            out[61] = Field61(ref.batch, ref.stan, ref.date).pack()
            if ref.auth_code is not None:
                out[38] = ref.auth_code.ljust(6)
        return out

    def _parse_reversal(self, m: IsoMessage, batch: int, stan: int) -> tuple[int, Original]:
        f60 = Field60.unpack(m.fields[60])
        od = self.table.identify_original(
            processing=m.fields[3][:2],
            condition=m.get(25),
            function=f60.txn_code,
            among=[row.txn_type for row in self.table if row.reversible],
        )
        reference = None
        if 61 in m or 38 in m:
            f61 = Field61.unpack(m.fields[61]) if 61 in m else Field61()
            reference = Original(
                batch=f61.batch,
                stan=f61.stan,
                date=f61.date,
                auth_code=m.auth_code,
                txn_type=IMPLIED_ORIGINAL.get(od.txn_type),
            )
        return stan, Original(
            batch=batch, stan=stan, txn_type=od.txn_type, mti=od.request_mti, reference=reference
        )

    # ------------------------------------------------------------------ settlement
    def _settlement_request(self, totals: Totals) -> dict[int, str]:
        return {48: pack_settlement_totals(totals)}

    def _settlement_response(self, response: Response) -> dict[int, str]:
        if (
            response.totals is None
            and response.reconciliation is None
            and response.foreign_reconciliation is None
        ):
            return {}
        return {
            48: pack_settlement_totals(
                response.totals or Totals(),
                response.reconciliation or Reconciliation.NOT_CHECKED,
                response.foreign_reconciliation or Reconciliation.NOT_CHECKED,
            )
        }

    def _parse_settlement_request(self, m: IsoMessage) -> Totals:
        return unpack_settlement_totals(m.fields[48])[0]

    def _parse_settlement_response(
        self, m: IsoMessage
    ) -> tuple[Totals | None, Reconciliation | None, Reconciliation | None]:
        if 48 not in m:
            return None, None, None
        return unpack_settlement_totals(m.fields[48])

    # ------------------------------------------------------------------ framing
    def frame(self, message: bytes, *, tpdu: Tpdu | None = None, header: CupsHeader | None = None) -> bytes:
        """``[length][TPDU][header][message]``; defaults are this dialect's TPDU/header."""
        payload = (tpdu or self.tpdu).to_bytes() + (header or self.header).to_bytes() + message
        return encode_frame(payload, max_length=self.max_frame)

    def frame_reply(
        self, message: bytes, request_envelope: Envelope, *, processing_requirement: int = 0
    ) -> bytes:
        """Frame a response: the request's TPDU swapped, its header with the host's
        processing requirement."""
        tpdu = request_envelope.tpdu.reply() if request_envelope.tpdu else self.tpdu.reply()
        header = (request_envelope.header or self.header).reply(processing_requirement)
        return self.frame(message, tpdu=tpdu, header=header)

    def unframe(self, payload: bytes) -> Envelope:
        """Split a frame payload (from ``read_frame``) into TPDU, header and message."""
        size = Tpdu.SIZE + CupsHeader.SIZE
        if len(payload) < size:
            raise TruncatedFrameError(
                f"payload of {len(payload)} bytes is shorter than TPDU and header (11 bytes)",
                position=len(payload),
            )
        return Envelope(
            payload[size:],
            Tpdu.from_bytes(payload[: Tpdu.SIZE]),
            CupsHeader.from_bytes(payload[Tpdu.SIZE : size], position=Tpdu.SIZE),
        )
