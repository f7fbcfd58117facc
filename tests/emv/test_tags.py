"""The EMV tag dictionary."""

from __future__ import annotations

import pytest

from poskit.emv.tags import TAGS, is_sensitive, tag_format, tag_info, tag_name


@pytest.mark.parametrize("tag", ["5A", "57", "5F20", "9F1F", "9F6B", "56", "99", "9F20"])
def test_cardholder_data_is_sensitive(tag: str) -> None:
    """PAN, track data, names and PIN data are flagged sensitive."""
    assert is_sensitive(tag)


@pytest.mark.parametrize("tag", ["9F26", "95", "82", "9F36", "84", "9F10"])
def test_transaction_data_is_not_sensitive(tag: str) -> None:
    """Cryptograms and transaction data are not cardholder data."""
    assert not is_sensitive(tag)


def test_rows_are_consistent() -> None:
    """Each row is keyed by its own upper-case tag with a known format and source."""
    for tag, info in TAGS.items():
        assert info.tag == tag == tag.upper()
        assert info.format in ("b", "n", "cn", "an", "ans")
        assert info.source in ("card", "terminal", "issuer")


def test_lookup_helpers() -> None:
    """Lookups are case-insensitive and unknown tags default to binary."""
    info = tag_info("9f02")
    assert info is not None and info.format == "n" and info.source == "terminal"
    assert tag_format("5A") == "cn"
    assert tag_format("DF7F") == "b"
    assert "unknown" in tag_name("DF7F")
    assert tag_name("9F27") == "Cryptogram Information Data"
