"""ESC/POS encoder and receipt renderer: command bytes, golden slip, python-escpos transport."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.terminal.printing.escpos import (
    EscPosEncoder,
    EscPosError,
    render_escpos,
    render_report_escpos,
)
from poskit.terminal.receipt import Receipt

GOLDEN = Path(__file__).parent / "golden" / "sale-58mm-merchant.escpos"


def interpret(data: bytes) -> list[str]:
    """A tiny ESC/POS interpreter for the commands the encoder uses: text lines and command names."""
    out: list[str] = []
    line = bytearray()
    i = 0

    def flush() -> None:
        if line:
            out.append("TEXT " + line.decode("gb18030"))
            line.clear()

    while i < len(data):
        byte = data[i]
        if byte == 0x1B:
            flush()
            cmd = data[i + 1]
            if cmd == 0x40:
                out.append("ESC @")
                i += 2
            else:
                out.append(f"ESC {chr(cmd)} {data[i + 2]}")
                i += 3
        elif byte == 0x1C:
            flush()
            out.append(f"FS {chr(data[i + 1])}")
            i += 2
        elif byte == 0x1D:
            flush()
            cmd = data[i + 1]
            if cmd == 0x21:
                out.append(f"GS ! {data[i + 2]:#04x}")
                i += 3
            elif cmd == 0x28:  # GS ( k pL pH fn...
                n = data[i + 3] | data[i + 4] << 8
                out.append("GS ( k " + data[i + 5 : i + 5 + n].decode("utf-8"))
                i += 5 + n
            elif cmd == 0x56:
                out.append(f"GS V {data[i + 2]} {data[i + 3]}")
                i += 4
            elif cmd == 0x76:
                width = data[i + 4] | data[i + 5] << 8
                height = data[i + 6] | data[i + 7] << 8
                out.append(f"GS v 0 {width}x{height}")
                i += 8 + width * height
            else:
                raise AssertionError(f"unexpected GS command {cmd:#04x} at {i}")
        elif byte == 0x0A:
            flush()
            i += 1
        else:
            line.append(byte)
            i += 1
    flush()
    return out


def test_encoder_commands_match_the_esc_pos_reference() -> None:
    """Init, Chinese mode, alignment, emphasis, size, feed and cut are the documented byte sequences."""
    data = (
        EscPosEncoder()
        .initialise()
        .align("center")
        .bold(True)
        .size(2, 2)
        .line("签")
        .feed(3)
        .cut(feed=3)
        .getvalue()
    )
    assert data == (
        b"\x1b@\x1c&"  # ESC @, FS &
        b"\x1ba\x01\x1bE\x01\x1d!\x11"  # ESC a 1, ESC E 1, GS ! 0x11
        b"\xc7\xa9\n"  # 签 in GB18030 (= GBK C7A9), LF
        b"\x1bd\x03\x1dVB\x03"  # ESC d 3, GS V 66 3
    )


def test_modes_are_sent_only_when_they_change() -> None:
    """Repeating the same alignment, emphasis or size emits no extra command."""
    data = EscPosEncoder().initialise(chinese=False).align("left").bold(False).size(1, 1).text("A").getvalue()
    assert data == b"\x1b@A"


def test_qr_code_uses_the_gs_paren_k_functions() -> None:
    """Model 2, module size, error level M, store (length = data + 3, little endian) and print."""
    url = "https://example.test/r/123456789012"
    data = EscPosEncoder().qr(url, module_size=6, error="M").getvalue()
    payload = url.encode()
    store_length = len(payload) + 3
    assert data == (
        b"\x1d(k\x04\x00\x31\x41\x32\x00"
        b"\x1d(k\x03\x00\x31\x43\x06"
        b"\x1d(k\x03\x00\x31\x45\x31"
        + b"\x1d(k"
        + bytes([store_length & 0xFF, store_length >> 8])
        + b"\x31\x50\x30"
        + payload
        + b"\x1d(k\x03\x00\x31\x51\x30"
    )


def test_raster_image_packs_eight_dots_per_byte_msb_first() -> None:
    """GS v 0 carries width in bytes and height in rows, then row-major bits (1 = black)."""
    rows = [[True] + [False] * 8, [False] * 8 + [True]]
    data = EscPosEncoder().raster(rows).getvalue()
    assert data == b"\x1dv0\x00\x02\x00\x02\x00" + bytes([0x80, 0x00, 0x00, 0x80])


def test_bad_arguments_are_refused_with_the_command_named() -> None:
    """Sizes, feeds, module sizes and images outside the printer's range raise EscPosError."""
    with pytest.raises(EscPosError, match="GS !"):
        EscPosEncoder().size(9, 1)
    with pytest.raises(EscPosError, match="ESC d"):
        EscPosEncoder().feed(300)
    with pytest.raises(EscPosError, match=r"GS \( k"):
        EscPosEncoder().qr("x", module_size=0)
    with pytest.raises(EscPosError, match="GS v 0"):
        EscPosEncoder().raster([])
    assert issubclass(EscPosError, ValueError)


def test_receipt_matches_the_reviewed_golden_file(receipt: Receipt) -> None:
    """The fixed sale slip on 58 mm renders to exactly the checked-in, reviewed bytes."""
    assert render_escpos(receipt, copy="merchant", paper_name="58mm") == GOLDEN.read_bytes()


def test_golden_slip_content(receipt: Receipt, full_pan: str) -> None:
    """The slip has the masked card number, amount, QR link and signature line; never the full PAN."""
    commands = interpret(GOLDEN.read_bytes())
    texts = [c.removeprefix("TEXT ") for c in commands if c.startswith("TEXT ")]
    joined = "\n".join(texts)
    assert commands[:2] == ["ESC @", "FS &"] and commands[-1] == "GS V 66 3"
    assert "621700******5670 /S" in texts
    assert "CNY 1,234.50" in texts
    assert f"GS ( k 1P0{receipt.e_receipt_url}" in commands
    assert "持卡人签名 CARDHOLDER SIGNATURE:" in texts
    assert full_pan not in joined and full_pan.encode() not in GOLDEN.read_bytes()
    assert all(len(t.encode("gbk")) <= 32 for t in texts if not t.startswith("CNY"))  # 32 columns


def test_80mm_paper_uses_48_columns(receipt: Receipt) -> None:
    """On 80 mm paper rules are 48 columns and label/value pairs share one line."""
    texts = [c.removeprefix("TEXT ") for c in interpret(render_escpos(receipt, paper_name="80mm"))]
    assert "-" * 48 in texts
    assert any(t.startswith("商户编号 MERCHANT NO.") and t.endswith("898310058120001") for t in texts)


def test_signature_image_prints_as_raster(make_receipt: Callable[..., Receipt], signature: bytes) -> None:
    """A signed slip carries the e-signature as a GS v 0 image and the feature code."""
    signed = make_receipt().with_signature(signature, feature_code="0A1B2C3D4E5F6071")
    commands = interpret(render_escpos(signed, copy="cardholder"))
    assert any(c.startswith("GS v 0 ") for c in commands)
    assert any("0A1B2C3D4E5F6071" in c for c in commands)


def test_settlement_report_keeps_its_columns() -> None:
    """A report prints its lines as given, under a centred title."""
    lines = ["批次号 BATCH: 000001", "借记 DEBIT       2     123.45"]
    commands = interpret(render_report_escpos("结算单 SETTLEMENT", lines))
    assert "TEXT 结算单 SETTLEMENT" in commands
    assert "TEXT 借记 DEBIT       2     123.45" in commands


@settings(max_examples=60, deadline=None)
@given(name=st.text(st.characters(codec="gbk", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40))
def test_any_gbk_merchant_name_encodes_and_round_trips(
    make_receipt: Callable[..., Receipt], name: str
) -> None:
    """Whatever Chinese merchant name, the job decodes back (GB18030) and every line fits 32 columns."""
    receipt = make_receipt(merchant_name=name or "-")
    texts = [c.removeprefix("TEXT ") for c in interpret(render_escpos(receipt)) if c.startswith("TEXT ")]
    assert (name or "-").replace(" ", "") in "".join(texts).replace(" ", "")
