"""Terminal config factories and the magstripe insert/fallback rules."""

from __future__ import annotations

import pytest

from poskit.emv.config import AidConfig, ConfigError, TerminalConfig
from poskit.emv.magstripe import ChipFallback, EntryMode, must_insert, swipe_entry_mode


def test_china_factory() -> None:
    """The China terminal uses CNY/156, UnionPay AIDs first and the 1000.00 QPS limit."""
    config = TerminalConfig.china()
    assert config.currency_code == "0156" and config.country_code == "0156"
    assert config.aids[0].aid == "A000000333010101"
    assert all(a.contactless_limits.cvm_required_limit == 100_000 for a in config.aids)
    assert config.supports_online_pin and config.supports_cda
    assert (
        TerminalConfig.china(qps_no_cvm_limit=30_000).aids[0].contactless_limits.cvm_required_limit == 30_000
    )


def test_nigeria_and_for_terminal() -> None:
    """for_terminal picks the region and fills identifiers."""
    config = TerminalConfig.for_terminal("NG", terminal_id="2057ABCD", merchant_id="MERCHANT1")
    assert config.currency_code == "0566"
    assert config.aids[0].aid == "A0000003710001"
    assert config.terminal_id == "2057ABCD" and config.merchant_id == "MERCHANT1      "
    assert TerminalConfig.for_terminal("CN").currency_code == "0156"
    with pytest.raises(ConfigError):
        TerminalConfig.for_terminal("US")  # type: ignore[arg-type]


def test_validation_and_aid_lookup() -> None:
    """Bad hex and lengths are rejected; AIDs match exactly or by ASI partial selection."""
    with pytest.raises(ConfigError):
        TerminalConfig(terminal_capabilities="E0F8")
    with pytest.raises(ConfigError):
        TerminalConfig(terminal_id="1")
    with pytest.raises(ConfigError, match="acquirer_id"):
        TerminalConfig(acquirer_id="ACQ")
    with pytest.raises(ConfigError, match="terminal_type"):
        TerminalConfig(terminal_type="2")
    with pytest.raises(ConfigError):
        AidConfig("A0000003", "short")
    config = TerminalConfig(aids=(AidConfig("A000000333", "UnionPay"),))
    match = config.aid("A000000333010102")
    assert match is not None and match.aid == "A000000333"
    assert (
        TerminalConfig(aids=(AidConfig("A000000333", "UP", partial_selection=False),)).aid("A000000333010102")
        is None
    )


def test_must_insert() -> None:
    """Chip cards (2xx/6xx) swiped on a working chip reader must be inserted."""
    assert must_insert("220", chip_reader_ok=True)
    assert must_insert("601", chip_reader_ok=True)
    assert not must_insert("220", chip_reader_ok=False)
    assert not must_insert("120", chip_reader_ok=True)


def test_fallback_after_failures() -> None:
    """After three chip failures the swipe of a chip card is taken as FALLBACK."""
    fallback = ChipFallback(limit=3)
    assert swipe_entry_mode("220", chip_reader_ok=True, fallback=fallback) is None
    for _ in range(3):
        fallback.record_failure()
    assert fallback.fallback_allowed
    assert swipe_entry_mode("220", chip_reader_ok=True, fallback=fallback) is EntryMode.FALLBACK
    fallback.record_success()
    assert not fallback.fallback_allowed
    assert swipe_entry_mode("120", chip_reader_ok=True) is EntryMode.MAGSTRIPE
    assert swipe_entry_mode("220", chip_reader_ok=False) is EntryMode.FALLBACK
