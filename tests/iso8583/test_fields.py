"""Sub-field layouts of fields 22, 26, 48, 53, 54, 60, 61, 62, 63, 90 and 12/13."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.iso8583.errors import MessageEncodeError, MessageFormatError
from poskit.iso8583.fields import (
    Field60,
    Field61,
    OriginalDataElements,
    SecurityControl,
    pack_balance,
    pack_batch_items,
    pack_card_organisation_field,
    pack_entry_mode,
    pack_operator_field,
    pack_pin_capture,
    pack_settlement_totals,
    pack_upload_count,
    pack_working_keys,
    unpack_balance,
    unpack_batch_items,
    unpack_card_organisation_field,
    unpack_entry_mode,
    unpack_local_datetime,
    unpack_operator_field,
    unpack_settlement_totals,
    unpack_working_keys,
)
from poskit.iso8583.model import BatchItem, EntryMode, Reconciliation, Totals, WorkingKeys
from poskit.money import Amount


@pytest.mark.parametrize(
    ("mode", "pin", "code"),
    [
        (EntryMode.SWIPE, True, "021"),
        (EntryMode.SWIPE, False, "022"),
        (EntryMode.CHIP, True, "051"),
        (EntryMode.CONTACTLESS_CHIP, False, "072"),
        (EntryMode.FALLBACK, True, "801"),
        (EntryMode.MANUAL, False, "012"),
        (EntryMode.CONTACTLESS_MSD, False, "912"),
    ],
)
def test_entry_mode_codes(mode: EntryMode, pin: bool, code: str) -> None:
    """Field 22 follows the CUPS values (021/022/051/052/071/072/801/802...)."""
    assert pack_entry_mode(mode, pin) == code
    assert unpack_entry_mode(code) == (mode, pin)


def test_entry_mode_rejects_unknown_codes() -> None:
    """Unknown entry modes are format errors on field 22."""
    with pytest.raises(MessageFormatError) as info:
        unpack_entry_mode("331")
    assert info.value.field == 22


def test_pin_capture_code() -> None:
    """Field 26 is the maximum PIN length, 06 for magstripe and 12 for IC."""
    assert pack_pin_capture(6) == "06"
    with pytest.raises(MessageEncodeError):
        pack_pin_capture(3)


def test_security_control_examples() -> None:
    """2600000000000000 = PIN with PAN, 3DES; 2610000000000000 adds track encryption."""
    assert SecurityControl().pack() == "2600000000000000"
    assert SecurityControl(track_encrypted=True).pack() == "2610000000000000"
    assert SecurityControl.unpack("2610000000000000") == SecurityControl("2", "6", True)
    with pytest.raises(MessageFormatError):
        SecurityControl.unpack("9600000000000000")


@pytest.mark.parametrize(
    ("value", "f60"),
    [
        ("22000001000601", Field60("22", 1, "000", "6", "0", True)),  # sale
        ("2300000100060", Field60("23", 1, "000", "6", "0")),  # void
        ("00000001201", Field60("00", 1, "201")),  # settlement
        ("0000000195160", Field60("00", 1, "951", "6", "0")),  # script advice
        ("07000123800", Field60("07", 123, "800")),  # signature upload
        ("00000001004", Field60("00", 1, "004")),  # sign-on, 3DES + TDK
        ("22000001000601065", Field60("22", 1, "000", "6", "0", True, "065")),
        ("2200000100060100000", Field60("22", 1, "000", "6", "0", True, "000", "00")),  # 19 digits
    ],
)
def test_field60_examples_from_the_reference(value: str, f60: Field60) -> None:
    """Field 60 examples of china-pos-domain.md §1.4 pack and unpack."""
    assert f60.pack() == value
    assert Field60.unpack(value) == f60


def test_field60_errors() -> None:
    """60.5 without 60.4 cannot be packed; odd lengths cannot be unpacked."""
    with pytest.raises(MessageEncodeError, match=r"60\.5"):
        Field60("22", 1, "000", None, "2").pack()
    with pytest.raises(MessageFormatError):
        Field60.unpack("2200000")
    with pytest.raises(MessageFormatError):
        Field60.unpack("220000010006010650")  # 18 digits: 60.8 is two digits
    with pytest.raises(MessageEncodeError):
        Field60("22", 1_000_000).pack()


def test_field61_layouts() -> None:
    """Voids send batch + trace; refunds zeros + MMDD; extras follow the date."""
    assert Field61(1, 123).pack() == "000001000123"
    assert Field61(date="0615").pack() == "0000000000000615"
    assert Field61.unpack("0000000000000615") == Field61(date="0615")
    assert Field61.unpack("00000100012306150101") == Field61(1, 123, "0615", "0101")
    with pytest.raises(MessageFormatError):
        Field61.unpack("00000100012306")


def test_field90_layout() -> None:
    """ascii87 field 90: MTI, STAN, MMDD, hhmmss, two 11-digit institutions."""
    ode = OriginalDataElements("0200", 123, "0615", "103000")
    assert ode.pack() == "0200000123" + "0615103000" + "0" * 22
    assert OriginalDataElements.unpack(ode.pack()) == ode
    with pytest.raises(MessageFormatError):
        OriginalDataElements.unpack("0200")


K8, K16 = bytes(range(1, 9)), bytes(range(1, 17))
KCV = bytes.fromhex("A1B2C3D4")


@pytest.mark.parametrize(
    ("scheme", "keys", "length"),
    [
        ("001", WorkingKeys(K8, KCV, K8, KCV), 24),
        ("003", WorkingKeys(K16, KCV, K8, KCV), 40),
        ("003", WorkingKeys(K16, KCV, K16, KCV), 40),
        ("004", WorkingKeys(K16, KCV, K8, KCV, K16, KCV), 60),
        ("006", WorkingKeys(K16, KCV, K16, KCV, K16, KCV), 60),
    ],
)
def test_working_key_layouts(scheme: str, keys: WorkingKeys, length: int) -> None:
    """Field 62 of 0810 is 24/40/60 bytes per scheme (004 = 120 hex like the Bestpay host)."""
    packed = pack_working_keys(keys, scheme)
    assert len(packed) == length
    assert unpack_working_keys(packed, scheme) == keys
    if scheme != "006":
        assert unpack_working_keys(packed) == keys


def test_single_length_mak_is_zero_padded_in_3des_schemes() -> None:
    """In 003/004 an 8-byte MAK is followed by 8 zero bytes, then its KCV."""
    packed = pack_working_keys(WorkingKeys(K16, KCV, K8, KCV, K16, KCV), "004")
    assert packed[20:36] == K8 + bytes(8)
    assert packed[36:40] == KCV


def test_working_keys_with_wrong_length_are_format_errors() -> None:
    """A 50-byte field 62 fits no scheme."""
    with pytest.raises(MessageFormatError) as info:
        unpack_working_keys(bytes(50))
    assert info.value.field == 62
    with pytest.raises(MessageFormatError):
        unpack_working_keys(bytes(24), "004")
    with pytest.raises(MessageEncodeError):
        pack_working_keys(WorkingKeys(K16, KCV, K8, KCV), "004")


def test_settlement_totals_layout() -> None:
    """48 = domestic (debit n12 n3 credit n12 n3 code n1) then foreign, 62 digits."""
    totals = Totals(debit_amount=123456, debit_count=12, credit_amount=1000, credit_count=1)
    value = pack_settlement_totals(totals)
    assert value == "000000123456012000000001000001" + "0" + "0" * 31
    assert unpack_settlement_totals(value) == (totals, Reconciliation.NOT_CHECKED, Reconciliation.NOT_CHECKED)
    reply = pack_settlement_totals(totals, Reconciliation.UNBALANCED, Reconciliation.BALANCED)
    assert unpack_settlement_totals(reply)[1:] == (Reconciliation.UNBALANCED, Reconciliation.BALANCED)
    with pytest.raises(MessageEncodeError):
        pack_settlement_totals(Totals(debit_count=1000))


def test_batch_items_layout() -> None:
    """0320/201 field 48: count n2 then 40-digit items with the PAN right-justified."""
    items = (
        BatchItem(stan=5, pan="6222021001123456789", amount=10000),
        BatchItem(stan=6, pan="4111111111111111", amount=1, foreign=True),
    )
    value = pack_batch_items(items)
    assert value[:2] == "02"
    assert value[2:42] == "00" + "000005" + "06222021001123456789" + "000000010000"
    assert unpack_batch_items(value) == items
    with pytest.raises(MessageFormatError):
        unpack_batch_items("03" + value[2:])
    with pytest.raises(MessageEncodeError):
        pack_batch_items(items * 5)
    assert pack_upload_count(17) == "0017"


def test_operator_and_card_organisation_fields() -> None:
    """63: operator an3 (+ model an20) in requests; organisation + 20-byte remarks back."""
    assert pack_operator_field("01", None) == "01 "
    assert unpack_operator_field(pack_operator_field("01", "XGD|G870")) == ("01", "XGD|G870")
    value = pack_card_organisation_field("CUP", ("工商银行", "银联"), "gbk")
    assert len(value[3:].encode("gbk")) == 40
    assert unpack_card_organisation_field(value, "gbk") == ("CUP", ("工商银行", "银联"))
    with pytest.raises(MessageEncodeError):
        pack_card_organisation_field("CUP", ("一二三四五六七八九十一",), "gbk")


def test_balance_field() -> None:
    """54: account type, amount type 02, currency, C/D sign, 12 digits."""
    value = pack_balance(Amount.of(123456, "CNY"))
    assert value == "0002156C000000123456"
    assert unpack_balance(value) == Amount.of(123456, "CNY")
    assert unpack_balance("0002156D000000000100") == Amount.of(-100, "CNY")
    with pytest.raises(MessageFormatError):
        unpack_balance("0002000C000000000100")


def test_local_datetime_picks_the_nearest_year() -> None:
    """12/13 carry no year: 31 Dec seen on 2 Jan is last year."""
    now = datetime(2026, 1, 2, 9, 0)
    assert unpack_local_datetime("235959", "1231", now) == datetime(2025, 12, 31, 23, 59, 59)
    assert unpack_local_datetime("000001", "0101", datetime(2025, 12, 31)) == datetime(2026, 1, 1, 0, 0, 1)
    with pytest.raises(MessageFormatError):
        unpack_local_datetime("250000", "0101", now)
    with pytest.raises(MessageFormatError):
        unpack_local_datetime("120000", None, now)


@settings(max_examples=100, deadline=None)
@given(st.text("0123456789", min_size=0, max_size=30))
def test_field60_and_61_unpack_only_raise_format_errors(value: str) -> None:
    """Any digit string either unpacks or raises MessageFormatError."""
    for parser in (Field60.unpack, Field61.unpack, unpack_batch_items):
        try:
            result = parser(value)
        except MessageFormatError as exc:
            assert exc.response_code == "30"
        else:
            assert result is not None
