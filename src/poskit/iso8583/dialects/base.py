"""The :class:`Dialect` protocol and the mapping logic both dialects share.

A dialect turns the neutral :class:`~poskit.iso8583.model.Request` and
:class:`~poskit.iso8583.model.Response` into :class:`IsoMessage` field values and
back, frames them for TCP and knows where the MAC goes. Which fields each message
carries is data (:class:`MessagePlan` per transaction type in each dialect module);
docs/protocol.md lists the same sets.

Typical terminal use::

    message = dialect.encode_request(request)
    wire = dialect.frame(dialect.seal(message, mac=lambda data: mac_with_mak(data)))
    ...
    envelope = dialect.unframe(await read_frame(reader))
    reply = dialect.decode(envelope.message)          # verify extract_mac/mac_input first
    response = dialect.decode_response(reply, envelope=envelope)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from poskit.iso8583 import codec
from poskit.iso8583.errors import (
    MessageEncodeError,
    MessageFormatError,
    UnknownTransactionError,
)
from poskit.iso8583.fields import (
    Field60,
    Field61,
    SecurityControl,
    pack_additional_response,
    pack_balance,
    pack_batch_items,
    pack_card_organisation_field,
    pack_entry_mode,
    pack_local_datetime,
    pack_operator_field,
    pack_pin_capture,
    pack_upload_count,
    pack_working_keys,
    pad_text,
    unpack_additional_response,
    unpack_balance,
    unpack_batch_items,
    unpack_card_organisation_field,
    unpack_entry_mode,
    unpack_local_datetime,
    unpack_operator_field,
    unpack_pin_capture,
    unpack_upload_count,
    unpack_working_keys,
)
from poskit.iso8583.framing import DEFAULT_MAX_FRAME, CupsHeader, Envelope, Tpdu
from poskit.iso8583.message import IsoMessage
from poskit.iso8583.model import (
    BatchUpload,
    CardData,
    Original,
    Reconciliation,
    Request,
    Response,
    SignatureUpload,
    Totals,
    TxnType,
    WorkingKeys,
)
from poskit.iso8583.spec import DialectSpec, load_spec
from poskit.iso8583.transactions import (
    IMPLIED_ORIGINAL,
    ONLINE_TYPES,
    TransactionTable,
    TxnDefinition,
)
from poskit.money import Amount, AmountError, Currency, CurrencyError, currency

__all__ = [
    "E_RECEIPT_TYPES",
    "FINANCIAL_TYPES",
    "NETWORK_TYPES",
    "UPLOAD_CODES",
    "UPLOAD_END_CODES",
    "BaseDialect",
    "Dialect",
    "MessagePlan",
    "plan",
]

T = TxnType

#: Card-present financial transactions (requests carry card data and an amount).
FINANCIAL_TYPES = frozenset(
    {
        T.SALE,
        T.VOID,
        T.REFUND,
        T.PREAUTH,
        T.PREAUTH_VOID,
        T.COMPLETION,
        T.COMPLETION_VOID,
        T.COMPLETION_ADVICE,
        T.OFFLINE_SALE_ADVICE,
        T.BALANCE,
    }
)
NETWORK_TYPES = frozenset({T.SIGN_ON, T.SIGN_OFF, T.ECHO, T.STATUS_UPLOAD})
#: Batch upload kinds (60.3): 201 magstripe/advice details, 203/205 IC detail when the
#: settlement balanced / did not balance; 202/207 end of upload (balanced/unbalanced).
UPLOAD_CODES = ("201", "203", "205")
UPLOAD_END_CODES = ("202", "207")

_CARD_FIELDS = (2, 14, 22, 23, 26, 35, 36, 40, 52, 53, 55)
_MAC_PLACEHOLDER = "0" * 16


@dataclasses.dataclass(frozen=True, slots=True)
class MessagePlan:
    """Fields a transaction's request and response may carry, and the mandatory ones
    (the MAC field is added on top when the message is MAC'd)."""

    request: frozenset[int]
    request_mandatory: frozenset[int]
    response: frozenset[int]
    response_mandatory: frozenset[int]


def plan(request: str, request_mandatory: str, response: str, response_mandatory: str) -> MessagePlan:
    """Build a plan from space-separated field numbers (readable as a table)."""

    def nums(text: str) -> frozenset[int]:
        return frozenset(int(x) for x in text.split())

    req, resp = nums(request), nums(response)
    req_m, resp_m = nums(request_mandatory), nums(response_mandatory)
    if not req_m <= req or not resp_m <= resp:
        raise ValueError("mandatory fields must be among the allowed ones")
    return MessagePlan(req, req_m, resp, resp_m)


@runtime_checkable
class Dialect(Protocol):
    """What the terminal and the host need from a wire dialect."""

    @property
    def name(self) -> str:
        """``"cups"`` or ``"ascii87"``."""

    @property
    def spec(self) -> DialectSpec:
        """The validated field specs (pyiso8583 dict in ``spec.pyiso``)."""

    @property
    def table(self) -> TransactionTable:
        """The transaction identification table."""

    @property
    def mac_field(self) -> int:
        """64 (cups) or 128 (ascii87)."""

    @property
    def max_frame(self) -> int:
        """Largest frame payload accepted and sent."""

    @property
    def max_signature_chunk(self) -> int:
        """Most signature-image bytes one upload message carries."""

    def definition(self, txn_type: TxnType) -> TxnDefinition: ...
    def identify(self, message: IsoMessage) -> TxnDefinition: ...
    def encode(self, message: IsoMessage) -> bytes: ...
    def decode(self, data: bytes) -> IsoMessage: ...
    def seal(self, message: IsoMessage, mac: Callable[[bytes], bytes] | None = None) -> bytes: ...
    def encode_request(self, request: Request, *, with_mac: bool | None = None) -> IsoMessage: ...
    def decode_request(self, message: IsoMessage, *, now: datetime | None = None) -> Request: ...
    def encode_response(
        self, response: Response, request: Request, *, with_mac: bool | None = None
    ) -> IsoMessage: ...
    def decode_response(
        self, message: IsoMessage, *, envelope: Envelope | None = None, now: datetime | None = None
    ) -> Response: ...
    def error_response(self, message: IsoMessage, response_code: str) -> IsoMessage: ...
    def frame(
        self, message: bytes, *, tpdu: Tpdu | None = None, header: CupsHeader | None = None
    ) -> bytes: ...
    def frame_reply(
        self, message: bytes, request_envelope: Envelope, *, processing_requirement: int = 0
    ) -> bytes: ...
    def unframe(self, payload: bytes) -> Envelope: ...
    def mac_input(self, encoded: bytes) -> bytes: ...
    def with_mac(self, encoded: bytes, mac: bytes) -> bytes: ...
    def extract_mac(self, encoded: bytes) -> bytes | None: ...


def _hex(data: bytes) -> str:
    return data.hex().upper()


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _fixed(field: int, value: str, width: int) -> str:
    if len(value) > width:
        raise MessageEncodeError(field, f"at most {width} characters")
    return value.ljust(width)


def _int6(field: int, value: int, what: str) -> str:
    if not isinstance(value, int) or not 0 <= value <= 999_999:
        raise MessageEncodeError(field, f"{what} must be 0..999999")
    return f"{value:06d}"


def _service_code_from_track(track: str | None) -> str | None:
    if track is None:
        return None
    sep = track.find("D")
    rest = track[sep + 1 :] if sep >= 0 else ""
    return rest[4:7] if len(rest) >= 7 and _digits(rest[:7]) else None


class BaseDialect:
    """Shared mapping between the neutral model and field values."""

    name: ClassVar[str]
    table: ClassVar[TransactionTable]
    plans: ClassVar[Mapping[TxnType, MessagePlan]]
    max_signature_chunk: ClassVar[int]

    def __init__(
        self, *, clock: Callable[[], datetime] = datetime.now, max_frame: int = DEFAULT_MAX_FRAME
    ) -> None:
        self.spec: DialectSpec = load_spec(self.name)
        self.mac_field: int = self.spec.mac_field
        self.max_frame = max_frame
        self._clock = clock
        self._text = self.spec.fields["63"].data_enc

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # ------------------------------------------------------------------ codec
    def definition(self, txn_type: TxnType) -> TxnDefinition:
        return self.table.definition(txn_type)

    def encode(self, message: IsoMessage) -> bytes:
        return codec.encode(self.spec, message)

    def decode(self, data: bytes) -> IsoMessage:
        return codec.decode(self.spec, data)

    def mac_input(self, encoded: bytes) -> bytes:
        return codec.mac_input(self.spec, encoded)

    def with_mac(self, encoded: bytes, mac: bytes) -> bytes:
        return codec.with_mac(self.spec, encoded, mac)

    def extract_mac(self, encoded: bytes) -> bytes | None:
        return codec.extract_mac(self.spec, encoded)

    def seal(self, message: IsoMessage, mac: Callable[[bytes], bytes] | None = None) -> bytes:
        """Encode ``message``; when it carries a MAC field, fill it with ``mac(mac_input)``."""
        raw = self.encode(message)
        if any(n in message.fields for n in (64, 128)):
            if mac is None:
                raise MessageEncodeError(
                    self.mac_field, "message carries a MAC field but no MAC function was given"
                )
            raw = self.with_mac(raw, mac(self.mac_input(raw)))
        return raw

    # ------------------------------------------------------------------ hooks
    def identify(self, message: IsoMessage) -> TxnDefinition:
        raise NotImplementedError

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
        raise NotImplementedError

    def _request_stan(self, r: Request) -> int:
        return r.stan

    def _reversal_fields(self, r: Request) -> dict[int, str]:
        raise NotImplementedError

    def _parse_reversal(self, m: IsoMessage, batch: int, stan: int) -> tuple[int, Original]:
        raise NotImplementedError

    def _settlement_request(self, totals: Totals) -> dict[int, str]:
        raise NotImplementedError

    def _settlement_response(self, response: Response) -> dict[int, str]:
        raise NotImplementedError

    def _parse_settlement_request(self, m: IsoMessage) -> Totals:
        raise NotImplementedError

    def _parse_settlement_response(
        self, m: IsoMessage
    ) -> tuple[Totals | None, Reconciliation | None, Reconciliation | None]:
        raise NotImplementedError

    def _network_code(self, m: IsoMessage, f60: Field60) -> str:
        """The code that identified a network/signature message (60.3 or field 70)."""
        raise NotImplementedError

    def _key_scheme_of(self, m: IsoMessage, f60: Field60 | None) -> str | None:
        raise NotImplementedError

    def _track_out(self, track: str, encrypted: bool) -> str:
        return track

    def _track_in(self, value: str, encrypted: bool) -> str:
        return value

    def _card_extra(self, card: CardData) -> dict[int, str]:
        return {}

    def _service_code_in(self, m: IsoMessage, track2: str | None, encrypted: bool) -> str | None:
        return None if encrypted else _service_code_from_track(track2)

    def _text_out(self, text: str) -> str:
        return text

    # ------------------------------------------------------------------ requests
    def encode_request(self, request: Request, *, with_mac: bool | None = None) -> IsoMessage:
        """Field values for ``request``; MAC'd messages get a zero MAC placeholder that
        :meth:`seal` (or :meth:`with_mac`) replaces."""
        d = self.definition(request.txn_type)
        fields = self._request_fields(request, d)
        p = self.plans[request.txn_type]
        mti = d.request_mti[:3] + ("1" if request.repeat else "0")
        mac = d.mac if with_mac is None else with_mac
        return self._finish(mti, request.txn_type, fields, p.request, p.request_mandatory, mac)

    def decode_request(self, message: IsoMessage, *, now: datetime | None = None) -> Request:
        """The neutral request in ``message`` (host side)."""
        if not message.is_request:
            raise MessageFormatError("mti", 0, f"MTI {message.mti} is not a request", partial=message)
        d = self._identify_checked(message, request=True)
        p = self.plans[d.txn_type]
        m = self._only(message, p.request, p.request_mandatory)
        return self._parse_request(m, d, now or self._clock())

    def _finish(
        self,
        mti: str,
        txn: TxnType,
        fields: dict[int, str],
        allowed: frozenset[int],
        mandatory: frozenset[int],
        mac: bool,
    ) -> IsoMessage:
        for number in sorted(mandatory):
            if number not in fields:
                raise MessageEncodeError(
                    number, f"mandatory in a {txn.value} message but the model value is missing"
                )
        out = {n: v for n, v in fields.items() if n in allowed}
        if mac:
            out[self.mac_field] = _MAC_PLACEHOLDER
        return IsoMessage(mti, out, self.name)

    def _identify_checked(self, message: IsoMessage, *, request: bool) -> TxnDefinition:
        try:
            d = self.identify(message)
        except UnknownTransactionError as exc:
            exc.partial = message
            raise
        base = message.mti[:3] + "0"
        expected = d.request_mti if request else d.response_mti
        if base != expected:
            raise UnknownTransactionError(
                f"MTI {message.mti} is not a {d.txn_type.value} {'request' if request else 'response'}",
                mti=message.mti,
                partial=message,
            )
        return d

    def _only(self, message: IsoMessage, allowed: frozenset[int], mandatory: frozenset[int]) -> IsoMessage:
        for number in sorted(mandatory):
            message.require(number)
        kept = {n: v for n, v in message.fields.items() if n in allowed}
        return IsoMessage(message.mti, kept, message.dialect)

    def _referenced(self, r: Request, d: TxnDefinition) -> TxnDefinition | None:
        """Definition of the original for messages that copy its codes (3, 25, 60.1)."""
        t = r.txn_type
        needs = t in (T.REVERSAL, T.SCRIPT_ADVICE) or (
            t == T.BATCH_UPLOAD and r.batch_upload is not None and r.batch_upload.code != "201"
        )
        if not needs:
            return None
        if r.original is None or r.original.txn_type is None:
            raise MessageEncodeError(3, f"a {t.value} needs original.txn_type")
        od = self.definition(r.original.txn_type)
        if t == T.REVERSAL and not od.reversible:
            raise MessageEncodeError(3, f"{od.txn_type.value} is not reversible in {self.name}")
        return od

    def _processing(self, r: Request, d: TxnDefinition, ref: TxnDefinition | None) -> str | None:
        source = ref or d
        if source.processing is None:
            return None
        if len(r.account_type) != 2 or not _digits(r.account_type):
            raise MessageEncodeError(3, "account type must be 2 digits")
        return source.processing + r.account_type + "00"

    def _upload_code(self, r: Request, d: TxnDefinition) -> str:
        if r.batch_upload is None:
            raise MessageEncodeError(48, f"a {d.txn_type.value} needs batch_upload")
        codes = UPLOAD_CODES if d.txn_type == T.BATCH_UPLOAD else UPLOAD_END_CODES
        if r.batch_upload.code not in codes:
            raise MessageEncodeError(60, f"upload code must be one of {', '.join(codes)}")
        return r.batch_upload.code

    def _request_fields(self, r: Request, d: TxnDefinition) -> dict[int, str]:
        t = r.txn_type
        ref = self._referenced(r, d)
        f: dict[int, str] = {11: _int6(11, r.stan, "STAN"), 41: r.terminal_id, 42: r.merchant_id}
        f.update(self._identity(r, d, ref, batch=r.batch, response=False, key_scheme=r.key_scheme))
        if r.local_datetime is not None:
            f[12], f[13] = pack_local_datetime(r.local_datetime)
        if r.amount is not None:
            try:
                f[4] = r.amount.to_field4()
            except AmountError as exc:
                raise MessageEncodeError(4, exc.reason) from None
        if r.currency is not None:
            f[49] = r.currency.numeric
        if r.card is not None:
            card = self._card_fields(r.card, r.key_scheme)
            if t == T.SIGNATURE_UPLOAD:  # the PAN only; 55 is the e-receipt there
                card = {n: v for n, v in card.items() if n == 2}
            f.update(card)
        if r.operator is not None or r.terminal_model is not None:
            f[63] = pack_operator_field(r.operator, r.terminal_model, self._text)
        if t in FINANCIAL_TYPES or t in (T.SCRIPT_ADVICE, T.BATCH_UPLOAD):
            f.update(self._original_fields(r.original, t))
        if t in FINANCIAL_TYPES and r.ksn is not None:
            f[62] = _hex(r.ksn)
        if t == T.REVERSAL:
            if r.reversal_reason is None:
                raise MessageEncodeError(39, "a reversal needs its reason (98, 06 or A0)")
            f[39] = r.reversal_reason
            f.update(self._reversal_fields(r))
        elif t in (T.SIGN_ON, T.STATUS_UPLOAD) and r.terminal_info is not None:
            f[62] = _hex(r.terminal_info)
        elif t == T.SETTLEMENT:
            if r.totals is None:
                raise MessageEncodeError(48, "a settlement needs totals")
            f.update(self._settlement_request(r.totals))
        elif t in (T.BATCH_UPLOAD, T.BATCH_UPLOAD_END):
            f.update(self._upload_fields(r, d))
        elif t == T.SIGNATURE_UPLOAD:
            f.update(self._signature_fields(r))
        return f

    def _upload_fields(self, r: Request, d: TxnDefinition) -> dict[int, str]:
        code = self._upload_code(r, d)
        upload = r.batch_upload or BatchUpload(code)
        if d.txn_type == T.BATCH_UPLOAD:
            return {48: pack_batch_items(upload.items)} if code == "201" else {}
        if upload.count is None:
            raise MessageEncodeError(48, "end of upload needs the count")
        return {48: pack_upload_count(upload.count)}

    def _original_fields(self, o: Original | None, t: TxnType) -> dict[int, str]:
        if o is None:
            return {}
        implied = IMPLIED_ORIGINAL.get(t)
        if implied is not None and o.txn_type is not None and o.txn_type != implied:
            raise MessageEncodeError(61, f"a {t.value} refers to a {implied.value}, not a {o.txn_type.value}")
        out = {61: Field61(o.batch, o.stan, o.date).pack()}
        if o.rrn is not None:
            out[37] = _fixed(37, o.rrn, 12)
        if o.auth_code is not None:
            out[38] = _fixed(38, o.auth_code, 6)
        return out

    def _signature_fields(self, r: Request) -> dict[int, str]:
        sig = r.signature
        if sig is None or not sig.image:
            raise MessageEncodeError(62, "a signature upload needs image bytes")
        if len(sig.image) > self.max_signature_chunk:
            raise MessageEncodeError(
                62,
                f"image chunk is {len(sig.image)} bytes; send at most {self.max_signature_chunk} per message",
            )
        out = {62: _hex(sig.image)}
        if sig.receipt_tlv is not None:
            out[55] = _hex(sig.receipt_tlv)
        if r.original is not None:
            if r.original.rrn is not None:
                out[37] = _fixed(37, r.original.rrn, 12)
            if r.original.settlement_date is not None:
                out[15] = r.original.settlement_date
        return out

    def _card_fields(self, card: CardData, key_scheme: str | None) -> dict[int, str]:
        f: dict[int, str] = {22: pack_entry_mode(card.entry_mode, card.pin_entered)}
        if card.pan is not None:
            f[2] = card.pan
        if card.expiry is not None:
            f[14] = card.expiry
        if card.card_sequence is not None:
            f[23] = card.card_sequence.zfill(3)
        if card.track2 is not None:
            f[35] = self._track_out(card.track2, card.track2_encrypted)
        if card.track3 is not None:
            f[36] = self._track_out(card.track3, False)
        if card.pin_block is not None:
            if len(card.pin_block) != 8:
                raise MessageEncodeError(52, "PIN block must be 8 bytes")
            f[52] = _hex(card.pin_block)
            if card.pin_max_length is not None:
                f[26] = pack_pin_capture(card.pin_max_length)
        if card.pin_block is not None or card.track2_encrypted:
            f[53] = SecurityControl(
                pin_format="2" if card.pin_block is not None else "0",
                algorithm="0" if key_scheme == "001" else "6",
                track_encrypted=card.track2_encrypted,
            ).pack()
        if card.icc_data is not None:
            f[55] = _hex(card.icc_data)
        f.update(self._card_extra(card))
        return f

    # ------------------------------------------------------------------ request parsing
    def _currency(self, m: IsoMessage) -> Currency | None:
        code = m.get(49)
        if code is None:
            return None
        if len(code) != 3 or not _digits(code):
            raise MessageFormatError(49, None, "currency must be an ISO 4217 numeric code", partial=m)
        try:
            return currency(code)
        except CurrencyError:
            raise MessageFormatError(49, None, "unknown currency code", partial=m) from None

    def _amount(self, m: IsoMessage, cur: Currency | None) -> Amount | None:
        minor = m.number(4)
        if minor is None:
            return None
        if cur is None:
            raise MessageFormatError(49, None, "mandatory field missing (currency of field 4)", partial=m)
        return Amount(minor, cur)

    def _parse_card(self, m: IsoMessage, numbers: tuple[int, ...] = _CARD_FIELDS) -> CardData | None:
        if not any(n in m for n in numbers):
            return None
        m = IsoMessage(m.mti, {n: v for n, v in m.fields.items() if n in numbers}, m.dialect)
        entry = m.get(22)
        mode, _ = unpack_entry_mode(entry) if entry is not None else (CardData().entry_mode, False)
        security = SecurityControl.unpack(m.fields[53]) if 53 in m else None
        encrypted = security.track_encrypted if security is not None else False
        track2 = m.get(35)
        track2 = self._track_in(track2, encrypted) if track2 is not None else None
        track3 = m.get(36)
        track3 = self._track_in(track3, False) if track3 is not None else None
        pin_block = m.binary(52)
        if pin_block is not None and len(pin_block) != 8:
            raise MessageFormatError(52, None, "PIN block must be 8 bytes", partial=m)
        capture = m.get(26)
        expiry = m.get(14)
        sequence = m.get(23)
        return CardData(
            entry_mode=mode,
            pan=m.get(2),
            track2=track2,
            track2_encrypted=encrypted,
            track3=track3,
            expiry=expiry,
            card_sequence=sequence,
            pin_block=pin_block,
            pin_max_length=unpack_pin_capture(capture) if capture is not None else None,
            icc_data=m.binary(55),
            service_code=self._service_code_in(m, track2, encrypted),
        )

    def _parse_original(self, m: IsoMessage, implied: TxnType | None) -> Original | None:
        if not any(n in m for n in (37, 38, 61)):
            return None
        f61 = Field61.unpack(m.fields[61]) if 61 in m else Field61()
        return Original(
            batch=f61.batch, stan=f61.stan, date=f61.date, rrn=m.rrn, auth_code=m.auth_code, txn_type=implied
        )

    def _original_type(self, m: IsoMessage) -> TxnDefinition:
        processing = m.fields[3][:2] if 3 in m else None
        return self.table.identify_original(processing=processing, condition=m.get(25), among=ONLINE_TYPES)

    def _parse_request(self, m: IsoMessage, d: TxnDefinition, now: datetime) -> Request:
        t = d.txn_type
        f60 = Field60.unpack(m.fields[60])
        stan = m.number(11) or 0  # 11 is mandatory in every request plan
        cur = self._currency(m)
        amount = self._amount(m, cur)
        card_fields: tuple[int, ...] = ()
        if t in FINANCIAL_TYPES or t in (T.REVERSAL, T.SCRIPT_ADVICE, T.BATCH_UPLOAD):
            card_fields = _CARD_FIELDS
        elif t == T.SIGNATURE_UPLOAD:
            card_fields = (2,)
        card = self._parse_card(m, card_fields)
        operator, model = unpack_operator_field(m.fields[63]) if 63 in m else (None, None)
        original: Original | None = None
        reversal_reason = None
        key_scheme: str | None = None
        totals = None
        batch_upload = None
        signature = None
        terminal_info = None
        ksn = None
        if t in FINANCIAL_TYPES:
            original = self._parse_original(m, IMPLIED_ORIGINAL.get(t))
            ksn = m.binary(62)
            if 53 in m and SecurityControl.unpack(m.fields[53]).algorithm == "0":
                key_scheme = "001"
        elif t == T.REVERSAL:
            reversal_reason = m.fields[39]
            stan, original = self._parse_reversal(m, f60.batch, stan)
        elif t == T.SCRIPT_ADVICE:
            original = self._parse_original(m, self._original_type(m).txn_type)
        elif t == T.SIGN_ON:
            key_scheme = self._key_scheme_of(m, f60)
            terminal_info = m.binary(62)
        elif t == T.STATUS_UPLOAD:
            terminal_info = m.binary(62)
        elif t == T.SETTLEMENT:
            totals = self._parse_settlement_request(m)
        elif t == T.BATCH_UPLOAD:
            code = f60.network
            if code not in UPLOAD_CODES:
                raise MessageFormatError(60, None, f"unknown batch upload code {code}", partial=m)
            if code == "201":
                batch_upload = BatchUpload(code, unpack_batch_items(m.require(48)))
            else:
                batch_upload = BatchUpload(code)
                original = self._parse_original(m, self._original_type(m).txn_type)
        elif t == T.BATCH_UPLOAD_END:
            code = f60.network
            if code not in UPLOAD_END_CODES:
                raise MessageFormatError(60, None, f"unknown end-of-upload code {code}", partial=m)
            batch_upload = BatchUpload(code, count=unpack_upload_count(m.fields[48]))
        elif t == T.SIGNATURE_UPLOAD:
            signature = SignatureUpload(
                image=m.binary(62) or b"",
                continuation=self._network_code(m, f60) != "800",
                receipt_tlv=m.binary(55),
            )
            if 37 in m or 15 in m:
                original = Original(rrn=m.rrn, settlement_date=m.get(15))
        processing = m.get(3)
        return Request(
            txn_type=t,
            terminal_id=m.fields[41],
            merchant_id=m.fields[42],
            stan=stan,
            batch=f60.batch,
            amount=amount,
            currency=cur,
            card=card,
            operator=operator,
            original=original,
            reversal_reason=reversal_reason,
            repeat=m.is_repeat,
            local_datetime=unpack_local_datetime(m.get(12), m.get(13), now),
            account_type=processing[2:4] if processing is not None else "00",
            reading_capability=f60.reading_capability,
            chip_condition=f60.chip_condition,
            partial_approval=f60.partial_approval,
            key_scheme=key_scheme,
            totals=totals,
            batch_upload=batch_upload,
            signature=signature,
            terminal_model=model,
            terminal_info=terminal_info,
            ksn=ksn,
        )

    # ------------------------------------------------------------------ responses
    def encode_response(
        self, response: Response, request: Request, *, with_mac: bool | None = None
    ) -> IsoMessage:
        """Field values answering ``request``. The identifying codes (3, 25, 60, 70) are
        echoed from the request; everything else comes from ``response``. MAC'd types
        carry a MAC placeholder unless the code is A0 (the MAC key is not trusted)."""
        if response.txn_type != request.txn_type:
            raise MessageEncodeError("mti", "response and request transaction types differ")
        d = self.definition(response.txn_type)
        ref = self._referenced(request, d)
        code = response.response_code
        if len(code) != 2 or not code.isalnum():
            raise MessageEncodeError(39, "response code must be 2 letters or digits")
        scheme = response.key_scheme or request.key_scheme
        if scheme is None and response.working_keys is not None:
            scheme = _scheme_of(response.working_keys)
        stan = response.stan if response.stan is not None else self._request_stan(request)
        f: dict[int, str] = {11: _int6(11, stan, "STAN"), 39: code, 41: response.terminal_id}
        if response.merchant_id is not None:
            f[42] = response.merchant_id
        batch = response.batch if response.batch is not None else request.batch
        f.update(self._identity(request, d, ref, batch=batch, response=True, key_scheme=scheme))
        if response.host_datetime is not None:
            f[12], f[13] = pack_local_datetime(response.host_datetime)
        if response.settlement_date is not None:
            f[15] = response.settlement_date
        if response.rrn is not None:
            f[37] = _fixed(37, response.rrn, 12)
        if response.auth_code is not None:
            f[38] = _fixed(38, response.auth_code, 6)
        if response.amount is not None:
            try:
                f[4] = response.amount.to_field4()
            except AmountError as exc:
                raise MessageEncodeError(4, exc.reason) from None
        if response.currency is not None:
            f[49] = response.currency.numeric
        if response.balance is not None:
            f[54] = pack_balance(response.balance, request.account_type)
        if response.icc_data is not None:
            f[55] = _hex(response.icc_data)
        if response.working_keys is not None:
            f[62] = _hex(pack_working_keys(response.working_keys, scheme or "004"))
        elif response.e_receipt_token is not None and d.txn_type in E_RECEIPT_TYPES:
            try:
                f[62] = _hex(response.e_receipt_token.encode("ascii"))
            except UnicodeEncodeError:
                raise MessageEncodeError(62, "e-receipt token must be ASCII") from None
        if response.card_organisation is not None or response.remarks:
            f[63] = pack_card_organisation_field(
                self._text_out(response.card_organisation or ""),
                tuple(self._text_out(r) for r in response.remarks),
                self._text,
            )
        if response.merchant_name is not None:
            f[43] = pad_text(43, self._text_out(response.merchant_name), 40, self.spec.fields["43"].data_enc)
        if response.acquirer_id is not None:
            f[32] = response.acquirer_id
        additional = pack_additional_response(response.issuer_id, response.acquirer_id)
        if additional is not None:
            f[44] = additional
        if d.txn_type == T.SETTLEMENT:
            f.update(self._settlement_response(response))
        p = self.plans[d.txn_type]
        mac = (d.mac and code != "A0") if with_mac is None else with_mac
        return self._finish(d.response_mti, d.txn_type, f, p.response, p.response_mandatory, mac)

    def decode_response(
        self, message: IsoMessage, *, envelope: Envelope | None = None, now: datetime | None = None
    ) -> Response:
        """The neutral response in ``message`` (terminal side). ``envelope`` supplies the
        cups header's processing requirement."""
        if message.is_request:
            raise MessageFormatError("mti", 0, f"MTI {message.mti} is not a response", partial=message)
        d = self._identify_checked(message, request=False)
        p = self.plans[d.txn_type]
        m = self._only(message, p.response, p.response_mandatory)
        t = d.txn_type
        f60 = Field60.unpack(m.fields[60]) if 60 in m else None
        cur = self._currency(m)
        key_scheme = self._key_scheme_of(m, f60) if t == T.SIGN_ON else None
        keys_raw = m.binary(62) if t == T.SIGN_ON else None
        token_raw = m.binary(62) if t in E_RECEIPT_TYPES else None
        org, remarks = unpack_card_organisation_field(m.fields[63], self._text) if 63 in m else (None, ())
        issuer_id, acquirer_44 = unpack_additional_response(m.fields[44]) if 44 in m else (None, None)
        totals, rec, frec = self._parse_settlement_response(m) if t == T.SETTLEMENT else (None, None, None)
        name = m.get(43)
        header = envelope.header if envelope is not None else None
        return Response(
            txn_type=t,
            response_code=m.fields[39],
            terminal_id=m.fields[41],
            merchant_id=m.get(42),
            stan=m.number(11),
            batch=f60.batch if f60 else None,
            rrn=m.rrn,
            auth_code=m.auth_code,
            host_datetime=unpack_local_datetime(m.get(12), m.get(13), now or self._clock()),
            settlement_date=m.get(15),
            amount=self._amount(m, cur),
            currency=cur,
            balance=unpack_balance(m.fields[54]) if 54 in m else None,
            working_keys=unpack_working_keys(keys_raw, key_scheme) if keys_raw else None,
            key_scheme=key_scheme,
            icc_data=m.binary(55),
            processing_requirement=header.processing_requirement if header else 0,
            totals=totals,
            reconciliation=rec,
            foreign_reconciliation=frec,
            acquirer_id=m.get(32) or acquirer_44,
            issuer_id=issuer_id,
            card_organisation=org,
            remarks=remarks,
            merchant_name=(name.rstrip() or None) if name is not None else None,
            e_receipt_token=_receipt_token(token_raw),
        )

    def error_response(self, message: IsoMessage, response_code: str) -> IsoMessage:
        """A minimal unMAC'd answer to a request that could not be decoded or identified:
        the response MTI, the echoed identifying fields that are present, and 39."""
        f = {n: v for n, v in message.fields.items() if n in (3, 11, 25, 41, 42, 60, 70)}
        f[39] = response_code
        return IsoMessage(message.response_mti, f, self.name)

    # ------------------------------------------------------------------ framing
    def frame(self, message: bytes, *, tpdu: Tpdu | None = None, header: CupsHeader | None = None) -> bytes:
        raise NotImplementedError

    def frame_reply(
        self, message: bytes, request_envelope: Envelope, *, processing_requirement: int = 0
    ) -> bytes:
        raise NotImplementedError

    def unframe(self, payload: bytes) -> Envelope:
        raise NotImplementedError


#: financial responses whose field 62 carries the e-receipt link token (docs/protocol.md §3.7)
E_RECEIPT_TYPES = frozenset(
    {
        T.SALE,
        T.VOID,
        T.REFUND,
        T.PREAUTH,
        T.PREAUTH_VOID,
        T.COMPLETION,
        T.COMPLETION_VOID,
        T.COMPLETION_ADVICE,
        T.OFFLINE_SALE_ADVICE,
    }
)


def _receipt_token(raw: bytes | None) -> str | None:
    if not raw:
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MessageFormatError(62, 0, "e-receipt token is not ASCII") from None
    if not text.isprintable() or " " in text:
        raise MessageFormatError(62, 0, "e-receipt token has spaces or control characters")
    return text


def _scheme_of(keys: WorkingKeys) -> str:
    if keys.tdk is not None:
        return "004"
    return "001" if len(keys.pik) == 8 else "003"
