"""Exact bytes of a cups sale request and a cups sign-on response.

The expected bytes are assembled by hand, field by field, from the UnionPay formats
(china-pos-domain.md §1.1/§1.3) and are the worked example of docs/protocol.md.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from poskit.crypto.mac import cups_ecb_mac as project_cups_ecb_mac
from poskit.iso8583 import get_dialect, unpack_frame
from poskit.iso8583.framing import CupsHeader, Tpdu
from poskit.iso8583.model import (
    CardData,
    EntryMode,
    Request,
    Response,
    TxnType,
    WorkingKeys,
)
from poskit.money import Amount

NOW = datetime(2025, 6, 15, 10, 30, 0)
TPDU = Tpdu(destination=0x0003, source=0x0000)
HEADER = CupsHeader(
    application=0x60, software_version=0x32, terminal_status=0, processing_requirement=0, sub_version="320072"
)
PAN = "6222021001123456789"  # poskit's public test card
MAK = bytes.fromhex("0123456789ABCDEF")  # illustrative single-length MAK


def _des(key: bytes, block: bytes) -> bytes:
    # The UnionPay MAC is defined on single DES blocks: ECB is the algorithm, not a choice.
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(block) + encryptor.finalize()


def cups_ecb_mac(mak: bytes, data: bytes) -> bytes:
    """The UnionPay POS ECB MAC (china-pos-domain.md §1.6), as the doc describes it."""
    padded = data + bytes(-len(data) % 8)
    block = bytes(8)
    for i in range(0, len(padded), 8):
        block = bytes(a ^ b for a, b in zip(block, padded[i : i + 8], strict=True))
    text = block.hex().upper().encode()
    first = _des(mak, text[:8])
    second = _des(mak, bytes(a ^ b for a, b in zip(first, text[8:], strict=True)))
    return second.hex().upper()[:8].encode()


SALE = Request(
    TxnType.SALE,
    terminal_id="12345678",
    merchant_id="123456789012345",
    stan=123,
    batch=1,
    amount=Amount.of(10000, "CNY"),
    card=CardData(
        entry_mode=EntryMode.SWIPE,
        pan=PAN,
        track2=PAN + "D2912201000001",
        expiry="2912",
        pin_block=bytes.fromhex("0123456789ABCDEF"),
        pin_max_length=6,
    ),
    operator="01",
    reading_capability="6",
    chip_condition="0",
    partial_approval=True,
)

SALE_MESSAGE_HEX = "".join(
    [
        "0200",  # MTI, BCD
        "702404C020C09813",  # bitmap: 2 3 4 11 14 22 25 26 35 41 42 49 52 53 60 63 64
        "1962220210011234567890",  # 2: LLVAR BCD length 19, trailing pad
        "000000",  # 3: processing code
        "000000010000",  # 4: 100.00 CNY in fen
        "000123",  # 11: trace
        "2912",  # 14: expiry YYMM
        "0210",  # 22: 021 left-justified
        "00",  # 25: condition
        "06",  # 26: PIN capture
        "336222021001123456789D29122010000010",  # 35: 33 nibbles + pad
        "3132333435363738",  # 41: "12345678"
        "313233343536373839303132333435",  # 42: "123456789012345"
        "313536",  # 49: "156"
        "0123456789ABCDEF",  # 52: PIN block (ciphertext)
        "2600000000000000",  # 53: format 0 with PAN, 3DES, track clear
        "001422000001000601",  # 60: LLLVAR BCD, 60.1-60.6
        "0003303120",  # 63: "01 "
    ]
)


def test_cups_sale_request_exact_bytes() -> None:
    """The sale request encodes to the hand-assembled bytes, MAC and frame included."""
    dialect = get_dialect("cups", tpdu=TPDU, header=HEADER)
    encoded = dialect.seal(dialect.encode_request(SALE), mac=lambda data: cups_ecb_mac(MAK, data))
    mac = cups_ecb_mac(MAK, bytes.fromhex(SALE_MESSAGE_HEX))
    assert mac == project_cups_ecb_mac(MAK, bytes.fromhex(SALE_MESSAGE_HEX)) == b"FD0CFD06"
    assert encoded.hex().upper() == SALE_MESSAGE_HEX + mac.hex().upper()
    assert dialect.mac_input(encoded) == bytes.fromhex(SALE_MESSAGE_HEX)
    wire = dialect.frame(encoded)
    assert wire[:2] == (11 + len(encoded)).to_bytes(2, "big")
    assert wire[2:13].hex().upper() == "6000030000603200320072"
    decoded = dialect.decode_request(dialect.decode(dialect.unframe(unpack_frame(wire)).message), now=NOW)
    # cups derives the service code from the clear track; otherwise the request is unchanged.
    assert decoded == dataclasses.replace(SALE, card=dataclasses.replace(SALE.card, service_code="201"))


KEYS = WorkingKeys(
    pik=bytes.fromhex("11" * 16),
    pik_kcv=bytes.fromhex("A1A2A3A4"),
    mak=bytes.fromhex("22" * 8),
    mak_kcv=bytes.fromhex("B1B2B3B4"),
    tdk=bytes.fromhex("33" * 16),
    tdk_kcv=bytes.fromhex("C1C2C3C4"),
)
SIGN_ON = Request(
    TxnType.SIGN_ON, "12345678", "123456789012345", stan=1, batch=1, operator="01", key_scheme="004"
)
SIGN_ON_RESPONSE = Response(
    TxnType.SIGN_ON,
    "00",
    "12345678",
    merchant_id="123456789012345",
    stan=1,
    batch=1,
    rrn="516610300001",  # the host's exchange reference: YDDD hhmmss + trace's last 2 digits
    host_datetime=NOW,
    working_keys=KEYS,
    key_scheme="004",
)

SIGN_ON_RESPONSE_HEX = "".join(
    [
        "0810",
        "003800000AC00014",  # bitmap: 11 12 13 37 39 41 42 60 62
        "000001",  # 11
        "103000",  # 12 hhmmss
        "0615",  # 13 MMDD
        "353136363130333030303031",  # 37 "516610300001"
        "3030",  # 39 "00"
        "3132333435363738",  # 41
        "313233343536373839303132333435",  # 42
        "0011000000010040",  # 60: 00 + batch 000001 + key scheme 004
        "0060",  # 62: 60 bytes
        "11" * 16 + "A1A2A3A4",  #     PIK + KCV
        "22" * 8 + "00" * 8 + "B1B2B3B4",  #     MAK + 8 zero bytes + KCV
        "33" * 16 + "C1C2C3C4",  #     TDK + KCV
    ]
)


def test_cups_sign_on_response_exact_bytes() -> None:
    """The 0810 with 004 keys encodes to the hand-assembled bytes and decodes back."""
    dialect = get_dialect("cups", clock=lambda: NOW)
    message = dialect.encode_response(SIGN_ON_RESPONSE, SIGN_ON)
    encoded = dialect.seal(message)
    assert encoded.hex().upper() == SIGN_ON_RESPONSE_HEX
    decoded = dialect.decode_response(dialect.decode(encoded))
    assert decoded == SIGN_ON_RESPONSE
    assert decoded.working_keys is not None and decoded.working_keys.mak == bytes.fromhex("22" * 8)
