"""Transaction identification tables of both dialects."""

from __future__ import annotations

import pytest

from poskit.iso8583.errors import UnknownTransactionError
from poskit.iso8583.model import TxnType
from poskit.iso8583.transactions import ASCII87_TABLE, CUPS_TABLE, txn_label

T = TxnType

# "Bestpay code" column of china-pos-domain.md §1.2: MTI + 3[0:2] + 25 + 60.1.
BESTPAY = {
    T.BALANCE: "0200310001",
    T.PREAUTH: "0100030610",
    T.PREAUTH_VOID: "0100200611",
    T.COMPLETION: "0200000620",
    T.COMPLETION_VOID: "0200200621",
    T.COMPLETION_ADVICE: "0220000624",
    T.SALE: "0200000022",
    T.VOID: "0200200023",
    T.REFUND: "0220200025",
}
# MTI + 60.3 codes of the same table.
MANAGEMENT = {
    T.SIGN_ON: "0800004",
    T.SIGN_OFF: "0820002",
    T.SETTLEMENT: "0500201",
    T.BATCH_UPLOAD: "0320201",
    T.SIGNATURE_UPLOAD: "0820800",
    T.SCRIPT_ADVICE: "0620951",
    T.STATUS_UPLOAD: "0820362",
    T.ECHO: "0820301",
}


@pytest.mark.parametrize(("txn", "code"), BESTPAY.items())
def test_cups_financial_codes_match_the_reference_table(txn: TxnType, code: str) -> None:
    """Each cups financial row reproduces the host trans code of the reference."""
    d = CUPS_TABLE.definition(txn)
    assert f"{d.request_mti}{d.processing}{d.condition}{d.function}" == code
    found = CUPS_TABLE.identify(
        code[:4], processing=code[4:6], condition=code[6:8], function=code[8:10], network="000"
    )
    assert found.txn_type == txn


@pytest.mark.parametrize(("txn", "code"), MANAGEMENT.items())
def test_cups_management_codes(txn: TxnType, code: str) -> None:
    """Management messages are identified by MTI and 60.3."""
    function = "07" if txn == T.SIGNATURE_UPLOAD else "00"
    assert CUPS_TABLE.identify(code[:4], function=function, network=code[4:]).txn_type == txn


def test_response_mtis_and_reversibility() -> None:
    """Responses are request MTI + 10; sales reverse, refunds and balance inquiries do not."""
    for table in (CUPS_TABLE, ASCII87_TABLE):
        for row in table:
            assert int(row.response_mti) == int(row.request_mti) + 10
        assert table.definition(T.SALE).reversible
        assert not table.definition(T.BALANCE).reversible
    assert not CUPS_TABLE.definition(T.REFUND).reversible
    assert (
        CUPS_TABLE.identify("0210", processing="00", condition="00", function="22", network="000").txn_type
        == T.SALE
    )


def test_repeat_mti_identifies_as_its_base() -> None:
    """0401 is a cups reversal, 0421 an ascii87 reversal."""
    assert CUPS_TABLE.identify("0401").txn_type == T.REVERSAL
    assert ASCII87_TABLE.identify("0421").txn_type == T.REVERSAL


def test_ascii87_identification() -> None:
    """ascii87 uses 3 + 25 for financial messages and 70 for network management."""
    assert ASCII87_TABLE.identify("0200", processing="02", condition="00").txn_type == T.VOID
    assert ASCII87_TABLE.identify("0100", processing="31", condition="00").txn_type == T.BALANCE
    assert ASCII87_TABLE.identify("0500", processing="96").txn_type == T.BATCH_UPLOAD_END
    assert ASCII87_TABLE.identify("0800", network="301").txn_type == T.ECHO


@pytest.mark.parametrize(
    ("table", "mti", "kwargs", "code"),
    [
        (CUPS_TABLE, "0200", {"processing": "00", "condition": "00", "function": "99"}, "12"),
        (CUPS_TABLE, "0200", {"processing": "00", "condition": "00", "function": "36"}, "40"),
        (CUPS_TABLE, "0800", {"function": "00", "network": "370"}, "40"),
        (CUPS_TABLE, "0700", {}, "12"),
        (ASCII87_TABLE, "0200", {"processing": "01", "condition": "00"}, "40"),
        (ASCII87_TABLE, "0200", {"processing": "77", "condition": "00"}, "12"),
    ],
)
def test_unknown_combinations(table: object, mti: str, kwargs: dict[str, str], code: str) -> None:
    """Unknown combinations map to 12, known-but-unsupported ones to 40."""
    with pytest.raises(UnknownTransactionError) as info:
        table.identify(mti, **kwargs)  # type: ignore[attr-defined]
    assert info.value.response_code == code


def test_original_of_an_ambiguous_code_is_the_online_request() -> None:
    """cups 20/00 behind a script advice is a void (refunds are offline)."""
    found = CUPS_TABLE.identify_original(processing="20", condition="00", among=[T.SALE, T.VOID, T.REFUND])
    assert found.txn_type == T.VOID


def test_labels() -> None:
    """Receipt labels exist in English and Chinese for every type."""
    for txn in TxnType:
        assert txn_label(txn) and txn_label(txn, "zh")
    assert txn_label(T.SALE, "zh") == "消费" and txn_label(T.VOID) == "Void"
