"""The local master key (LMK): the AES-256 key that protects every other key at rest.

Every key the software HSM hands out is a TR-31 version D key block wrapped under the LMK.
The LMK itself lives in a key file (64 hex digits, mode 0600) or an environment variable, never
in the database. Its :attr:`~LocalMasterKey.identifier` (the AES-CMAC check value) is safe to
print and to store next to key blocks, so a host can tell which LMK wrapped them.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

from poskit.crypto.errors import InputError, LmkError
from poskit.crypto.hexinput import parse_hex
from poskit.crypto.kcv import kcv

__all__ = ["LMK_LENGTH", "LocalMasterKey"]

LMK_LENGTH = 32


class LocalMasterKey:
    """A 32-byte AES-256 key block protection key. Its repr shows only the identifier."""

    __slots__ = ("_identifier", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != LMK_LENGTH:
            raise LmkError(f"{len(key)} bytes, expected {LMK_LENGTH} (AES-256)")
        self._key = bytes(key)
        self._identifier = kcv(self._key, algorithm="AES", length=3).hex().upper()

    @property
    def identifier(self) -> str:
        """The LMK's check value (6 hex digits): safe to show, log and store."""
        return self._identifier

    def __repr__(self) -> str:
        return f"LocalMasterKey(identifier={self._identifier!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LocalMasterKey):
            return NotImplemented
        import hmac

        return hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self._identifier)

    def __reduce__(self) -> NoReturn:
        # Pickling would copy the clear LMK into caches, queues or files.
        raise TypeError("a LocalMasterKey cannot be pickled")

    @classmethod
    def generate(cls, random: Callable[[int], bytes] = os.urandom) -> LocalMasterKey:
        """A new random LMK."""
        return cls(random(LMK_LENGTH))

    @classmethod
    def from_hex(cls, text: str, *, argument: str = "lmk") -> LocalMasterKey:
        """An LMK from 64 hex digits (surrounding whitespace ignored)."""
        try:
            return cls(parse_hex(text.strip(), argument, lengths=(LMK_LENGTH,)))
        except InputError as exc:
            raise LmkError(str(exc)) from None

    @classmethod
    def from_env(
        cls, name: str = "POSKIT_LMK", *, environ: Mapping[str, str] | None = None
    ) -> LocalMasterKey:
        """An LMK from the environment variable ``name`` (64 hex digits)."""
        env = os.environ if environ is None else environ
        value = env.get(name)
        if not value:
            raise LmkError(f"environment variable {name} is not set")
        return cls.from_hex(value, argument=name)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, check_permissions: bool = True) -> LocalMasterKey:
        """An LMK from a key file. Refuses a file that others can read, unless told not to."""
        p = Path(path)
        try:
            st = p.stat()
            text = p.read_text(encoding="ascii")
        except FileNotFoundError:
            raise LmkError(f"key file {p} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise LmkError(f"key file {p} cannot be read ({type(exc).__name__})") from None
        if check_permissions and os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise LmkError(
                f"key file {p} is accessible by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it"
            )
        return cls.from_hex(text, argument=str(p))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the LMK as hex to ``path`` with mode 0600, atomically (temp file + rename)."""
        p = Path(path)
        directory = p.parent if str(p.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=".lmk-", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(self._key.hex().upper() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
