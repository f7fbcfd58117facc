"""The ``ascii87`` dialect: ISO 8583:1987 with every field in ASCII.

The field formats are exactly pyiso8583's ``default_ascii`` spec (``ascii87.json``),
as international hosts such as Nigerian processors use them: 4-digit ASCII MTI, hex
bitmaps, binary data (PIN block, ICC data, keys, MAC) as hex text. Frames are a
2-byte binary length and the message, no TPDU or header. Identification is MTI +
field 3 + field 25, field 70 for network management; reversals are 0420 with field 90;
settlement uses the ISO reconciliation fields 74/76/86/88 and 66; the MAC is 16 hex
characters in field 128.
"""

from __future__ import annotations

from poskit.iso8583.dialects.base import (
    BaseDialect,
    MessagePlan,
    plan,
)
from poskit.iso8583.errors import MessageEncodeError, MessageFormatError
from poskit.iso8583.fields import (
    Field60,
    Field61,
    OriginalDataElements,
    SecurityControl,
    pack_totals_block,
    unpack_totals_block,
)
from poskit.iso8583.framing import CupsHeader, Envelope, Tpdu, encode_frame
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.model import (
    CardData,
    Original,
    Reconciliation,
    Request,
    Response,
    Totals,
    TxnType,
)
from poskit.iso8583.transactions import ASCII87_TABLE, IMPLIED_ORIGINAL, TxnDefinition

__all__ = ["ASCII87_KEY_SCHEMES", "ASCII87_PLANS", "Ascii87Dialect"]

T = TxnType

_FIN_REQ = "2 3 4 11 12 13 14 22 23 25 26 35 36 40 41 42 49 52 53 55 60 62 63"
_FIN_REQ_M = "3 4 11 22 25 41 42 49 60"
_FIN_RESP = "3 4 11 12 13 15 25 32 37 38 39 41 42 43 44 49 55 60 62 63"
_FIN_RESP_M = "3 11 39 41"
_ADV_RESP = "11 12 13 39 41 42 60"
_NET_RESP = "11 12 13 39 41 42 60 70"
_NET_RESP_M = "11 39 41 70"
_SETTLE = "74 76 86 88"

#: Fields per ascii87 message (requests, then responses); docs/protocol.md §5 lists them.
ASCII87_PLANS: dict[TxnType, MessagePlan] = {
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
        "2 3 4 11 12 13 14 22 23 25 37 38 39 41 42 49 55 60 61 90",
        "3 4 11 22 39 41 42 49 60 90",
        "3 4 11 12 13 15 25 32 37 39 41 42 49 60",
        "11 39 41",
    ),
    T.SCRIPT_ADVICE: plan(
        "2 3 4 11 22 23 25 37 38 41 42 49 55 60 61", "3 11 22 41 42 55 60 61", _ADV_RESP, "11 39 41"
    ),
    T.SIGN_ON: plan("11 41 42 53 60 62 63 70", "11 41 42 60 70", _NET_RESP + " 37 53 62", _NET_RESP_M),
    T.SIGN_OFF: plan("11 41 42 60 63 70", "11 41 42 60 70", _NET_RESP, _NET_RESP_M),
    T.ECHO: plan("11 41 42 60 70", "11 41 42 60 70", _NET_RESP, _NET_RESP_M),
    T.STATUS_UPLOAD: plan("11 41 42 60 62 70", "11 41 42 60 62 70", _NET_RESP, _NET_RESP_M),
    T.SETTLEMENT: plan(
        f"3 11 12 13 41 42 48 49 60 63 {_SETTLE}",
        f"3 11 41 42 49 60 {_SETTLE}",
        f"3 11 12 13 15 37 39 41 42 48 49 60 66 {_SETTLE}",
        "3 11 39 41",
    ),
    T.BATCH_UPLOAD: plan(
        "2 3 4 11 22 23 25 37 38 41 42 48 49 55 60 61", "11 41 42 60", _ADV_RESP + " 48", "11 39 41"
    ),
    T.BATCH_UPLOAD_END: plan(
        "3 11 41 42 48 60", "3 11 41 42 48 60", "3 11 12 13 39 41 42 48 60", "3 11 39 41"
    ),
    T.SIGNATURE_UPLOAD: plan(
        "2 4 11 15 37 41 42 49 55 60 62 70", "11 37 41 42 60 62 70", _NET_RESP, _NET_RESP_M
    ),
}

#: Sign-on key schemes and the field 53 that asks for them (digit 2: 0 single DES,
#: 6 3DES; digit 3: 1 = a track key (TDK) too). SM4 (006) is cups-only.
ASCII87_KEY_SCHEMES: dict[str, SecurityControl] = {
    "001": SecurityControl("0", "0", False),
    "003": SecurityControl("0", "6", False),
    "004": SecurityControl("0", "6", True),
}


def _number(field: int, value: int, width: int) -> str:
    if not isinstance(value, int) or not 0 <= value < 10**width:
        raise MessageEncodeError(field, f"value must be 0..{10**width - 1}")
    return f"{value:0{width}d}"


class Ascii87Dialect(BaseDialect):
    """ISO 8583:1987 ASCII dialect (pyiso8583 ``default_ascii``)."""

    name = "ascii87"
    table = ASCII87_TABLE
    plans = ASCII87_PLANS
    #: Field 62 holds at most 999 hex characters: 499 image bytes per message.
    max_signature_chunk = 499

    # ------------------------------------------------------------------ identification
    def identify(self, message: IsoMessage) -> TxnDefinition:
        processing = message.fields[3][:2] if 3 in message else None
        return self.table.identify(
            message.mti, processing=processing, condition=message.get(25), network=message.get(70)
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
        t = d.txn_type
        code = self._upload_code(r, d) if t in (T.BATCH_UPLOAD, T.BATCH_UPLOAD_END) else "000"
        tail = (
            (r.reading_capability, r.chip_condition, r.partial_approval)
            if not response
            else (None, None, None)
        )
        f[60] = Field60("00", batch, code, *tail).pack()
        if t == T.SIGNATURE_UPLOAD:
            f[70] = "801" if r.signature is not None and r.signature.continuation else "800"
        elif d.network:
            f[70] = d.network[0]
        if t == T.SIGN_ON and key_scheme is not None:
            security = ASCII87_KEY_SCHEMES.get(key_scheme)
            if security is None:
                raise MessageEncodeError(
                    53, f"key scheme must be one of {', '.join(ASCII87_KEY_SCHEMES)} in ascii87"
                )
            f[53] = security.pack()
        return f

    def _network_code(self, m: IsoMessage, f60: Field60) -> str:
        return m.get(70) or "000"

    def _key_scheme_of(self, m: IsoMessage, f60: Field60 | None) -> str | None:
        if 53 not in m:
            return None
        security = SecurityControl.unpack(m.fields[53])
        if security.algorithm == "0":
            return "001"
        return "004" if security.track_encrypted else "003"

    # ------------------------------------------------------------------ card data
    def _track_out(self, track: str, encrypted: bool) -> str:
        # ISO 7813 separator on the wire; an encrypted track is hex and stays as is.
        return track if encrypted else track.replace("D", "=")

    def _track_in(self, value: str, encrypted: bool) -> str:
        return value.upper() if encrypted else value.replace("=", "D").upper()

    def _card_extra(self, card: CardData) -> dict[int, str]:
        if card.service_code is None:
            return {}
        if len(card.service_code) != 3 or not card.service_code.isdigit():
            raise MessageEncodeError(40, "service code must be 3 digits")
        return {40: card.service_code}

    def _service_code_in(self, m: IsoMessage, track2: str | None, encrypted: bool) -> str | None:
        return m.get(40) or super()._service_code_in(m, track2, encrypted)

    def _text_out(self, text: str) -> str:
        # Chinese merchant names and remarks do not fit an ASCII field: '?' them.
        return text.encode("ascii", "replace").decode("ascii")

    # ------------------------------------------------------------------ reversal
    def _reversal_fields(self, r: Request) -> dict[int, str]:
        o = r.original
        if o is None or o.stan is None or o.txn_type is None:
            raise MessageEncodeError(90, "a reversal needs original.stan and original.txn_type")
        od = self.definition(o.txn_type)
        out = {90: OriginalDataElements(o.mti or od.request_mti, o.stan, o.date, o.time).pack()}
        if o.rrn is not None:
            out[37] = o.rrn.ljust(12)
        if o.auth_code is not None:
            out[38] = o.auth_code.ljust(6)
        if o.reference is not None:
            ref = o.reference
            out[61] = Field61(ref.batch, ref.stan, ref.date).pack()
        return out

    def _parse_reversal(self, m: IsoMessage, batch: int, stan: int) -> tuple[int, Original]:
        ode = OriginalDataElements.unpack(m.fields[90])
        od = self.table.identify_original(
            processing=m.fields[3][:2],
            condition=m.get(25),
            mti=ode.mti[:3] + "0",
            among=[row.txn_type for row in self.table if row.reversible],
        )
        reference = None
        if 61 in m:
            f61 = Field61.unpack(m.fields[61])
            reference = Original(
                batch=f61.batch, stan=f61.stan, date=f61.date, txn_type=IMPLIED_ORIGINAL.get(od.txn_type)
            )
        return stan, Original(
            batch=batch,
            stan=ode.stan,
            date=ode.date,
            time=ode.time,
            rrn=m.rrn,
            auth_code=m.auth_code,
            txn_type=od.txn_type,
            mti=ode.mti,
            reference=reference,
        )

    # ------------------------------------------------------------------ settlement
    def _totals_fields(self, totals: Totals, foreign_code: Reconciliation | None) -> dict[int, str]:
        return {
            74: _number(74, totals.credit_count, 10),
            76: _number(76, totals.debit_count, 10),
            86: _number(86, totals.credit_amount, 16),
            88: _number(88, totals.debit_amount, 16),
            48: pack_totals_block(
                48,
                totals.foreign_debit_amount,
                totals.foreign_debit_count,
                totals.foreign_credit_amount,
                totals.foreign_credit_count,
                foreign_code,
            ),
        }

    def _settlement_request(self, totals: Totals) -> dict[int, str]:
        return self._totals_fields(totals, None)

    def _settlement_response(self, response: Response) -> dict[int, str]:
        out: dict[int, str] = {}
        if response.totals is not None:
            out.update(
                self._totals_fields(
                    response.totals, response.foreign_reconciliation or Reconciliation.NOT_CHECKED
                )
            )
        if response.reconciliation is not None:
            out[66] = response.reconciliation.value
        return out

    def _parse_totals(self, m: IsoMessage) -> tuple[Totals, Reconciliation | None]:
        counts = [m.number(n) for n in (74, 76, 86, 88)]
        if any(c is None for c in counts):
            raise MessageFormatError(
                next(n for n, c in zip((74, 76, 86, 88), counts, strict=True) if c is None),
                None,
                "fields 74, 76, 86 and 88 must come together",
                partial=m,
            )
        credit_count, debit_count, credit_amount, debit_amount = (c or 0 for c in counts)
        foreign: tuple[int, int, int, int, Reconciliation | None] = (0, 0, 0, 0, None)
        if 48 in m:
            foreign = unpack_totals_block(48, m.fields[48])
        totals = Totals(
            debit_amount,
            debit_count,
            credit_amount,
            credit_count,
            foreign[0],
            foreign[1],
            foreign[2],
            foreign[3],
        )
        return totals, foreign[4]

    def _parse_settlement_request(self, m: IsoMessage) -> Totals:
        return self._parse_totals(m)[0]

    def _parse_settlement_response(
        self, m: IsoMessage
    ) -> tuple[Totals | None, Reconciliation | None, Reconciliation | None]:
        totals, foreign_code = None, None
        if any(n in m for n in (74, 76, 86, 88)):
            totals, foreign_code = self._parse_totals(m)
        code = m.get(66)
        if code is not None and code not in ("0", "1", "2", "3"):
            raise MessageFormatError(66, None, "reconciliation code must be 0-3", partial=m)
        return totals, Reconciliation(code) if code is not None else None, foreign_code

    # ------------------------------------------------------------------ framing
    def frame(self, message: bytes, *, tpdu: Tpdu | None = None, header: CupsHeader | None = None) -> bytes:
        """``[length][message]``: ascii87 frames carry no TPDU or header."""
        if tpdu is not None or header is not None:
            raise ValueError("ascii87 frames carry no TPDU or header")
        return encode_frame(message, max_length=self.max_frame)

    def frame_reply(
        self, message: bytes, request_envelope: Envelope, *, processing_requirement: int = 0
    ) -> bytes:
        return encode_frame(message, max_length=self.max_frame)

    def unframe(self, payload: bytes) -> Envelope:
        return Envelope(payload)
