"""Round trips of the neutral model through both dialects, field by field and on the wire."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poskit.iso8583 import get_dialect, read_frame
from poskit.iso8583.dialects.base import (
    E_RECEIPT_TYPES,
    FINANCIAL_TYPES,
    UPLOAD_CODES,
    UPLOAD_END_CODES,
    Dialect,
)
from poskit.iso8583.errors import MessageEncodeError, MessageFormatError, UnknownTransactionError
from poskit.iso8583.framing import CupsHeader, Envelope, Tpdu
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
from poskit.iso8583.transactions import IMPLIED_ORIGINAL, ONLINE_TYPES
from poskit.money import Amount, currency

T = TxnType
NOW = datetime(2025, 6, 15, 12, 0, 0)
DIALECTS = {
    "cups": get_dialect("cups", clock=lambda: NOW),
    "ascii87": get_dialect("ascii87", clock=lambda: NOW),
}
FAKE_MAC = bytes.fromhex("0123456789ABCDEF")
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
CURRENCIES = [currency("CNY"), currency("NGN"), currency("USD")]

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DIGITS = "0123456789"
HEX = "0123456789ABCDEF"


def digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=min_size, max_size=max_size)


def alnum(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(ALNUM, min_size=min_size, max_size=max_size)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return st.none() | strategy


moments = st.integers(-120 * 86400, 120 * 86400).map(lambda s: NOW + timedelta(seconds=s))
trace = st.integers(1, 999_999)
mmdd = st.dates().map(lambda d: d.strftime("%m%d"))
amounts = st.builds(Amount, st.integers(0, 999_999_999_999), st.sampled_from(CURRENCIES))


def resolvable(dialect: Dialect, among: tuple[TxnType, ...]) -> list[TxnType]:
    """Original types a dialect can tell apart from field 3 and 25 alone."""
    out = []
    for txn in among:
        if not dialect.table.supports(txn):
            continue
        d = dialect.definition(txn)
        found = dialect.table.identify_original(
            processing=d.processing, condition=d.condition, among=ONLINE_TYPES
        )
        if found.txn_type == txn:
            out.append(txn)
    return out


@st.composite
def cards(draw: st.DrawFn, *, full: bool = True, icc: bool | None = None) -> CardData:
    pan = draw(
        maybe(
            st.text("123456789", min_size=1, max_size=1).flatmap(
                lambda first: digits(11, 18).map(lambda rest: first + rest)
            )
        )
    )
    track2 = None
    encrypted = False
    service = None
    track3 = None
    pin_block = None
    pin_max = None
    if full:
        kind = draw(st.sampled_from(["none", "clear", "encrypted"]))
        if kind == "clear":
            body = pan or "6222021001123456789"
            service = draw(digits(3, 3))
            extra = draw(digits(0, 37 - len(body) - 8))
            track2 = f"{body}D{draw(digits(4, 4))}{service}{extra}"
        elif kind == "encrypted":
            track2 = draw(st.text(HEX, min_size=16, max_size=37))
            encrypted = True
        track3 = draw(maybe(st.text(DIGITS + "D", min_size=1, max_size=104)))
        pin_block = draw(maybe(st.binary(min_size=8, max_size=8)))
        pin_max = draw(maybe(st.integers(4, 12))) if pin_block is not None else None
    want_icc = draw(st.booleans()) if icc is None else icc
    return CardData(
        entry_mode=draw(st.sampled_from(EntryMode)),
        pan=pan,
        track2=track2,
        track2_encrypted=encrypted,
        track3=track3,
        expiry=draw(maybe(digits(4, 4))),
        card_sequence=draw(maybe(digits(3, 3))),
        pin_block=pin_block,
        pin_max_length=pin_max,
        icc_data=draw(st.binary(min_size=1, max_size=255)) if want_icc else None,
        service_code=service,
    )


def fit_card(card: CardData | None, fields: frozenset[int]) -> CardData | None:
    """Drop what the message type does not carry, as the decoder will."""
    if card is None:
        return None
    keep = {
        "pan": 2,
        "expiry": 14,
        "card_sequence": 23,
        "track2": 35,
        "track3": 36,
        "pin_block": 52,
        "icc_data": 55,
    }
    changes: dict[str, object] = {attr: None for attr, n in keep.items() if n not in fields}
    if 35 not in fields:
        changes.update(track2_encrypted=False, service_code=None)
    if 52 not in fields:
        changes["pin_max_length"] = None
    return dataclasses.replace(card, **changes)  # type: ignore[arg-type]


@st.composite
def referring_original(draw: st.DrawFn, txn: TxnType, fields: frozenset[int]) -> Original:
    return Original(
        batch=draw(maybe(trace)),
        stan=draw(maybe(trace)),
        date=draw(maybe(mmdd)),
        rrn=draw(alnum(1, 12)) if 37 in fields and (txn == T.REFUND or draw(st.booleans())) else None,
        auth_code=draw(alnum(1, 6))
        if 38 in fields
        and (draw(st.booleans()) or txn in (T.PREAUTH_VOID, T.COMPLETION, T.COMPLETION_ADVICE))
        else None,
        txn_type=IMPLIED_ORIGINAL.get(txn),
    )


@st.composite
def requests(draw: st.DrawFn, name: str, txn: TxnType) -> Request:
    dialect = DIALECTS[name]
    p = dialect.plans[txn]  # type: ignore[attr-defined]
    fields: frozenset[int] = p.request
    stan = draw(trace)
    batch = draw(trace)
    amount = draw(amounts) if 4 in p.request_mandatory else (draw(maybe(amounts)) if 4 in fields else None)
    cur = (
        amount.currency
        if amount
        else (draw(st.sampled_from(CURRENCIES)) if 49 in p.request_mandatory else None)
    )
    kw: dict[str, object] = {}
    card = None
    original = None
    capability = draw(maybe(st.sampled_from("0256")))
    condition = draw(maybe(st.sampled_from("012"))) if capability else None
    partial = draw(maybe(st.booleans())) if condition else None
    if txn in FINANCIAL_TYPES:
        card = draw(cards())
        if 61 in fields:
            original = draw(referring_original(txn, fields))
        if card.pin_block is not None or card.track2_encrypted:
            kw["key_scheme"] = draw(maybe(st.just("001")))
        kw["ksn"] = draw(maybe(st.binary(min_size=10, max_size=10)))
    elif txn == T.REVERSAL:
        reversible = [r.txn_type for r in dialect.table if r.reversible]
        orig_type = draw(st.sampled_from(reversible))
        od = dialect.definition(orig_type)
        card = draw(cards(full=False))
        implied = IMPLIED_ORIGINAL.get(orig_type)
        reference = None
        if implied is not None and draw(st.booleans()):
            reference = Original(
                batch=draw(maybe(trace)),
                stan=draw(maybe(trace)),
                date=draw(maybe(mmdd)),
                txn_type=implied,
                auth_code=draw(maybe(alnum(1, 6))) if name == "cups" else None,
            )
        if name == "cups":
            original = Original(
                batch=batch, stan=stan, txn_type=orig_type, mti=od.request_mti, reference=reference
            )
        else:
            original = Original(
                batch=batch,
                stan=draw(trace),
                date=draw(maybe(mmdd)),
                time=draw(
                    maybe(st.times().map(lambda t: t.strftime("%H%M%S")).filter(lambda t: t != "000000"))
                ),
                rrn=draw(maybe(alnum(1, 12))),
                auth_code=draw(maybe(alnum(1, 6))),
                txn_type=orig_type,
                mti=od.request_mti,
                reference=reference,
            )
        kw["reversal_reason"] = draw(st.sampled_from(["98", "06", "A0"]))
    elif txn in (T.SCRIPT_ADVICE, T.BATCH_UPLOAD):
        upload = None
        if txn == T.BATCH_UPLOAD:
            code = draw(st.sampled_from(UPLOAD_CODES))
            if code == "201":
                items = draw(
                    st.lists(
                        st.builds(
                            BatchItem,
                            stan=trace,
                            pan=st.text("123456789", min_size=1, max_size=1).flatmap(
                                lambda f: digits(11, 18).map(lambda r: f + r)
                            ),
                            amount=st.integers(0, 999_999_999_999),
                            foreign=st.booleans(),
                        ),
                        min_size=1,
                        max_size=8,
                    )
                )
                upload = BatchUpload(code, tuple(items))
                amount = None
                cur = None
            else:
                upload = BatchUpload(code)
            kw["batch_upload"] = upload
        if upload is None or upload.code != "201":
            orig_type = draw(st.sampled_from(resolvable(dialect, ONLINE_TYPES)))
            card = draw(cards(full=False, icc=True if txn == T.SCRIPT_ADVICE else None))
            original = Original(
                batch=draw(maybe(trace)),
                stan=draw(maybe(trace)),
                date=draw(maybe(mmdd)),
                rrn=draw(maybe(alnum(1, 12))),
                auth_code=draw(maybe(alnum(1, 6))),
                txn_type=orig_type,
            )
    elif txn == T.SIGN_ON:
        schemes = ["001", "003", "004", "006"] if name == "cups" else ["001", "003", "004"]
        scheme = draw(st.sampled_from(schemes))
        kw["key_scheme"] = scheme if name == "cups" else draw(maybe(st.just(scheme)))
        kw["terminal_model"] = draw(maybe(st.from_regex(r"[A-Z]{2,4}\|[A-Z0-9]{2,8}", fullmatch=True)))
        kw["terminal_info"] = draw(maybe(st.binary(min_size=1, max_size=200)))
    elif txn == T.STATUS_UPLOAD:
        kw["terminal_info"] = draw(st.binary(min_size=1, max_size=300))
    elif txn == T.SETTLEMENT:
        kw["totals"] = draw(
            st.builds(
                Totals,
                *[st.integers(0, 999_999_999_999) if i % 2 == 0 else st.integers(0, 999) for i in range(8)],
            )
        )
    elif txn == T.BATCH_UPLOAD_END:
        kw["batch_upload"] = BatchUpload(
            draw(st.sampled_from(UPLOAD_END_CODES)), count=draw(st.integers(0, 9999))
        )
    elif txn == T.SIGNATURE_UPLOAD:
        kw["signature"] = SignatureUpload(
            image=draw(st.binary(min_size=1, max_size=dialect.max_signature_chunk)),
            continuation=draw(st.booleans()),
            receipt_tlv=draw(maybe(st.binary(min_size=1, max_size=255))),
        )
        original = Original(rrn=draw(alnum(1, 12)), settlement_date=draw(maybe(mmdd)))
        card = draw(maybe(st.builds(CardData, pan=digits(12, 19))))
    if 63 in fields:
        kw["operator"] = draw(maybe(alnum(1, 3)))
    return Request(
        txn_type=txn,
        terminal_id=draw(alnum(8, 8)),
        merchant_id=draw(digits(15, 15)),
        stan=stan,
        batch=batch,
        amount=amount,
        currency=cur,
        card=fit_card(card, fields),
        original=original,
        repeat=draw(st.booleans()),
        local_datetime=draw(maybe(moments)) if 12 in fields else None,
        account_type=draw(st.sampled_from(["00", "10", "20", "30"]))
        if 3 in fields and not (txn == T.BATCH_UPLOAD and original is None)
        else "00",
        reading_capability=capability,
        chip_condition=condition,
        partial_approval=partial,
        **kw,
    )  # type: ignore[arg-type]


def keys_for(scheme: str) -> st.SearchStrategy[WorkingKeys]:
    b = st.binary
    kcv = b(min_size=4, max_size=4)
    if scheme == "001":
        return st.builds(WorkingKeys, b(min_size=8, max_size=8), kcv, b(min_size=8, max_size=8), kcv)
    mak16 = b(min_size=16, max_size=16).filter(lambda k: k[8:] != bytes(8))
    mak = mak16 if scheme == "006" else (b(min_size=8, max_size=8) | mak16)
    tdk = b(min_size=16, max_size=16) if scheme in ("004", "006") else st.none()
    return st.builds(
        WorkingKeys,
        b(min_size=16, max_size=16),
        kcv,
        mak,
        kcv,
        tdk,
        kcv if scheme in ("004", "006") else st.none(),
    )


@st.composite
def responses(draw: st.DrawFn, name: str, request: Request) -> Response:
    dialect = DIALECTS[name]
    fields: frozenset[int] = dialect.plans[request.txn_type].response  # type: ignore[attr-defined]
    txt = "ABCXYZ0123 " + ("银联卡发行方" if name == "cups" else "")
    kw: dict[str, object] = {}
    if request.txn_type == T.SIGN_ON:
        scheme = request.key_scheme or draw(st.sampled_from(["001", "003", "004"]))
        kw["key_scheme"] = scheme
        kw["working_keys"] = draw(maybe(keys_for(scheme)))
    if request.txn_type == T.SETTLEMENT and draw(st.booleans()):
        kw["totals"] = draw(
            st.builds(
                Totals,
                *[st.integers(0, 999_999_999_999) if i % 2 == 0 else st.integers(0, 999) for i in range(8)],
            )
        )
        kw["reconciliation"] = draw(st.sampled_from(Reconciliation))
        kw["foreign_reconciliation"] = draw(st.sampled_from(Reconciliation))
    if 63 in fields:
        kw["card_organisation"] = draw(maybe(st.sampled_from(["CUP", "VIS", "MCC", "JCB"])))
        kw["remarks"] = tuple(draw(st.lists(st.text(txt, max_size=6).map(str.strip), max_size=3)))
    if request.txn_type in E_RECEIPT_TYPES:
        kw["e_receipt_token"] = draw(maybe(st.text(_TOKEN_CHARS, min_size=22, max_size=22)))
    if 43 in fields:
        kw["merchant_name"] = draw(maybe(st.text(txt, min_size=1, max_size=13).map(str.strip).filter(bool)))
    amount = draw(maybe(amounts)) if 4 in fields else None
    return Response(
        txn_type=request.txn_type,
        response_code=draw(st.sampled_from(["00", "05", "51", "A0", "94", "30"])),
        terminal_id=request.terminal_id,
        merchant_id=request.merchant_id if 42 in fields and draw(st.booleans()) else None,
        stan=draw(trace),
        batch=draw(trace),
        rrn=draw(maybe(alnum(1, 12))) if 37 in fields else None,
        auth_code=draw(maybe(alnum(1, 6))) if 38 in fields else None,
        host_datetime=draw(maybe(moments)) if 12 in fields else None,
        settlement_date=draw(maybe(mmdd)) if 15 in fields else None,
        amount=amount,
        currency=amount.currency
        if amount
        else (draw(maybe(st.sampled_from(CURRENCIES))) if 49 in fields else None),
        balance=draw(
            maybe(
                st.builds(Amount, st.integers(-999_999_999_999, 999_999_999_999), st.sampled_from(CURRENCIES))
            )
        )
        if 54 in fields
        else None,
        icc_data=draw(maybe(st.binary(min_size=1, max_size=255))) if 55 in fields else None,
        processing_requirement=draw(st.integers(0, 15)) if name == "cups" else 0,
        acquirer_id=draw(maybe(digits(1, 11))) if 32 in fields else None,
        issuer_id=draw(maybe(alnum(1, 11))) if 44 in fields else None,
        **kw,
    )  # type: ignore[arg-type]


CASES = [(name, txn) for name in DIALECTS for txn in TxnType if DIALECTS[name].table.supports(txn)]
ROUND_TRIP = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def test_every_transaction_type_is_supported_by_both_dialects() -> None:
    """Both dialects define every neutral transaction type (the round trips cover all)."""
    assert len(CASES) == 2 * len(TxnType)


@pytest.mark.parametrize(("name", "txn"), CASES)
@ROUND_TRIP
@given(data=st.data())
def test_request_round_trip(name: str, txn: TxnType, data: st.DataObject) -> None:
    """A request survives encode -> MAC -> bytes -> decode unchanged."""
    dialect = DIALECTS[name]
    request = data.draw(requests(name, txn))
    raw = dialect.seal(dialect.encode_request(request), mac=lambda _: FAKE_MAC)
    decoded = dialect.decode(raw)
    assert dialect.identify(decoded).txn_type == txn
    assert dialect.decode_request(decoded) == request
    if dialect.definition(txn).mac:
        assert dialect.extract_mac(raw) == FAKE_MAC


@pytest.mark.parametrize(("name", "txn"), CASES)
@ROUND_TRIP
@given(data=st.data())
def test_response_round_trip_on_the_wire(name: str, txn: TxnType, data: st.DataObject) -> None:
    """A response survives encode -> MAC -> frame -> read_frame -> unframe -> decode."""
    dialect = DIALECTS[name]
    request = data.draw(requests(name, txn))
    response = data.draw(responses(name, request))
    raw = dialect.seal(dialect.encode_response(response, request), mac=lambda _: FAKE_MAC)
    request_envelope = Envelope(b"", Tpdu(0x0003, 0x0000), CupsHeader()) if name == "cups" else Envelope(b"")
    wire = dialect.frame_reply(raw, request_envelope, processing_requirement=response.processing_requirement)

    async def receive() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        return await read_frame(reader)

    envelope = dialect.unframe(asyncio.run(receive()))
    assert envelope.message == raw
    if name == "cups":
        assert envelope.tpdu == Tpdu(0x0000, 0x0003)
    decoded = dialect.decode_response(dialect.decode(envelope.message), envelope=envelope)
    assert decoded == response


@pytest.mark.parametrize("name", DIALECTS)
def test_decode_request_rejects_missing_mandatory_field(name: str) -> None:
    """A sale without field 4 is a format error naming field 4."""
    dialect = DIALECTS[name]
    request = Request(
        T.SALE,
        "TERM0001",
        "123456789012345",
        7,
        1,
        amount=Amount.of(1000, "CNY"),
        card=CardData(pan="6222021001123456789"),
    )
    message = dialect.encode_request(request)
    message.set(4, None)
    with pytest.raises(MessageFormatError) as info:
        dialect.decode_request(dialect.decode(dialect.seal(message, mac=lambda _: FAKE_MAC)))
    assert info.value.field == 4
    assert info.value.reason == "mandatory field missing"
    assert info.value.response_code == "30"


@pytest.mark.parametrize("name", DIALECTS)
def test_encode_request_refuses_a_sale_without_amount(name: str) -> None:
    """Encoding a sale with no amount names the missing field instead of sending it."""
    with pytest.raises(MessageEncodeError) as info:
        DIALECTS[name].encode_request(Request(T.SALE, "TERM0001", "123456789012345", 7, 1, card=CardData()))
    assert info.value.field == 4


@pytest.mark.parametrize("name", DIALECTS)
def test_response_to_a_request_is_refused_by_decode_request(name: str) -> None:
    """decode_request rejects a response MTI; decode_response rejects a request MTI."""
    dialect = DIALECTS[name]
    request = Request(T.ECHO, "TERM0001", "123456789012345", 7, 1)
    response = dialect.encode_response(Response(T.ECHO, "00", "TERM0001"), request)
    with pytest.raises(MessageFormatError):
        dialect.decode_request(response)
    with pytest.raises(MessageFormatError):
        dialect.decode_response(dialect.encode_request(request))


def test_cups_unknown_function_code_is_invalid_transaction() -> None:
    """A cups 0200 with an unknown 60.1 is response code 12; a known but unsupported one 40."""
    dialect = DIALECTS["cups"]
    request = Request(
        T.SALE, "TERM0001", "123456789012345", 7, 1, amount=Amount.of(1000, "CNY"), card=CardData()
    )
    message = dialect.encode_request(request)
    message.set(60, "99000001000")
    with pytest.raises(UnknownTransactionError) as info:
        dialect.decode_request(message)
    assert info.value.response_code == "12"
    message.set(60, "03000001000")  # 积分查询: real, not supported here
    with pytest.raises(UnknownTransactionError) as info:
        dialect.decode_request(message)
    assert info.value.response_code == "40"
    assert info.value.partial is message


def test_ascii87_unknown_network_code_is_invalid_transaction() -> None:
    """An ascii87 0800 with field 70 = 999 is response code 12."""
    dialect = DIALECTS["ascii87"]
    message = dialect.encode_request(Request(T.ECHO, "TERM0001", "123456789012345", 7, 1))
    message.set(70, "999")
    with pytest.raises(UnknownTransactionError) as info:
        dialect.decode_request(message)
    assert info.value.response_code == "12"


def test_ascii87_key_exchange_code_101_is_a_sign_on() -> None:
    """ascii87 field 70 = 101 (key exchange) decodes as a sign-on."""
    dialect = DIALECTS["ascii87"]
    message = dialect.encode_request(Request(T.SIGN_ON, "TERM0001", "123456789012345", 7, 1))
    message.set(70, "101")
    assert dialect.decode_request(message).txn_type == T.SIGN_ON


def test_error_response_echoes_identifying_fields() -> None:
    """error_response answers with the response MTI, the echoed 11/41/60 and code 30."""
    dialect = DIALECTS["cups"]
    request = Request(
        T.SALE,
        "TERM0001",
        "123456789012345",
        7,
        1,
        amount=Amount.of(1000, "CNY"),
        card=CardData(pan="6222021001123456789"),
    )
    answer = dialect.error_response(dialect.encode_request(request), "30")
    assert answer.mti == "0210"
    assert answer.fields[39] == "30"
    assert answer.fields[11] == "000007"
    assert 2 not in answer.fields and 64 not in answer.fields
    assert dialect.decode(dialect.encode(answer)) == answer


def test_a0_response_carries_no_mac() -> None:
    """A MAC-error answer (A0) is sent without a MAC: the key is not trusted."""
    dialect = DIALECTS["cups"]
    request = Request(
        T.SALE, "TERM0001", "123456789012345", 7, 1, amount=Amount.of(1000, "CNY"), card=CardData()
    )
    assert 64 not in dialect.encode_response(Response(T.SALE, "A0", "TERM0001"), request).fields
    assert 64 in dialect.encode_response(Response(T.SALE, "00", "TERM0001"), request).fields


@pytest.mark.parametrize("name", ["cups", "ascii87"])
def test_approved_sale_carries_the_e_receipt_token_in_field_62(name: str) -> None:
    """The host's e-receipt token travels in field 62 of the 0210 and decodes back unchanged."""
    dialect = DIALECTS[name]
    request = Request(
        T.SALE, "TERM0001", "123456789012345", 7, 1, amount=Amount.of(1000, "CNY"), card=CardData()
    )
    token = "Ab3_-" + "x" * 17
    message = dialect.encode_response(Response(T.SALE, "00", "TERM0001", e_receipt_token=token), request)
    assert bytes.fromhex(message.fields[62]) == token.encode("ascii")
    decoded = dialect.decode_response(dialect.decode(dialect.seal(message, mac=lambda _: FAKE_MAC)))
    assert decoded.e_receipt_token == token
    balance = Request(T.BALANCE, "TERM0001", "123456789012345", 8, 1, card=CardData())
    no_link = dialect.encode_response(Response(T.BALANCE, "00", "TERM0001", e_receipt_token=token), balance)
    assert 62 not in no_link.fields


def test_reversal_of_a_non_reversible_type_is_refused() -> None:
    """A reversal of a balance inquiry cannot be encoded."""
    request = Request(
        T.REVERSAL,
        "TERM0001",
        "123456789012345",
        7,
        1,
        amount=Amount.of(1000, "CNY"),
        card=CardData(),
        reversal_reason="98",
        original=Original(stan=7, txn_type=T.BALANCE),
    )
    with pytest.raises(MessageEncodeError, match="not reversible"):
        DIALECTS["cups"].encode_request(request)


def test_cups_reversal_resends_the_original_trace_number() -> None:
    """A cups 0400 carries the reversed request's trace in field 11 and 60.1 of the sale."""
    dialect = DIALECTS["cups"]
    request = Request(
        T.REVERSAL,
        "TERM0001",
        "123456789012345",
        42,
        5,
        amount=Amount.of(1000, "CNY"),
        card=CardData(),
        reversal_reason="98",
        original=Original(stan=41, txn_type=T.SALE),
    )
    message = dialect.encode_request(request)
    assert message.mti == "0400"
    assert message.fields[11] == "000041"
    assert message.fields[60].startswith("22000005")
    assert message.fields[39] == "98"


def test_repeat_flag_sets_the_mti_origin_digit() -> None:
    """A repeated reversal is 0401 (cups) / 0421 (ascii87) and decodes with repeat=True."""
    for name, mti in (("cups", "0401"), ("ascii87", "0421")):
        dialect = DIALECTS[name]
        request = Request(
            T.REVERSAL,
            "TERM0001",
            "123456789012345",
            42,
            5,
            amount=Amount.of(1000, "CNY"),
            card=CardData(),
            reversal_reason="98",
            repeat=True,
            original=Original(stan=42, batch=5, txn_type=T.SALE),
        )
        message = dialect.encode_request(request)
        assert message.mti == mti
        assert dialect.decode_request(message).repeat


def test_signature_chunk_larger_than_a_message_is_refused() -> None:
    """A signature image chunk above max_signature_chunk must be split by the caller."""
    for dialect in DIALECTS.values():
        request = Request(
            T.SIGNATURE_UPLOAD,
            "TERM0001",
            "123456789012345",
            7,
            1,
            original=Original(rrn="123456789012"),
            signature=SignatureUpload(bytes(dialect.max_signature_chunk + 1)),
        )
        with pytest.raises(MessageEncodeError) as info:
            dialect.encode_request(request)
        assert info.value.field == 62


@pytest.mark.parametrize(("name", "txn"), CASES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mangled_fields_only_raise_typed_errors(name: str, txn: TxnType, data: st.DataObject) -> None:
    """Deleting fields or replacing values in a valid message never raises untyped errors."""
    dialect = DIALECTS[name]
    request = data.draw(requests(name, txn))
    message = dialect.encode_request(request)
    response = dialect.encode_response(data.draw(responses(name, request)), request)
    for target in (message, response):
        numbers = sorted(target.fields)
        for number in data.draw(st.lists(st.sampled_from(numbers), max_size=3)):
            target.set(number, None)
        for number in data.draw(st.lists(st.sampled_from(numbers), max_size=3)):
            target.set(number, data.draw(st.text(DIGITS + "ABCDEF =", max_size=40)))
        step = dialect.decode_request if target is message else dialect.decode_response
        try:
            decoded = step(target)
        except (MessageFormatError, UnknownTransactionError) as exc:
            assert exc.response_code in ("12", "30", "40")
        else:
            assert decoded.txn_type in TxnType
