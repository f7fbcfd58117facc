"""The dialect-neutral ISO 8583 message: an MTI and field values as pyiso8583 gives them.

Values are strings exactly as pyiso8583 decodes them in either dialect: digits for
``n`` fields, text for ``an``/``ans``, and an uppercase hex string for binary data
(the cups dialect's ``b`` fields and the ascii87 dialect's hex fields alike). Terminal
and host code do not build these by hand; the dialects map the neutral model
(:mod:`poskit.iso8583.model`) to and from them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

from poskit.iso8583 import masking
from poskit.iso8583.errors import MessageFormatError
from poskit.iso8583.spec import DialectSpec

__all__ = ["IsoMessage"]


@dataclasses.dataclass(slots=True, eq=True, repr=False)
class IsoMessage:
    """An ISO 8583 message: ``mti`` plus ``fields`` (field number -> decoded value).

    ``dialect`` records which dialect decoded or built the message; it selects the
    masking rules of :meth:`masked` and does not take part in equality.
    """

    mti: str
    fields: dict[int, str] = dataclasses.field(default_factory=dict)
    dialect: str | None = dataclasses.field(default=None, compare=False)

    # mapping-style access -------------------------------------------------------
    def __contains__(self, number: object) -> bool:
        return number in self.fields

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self.fields))

    def get(self, number: int) -> str | None:
        return self.fields.get(number)

    def set(self, number: int, value: str | None) -> None:
        """Set a field, or remove it when ``value`` is None."""
        if value is None:
            self.fields.pop(number, None)
        else:
            self.fields[number] = value

    def require(self, number: int) -> str:
        """The value of a mandatory field; a missing one is a format error (code 30)."""
        value = self.fields.get(number)
        if value is None:
            raise MessageFormatError(number, None, "mandatory field missing", partial=self)
        return value

    def binary(self, number: int) -> bytes | None:
        """A binary field (hex string in both dialects) as bytes."""
        value = self.fields.get(number)
        if value is None:
            return None
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise MessageFormatError(number, None, "binary field is not hex", partial=self) from None

    def number(self, number: int) -> int | None:
        """A numeric field as int (e.g. 11 STAN, 4 amount in minor units)."""
        value = self.fields.get(number)
        if value is None:
            return None
        if not value.isascii() or not value.isdigit():
            raise MessageFormatError(number, None, "numeric field holds non-digits", partial=self)
        return int(value)

    # typed accessors ------------------------------------------------------------
    @property
    def processing_code(self) -> str | None:
        return self.fields.get(3)

    @property
    def stan(self) -> int | None:
        return self.number(11)

    @property
    def amount_minor(self) -> int | None:
        return self.number(4)

    @property
    def currency_code(self) -> str | None:
        return self.fields.get(49)

    @property
    def condition_code(self) -> str | None:
        return self.fields.get(25)

    @property
    def response_code(self) -> str | None:
        return self.fields.get(39)

    @property
    def rrn(self) -> str | None:
        value = self.fields.get(37)
        return value.strip() if value is not None else None

    @property
    def auth_code(self) -> str | None:
        value = self.fields.get(38)
        return value.strip() if value is not None else None

    @property
    def terminal_id(self) -> str | None:
        return self.fields.get(41)

    @property
    def merchant_id(self) -> str | None:
        return self.fields.get(42)

    @property
    def is_request(self) -> bool:
        """MTI function digit even (request/advice/notification), not a response."""
        return len(self.mti) == 4 and self.mti[2] in "024"

    @property
    def is_repeat(self) -> bool:
        """MTI origin digit 1: a repeated request (e.g. 0401, 0221)."""
        return len(self.mti) == 4 and self.mti[3] == "1"

    @property
    def response_mti(self) -> str:
        """The MTI that answers this request: function digit + 1, origin digit 0."""
        if len(self.mti) != 4 or not self.mti.isdigit():
            raise MessageFormatError("mti", None, "MTI is not four digits", partial=self)
        return f"{self.mti[:2]}{int(self.mti[2]) + 1}0"

    # logging --------------------------------------------------------------------
    def masked(self, dialect: DialectSpec | str | None = None) -> dict[str, str]:
        """Loggable field values: PAN first 6/last 4, tracks, PIN block, MAC and
        sensitive field-55 tags wiped. Keys are ``"mti"`` and field numbers."""
        return masking.masked_fields(self.mti, self.fields, dialect or self.dialect)

    def describe(self, dialect: DialectSpec | str | None = None, *, lang: str = "en") -> str:
        """A multi-line masked dump, one field per line, for logs and the CLI."""
        return masking.describe(self.mti, self.fields, dialect or self.dialect, lang=lang)

    def __repr__(self) -> str:
        # Field numbers and lengths only: a repr must never leak a PAN or track.
        parts = ", ".join(f"{n}:{len(v)}" for n, v in sorted(self.fields.items()))
        return f"IsoMessage(mti={self.mti!r}, fields={{{parts}}})"

    @classmethod
    def from_mapping(cls, mti: str, fields: Mapping[int, str], dialect: str | None = None) -> IsoMessage:
        return cls(mti, dict(fields), dialect)
