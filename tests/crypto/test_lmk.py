"""The local master key: generation, hex, files (0600), environment, and a repr that hides it."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from poskit.crypto.errors import LmkError
from poskit.crypto.lmk import LocalMasterKey

HEX = "00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210"


def test_identifier_is_aes_kcv() -> None:
    """The identifier is the 3-byte AES-CMAC check value, in hex."""
    lmk = LocalMasterKey.from_hex(HEX)
    assert len(lmk.identifier) == 6
    assert lmk.identifier == LocalMasterKey(bytes.fromhex(HEX)).identifier


def test_repr_and_str_hide_the_key() -> None:
    """repr and str show the identifier only."""
    lmk = LocalMasterKey.from_hex(HEX)
    for text in (repr(lmk), str(lmk), f"{lmk}"):
        assert HEX not in text.upper() and "00112233" not in text
        assert lmk.identifier in text


def test_not_picklable() -> None:
    """Pickling an LMK is refused so it cannot leak into caches or queues."""
    with pytest.raises(TypeError):
        pickle.dumps(LocalMasterKey.from_hex(HEX))


def test_save_and_load(tmp_path: Path) -> None:
    """save writes hex with mode 0600; load reads it back."""
    path = tmp_path / "lmk.key"
    lmk = LocalMasterKey.generate(random=lambda n: bytes(range(n)))
    lmk.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert LocalMasterKey.load(path) == lmk
    assert not list(tmp_path.glob(".lmk-*"))  # no temp file left behind


def test_load_refuses_readable_file(tmp_path: Path) -> None:
    """A key file readable by others is refused unless permissions are not checked."""
    path = tmp_path / "lmk.key"
    path.write_text(HEX)
    os.chmod(path, 0o644)
    with pytest.raises(LmkError, match="chmod 600"):
        LocalMasterKey.load(path)
    assert LocalMasterKey.load(path, check_permissions=False).identifier


def test_load_errors_do_not_echo_key(tmp_path: Path) -> None:
    """A missing file or bad content gives an LmkError without key material."""
    with pytest.raises(LmkError, match="does not exist"):
        LocalMasterKey.load(tmp_path / "missing.key")
    path = tmp_path / "short.key"
    path.write_text(HEX[:62])
    os.chmod(path, 0o600)
    with pytest.raises(LmkError) as exc:
        LocalMasterKey.load(path)
    assert "31 bytes" in str(exc.value) and HEX[:20] not in str(exc.value)


def test_from_env() -> None:
    """from_env reads POSKIT_LMK (or another name) from a mapping."""
    assert LocalMasterKey.from_env(environ={"POSKIT_LMK": HEX}) == LocalMasterKey.from_hex(HEX)
    with pytest.raises(LmkError, match="POSKIT_LMK is not set"):
        LocalMasterKey.from_env(environ={})
    with pytest.raises(LmkError, match=r"^local master key: MY_LMK: odd number of hex digits$"):
        LocalMasterKey.from_env("MY_LMK", environ={"MY_LMK": "ABC"})


def test_wrong_length() -> None:
    """An LMK must be 32 bytes."""
    with pytest.raises(LmkError, match="16 bytes"):
        LocalMasterKey(bytes(16))
