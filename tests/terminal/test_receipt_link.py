"""The slip's e-receipt link: built from the portal and the host's token, kept on reprints."""

from __future__ import annotations

from poskit.terminal.receipt import Receipt, e_receipt_url, render_text

TOKEN = "q3Zk-8_Vd0aY1rT5uWx2Ab"


def _receipt(link: str) -> Receipt:
    return Receipt(
        merchant_name="测试商户", merchant_name_en="Test shop", merchant_no="898310058120001",
        terminal_id="10000001", operator="01", acquirer="poskit", issuer="UnionPay",
        card_masked="621700******5670", entry_mode="swipe", txn_type="SALE", batch_no=1, voucher_no=3,
        rrn="634200000003", auth_code="123456", date_time="2026-12-08 10:30:00", amount="12.50",
        currency="CNY", e_receipt_url=link,
    )  # fmt: skip


def test_the_link_is_the_portal_and_the_token_never_the_rrn() -> None:
    """<portal>/r/<token>; no token (balance, offline) gives no link at all."""
    assert e_receipt_url("http://127.0.0.1:8000/", TOKEN) == f"http://127.0.0.1:8000/r/{TOKEN}"
    assert e_receipt_url("http://127.0.0.1:8000", None) == "" and e_receipt_url("", TOKEN) == ""


def test_a_reprint_keeps_a_token_link_and_drops_an_old_rrn_link() -> None:
    """Reprinting keeps the token link; a slip stored with the old /r/<RRN> link reprints without it."""
    fresh = _receipt(f"http://127.0.0.1:8000/r/{TOKEN}").as_reprint()
    old = _receipt("http://127.0.0.1:8000/r/634200000003").as_reprint()
    assert fresh.e_receipt_url.endswith(TOKEN) and TOKEN in render_text(fresh, copy="cardholder")
    assert old.e_receipt_url == "" and "E-RECEIPT" not in render_text(old, copy="cardholder")
    assert old.reprint and fresh.reprint
