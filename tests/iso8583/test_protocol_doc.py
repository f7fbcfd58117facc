"""docs/protocol.md stays true: its tables, examples and client code match the code."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from poskit.crypto.mac import cups_ecb_mac, retail_mac
from poskit.iso8583 import get_dialect
from poskit.iso8583.model import Response, TxnType, WorkingKeys
from poskit.iso8583.response_codes import RESPONSE_CODES

DOC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text("utf-8")
PAN = "6222021001123456789"


def _section(start: str, end: str) -> str:
    return DOC.split(start, 1)[1].split(end, 1)[0]


@pytest.mark.parametrize("name", ["cups", "ascii87"])
def test_message_tables_match_the_plans(name: str) -> None:
    """Every row of the §5 table lists exactly the fields the dialect sends and requires."""
    dialect = get_dialect(name)
    rows = [
        line
        for line in _section(f"<!-- plan-table:{name} -->", "<!-- /plan-table -->").splitlines()
        if line.startswith("| ") and not line.startswith("| Transaction")
    ]
    assert len(rows) == len(TxnType)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        txn = TxnType(cells[0].split(" ")[0])
        plan = dialect.plans[txn]  # type: ignore[attr-defined]
        definition = dialect.definition(txn)

        def nums(text: str) -> frozenset[int]:
            return frozenset(int(x) for x in text.split())

        assert cells[1] == definition.request_mti and cells[4] == definition.response_mti
        assert (nums(cells[2]), nums(cells[3])) == (plan.request, plan.request_mandatory), txn
        assert (nums(cells[5]), nums(cells[6])) == (plan.response, plan.response_mandatory), txn
        assert cells[7] == (str(dialect.mac_field) if definition.mac else "none")


def test_response_code_table_matches_the_code_table() -> None:
    """§9 lists every code with the texts and action of response_codes.py."""
    table = _section("## 9. Response codes", "## 10. ")
    rows = re.findall(r"^\| ([0-9A-Z]{2}) \| (.+?) \| (.+?) \| (\w+) \|$", table, re.MULTILINE)
    documented = {code: (en, zh, action) for code, en, zh, action in rows}
    assert documented == {c: (r.en, r.zh, r.action.value) for c, r in RESPONSE_CODES.items()}


def test_cups_worked_example_is_the_encoder_output() -> None:
    """The one-line cups frame of §10.1 is the golden sale, with its cups-ecb MAC."""
    golden = _golden()
    dialect = get_dialect("cups", tpdu=golden.TPDU, header=golden.HEADER)
    wire = dialect.frame(
        dialect.seal(dialect.encode_request(golden.SALE), mac=lambda data: cups_ecb_mac(golden.MAK, data))
    )
    assert wire.hex().upper() in DOC


def _golden() -> ModuleType:
    """The sibling golden-bytes module (tests are not a package under importlib mode)."""
    spec = importlib.util.spec_from_file_location("_golden", Path(__file__).with_name("test_golden.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _client() -> SimpleNamespace:
    code = _section("<!-- client-example -->\n```python\n", "```\n<!-- /client-example -->")
    namespace: dict[str, object] = {}
    exec(compile(code, "protocol.md client example", "exec"), namespace)  # noqa: S102
    return SimpleNamespace(**namespace)


MAK2 = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_client_example_signs_on_pays_and_reverses() -> None:
    """The documented pyiso8583 client produces messages the poskit host decodes as meant."""
    client = _client()
    dialect = get_dialect("ascii87")
    mac8 = lambda data: retail_mac(MAK2, data)  # noqa: E731

    sign_on = dialect.decode_request(dialect.decode(client.seal(client.sign_on(1))))
    assert (sign_on.txn_type, sign_on.key_scheme, sign_on.batch) == (TxnType.SIGN_ON, "004", 1)

    sale_doc = client.sale(2, 10000, "566", PAN, PAN + "=2912201000001", "0123456789ABCDEF")
    raw = client.seal(sale_doc, mac8)
    assert dialect.extract_mac(raw) == retail_mac(MAK2, dialect.mac_input(raw))
    sale = dialect.decode_request(dialect.decode(raw))
    assert sale.txn_type == TxnType.SALE and sale.amount is not None
    assert (sale.amount.minor, sale.amount.currency.code, sale.stan) == (10000, "NGN", 2)
    assert sale.card is not None and sale.card.pin_block == bytes.fromhex("0123456789ABCDEF")

    reversal = dialect.decode_request(dialect.decode(client.seal(client.reversal(3, sale_doc), mac8)))
    assert reversal.txn_type == TxnType.REVERSAL and reversal.reversal_reason == "98"
    assert reversal.original is not None
    assert (reversal.original.txn_type, reversal.original.stan) == (TxnType.SALE, 2)

    lines = _section("### 10.3 ascii87 messages", "Read the sale").split("```")[1].split()
    assert lines == [
        client.seal(client.sign_on(1)).decode(),
        raw.decode(),
        client.seal(client.reversal(3, sale_doc), mac8).decode(),
    ]


def test_client_example_reads_the_sign_on_keys() -> None:
    """working_keys() of the documented client parses a poskit 0810."""
    import iso8583
    import iso8583.specs

    client = _client()
    dialect = get_dialect("ascii87")
    request = dialect.decode_request(dialect.decode(client.seal(client.sign_on(1))))
    keys = WorkingKeys(
        bytes(range(16)), b"\x01" * 4, bytes(range(8)), b"\x02" * 4, bytes(range(16, 32)), b"\x03" * 4
    )
    reply = dialect.seal(
        dialect.encode_response(
            Response(TxnType.SIGN_ON, "00", "12345678", working_keys=keys, key_scheme="004"), request
        )
    )
    doc, _ = iso8583.decode(reply, iso8583.specs.default_ascii)
    parsed = client.working_keys(doc)
    assert parsed == {
        "pik": keys.pik,
        "pik_kcv": keys.pik_kcv,
        "mak": keys.mak,
        "mak_kcv": keys.mak_kcv,
        "tdk": keys.tdk,
        "tdk_kcv": keys.tdk_kcv,
    }
