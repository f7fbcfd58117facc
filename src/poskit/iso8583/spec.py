"""Dialect specification files: pyiso8583 field specs plus poskit metadata, as data.

A dialect file (``dialects/<name>.json``) is::

    {"name": "cups", "description": "...", "mac_field": 64,
     "fields": {"h": {...}, "t": {...}, "p": {...}, "2": {...}, ...}}

Each field entry holds the pyiso8583 keys (``data_enc``, ``len_enc``, ``len_type``,
``max_len``, ``desc`` and optionally ``len_count``, ``left_pad``, ``right_pad``) beside
poskit's own metadata:

========== ===============================================================
key        meaning
========== ===============================================================
format     ``n`` digits, ``an`` letters/digits/space, ``ans`` printable text,
           ``b`` binary (a hex string once decoded), ``z`` track data
           (digits and the ``D``/``=`` separator), ``mti``, ``bitmap``
sensitive  ``"mask"`` (PAN: first 6 / last 4 shown), ``"wipe"`` (never shown)
           or ``null``
name_en    English field name
name_zh    Chinese field name
tlv        the field is BER-TLV (field 55); ``wipe_tags`` lists the tags never
           shown in a dump
========== ===============================================================

:func:`load_spec` validates the file and yields a :class:`DialectSpec` whose
``pyiso`` attribute is the plain dict that ``iso8583.encode``/``decode`` take.
"""

from __future__ import annotations

import codecs
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from poskit.iso8583.errors import SpecError

__all__ = [
    "BUNDLED_DIALECTS",
    "PYISO_KEYS",
    "DialectFile",
    "DialectSpec",
    "FieldSpec",
    "load_spec",
    "load_spec_file",
]

#: The keys pyiso8583 itself reads; everything else in a field entry is poskit metadata.
PYISO_KEYS = ("data_enc", "len_enc", "len_type", "max_len", "desc", "len_count", "left_pad", "right_pad")

#: Dialect files shipped in ``poskit/iso8583/dialects``.
BUNDLED_DIALECTS = ("cups", "ascii87")

_FIELD_KEYS = {"h", "t", "p"} | {str(i) for i in range(1, 129)}
_HEX = set("0123456789ABCDEFabcdef")


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


class FieldSpec(BaseModel):
    """One field of a dialect: pyiso8583 keys plus metadata."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_enc: str
    len_enc: str
    len_type: int
    max_len: int
    desc: str
    len_count: Literal["bytes", "nibbles"] | None = None
    left_pad: str | None = None
    right_pad: str | None = None
    format: Literal["n", "an", "ans", "b", "z", "mti", "bitmap", "header"]
    sensitive: Literal["mask", "wipe"] | None = None
    name_en: str
    name_zh: str
    tlv: bool = False
    wipe_tags: tuple[str, ...] = ()

    @field_validator("len_type")
    @classmethod
    def _len_type(cls, value: int) -> int:
        if not 0 <= value <= 4:
            raise ValueError("len_type must be 0 (fixed) to 4 length bytes/characters")
        return value

    @field_validator("max_len")
    @classmethod
    def _max_len(cls, value: int) -> int:
        if not 0 <= value <= 99_999:
            raise ValueError("max_len must be 0..99999")
        return value

    @field_validator("data_enc")
    @classmethod
    def _data_enc(cls, value: str) -> str:
        if value != "b" and not _known_codec(value):
            raise ValueError(f"data_enc {value!r} is neither 'b' nor a Python codec")
        return value

    @field_validator("len_enc")
    @classmethod
    def _len_enc(cls, value: str) -> str:
        if value not in ("b", "bcd") and not _known_codec(value):
            raise ValueError(f"len_enc {value!r} is neither 'b', 'bcd' nor a Python codec")
        return value

    @field_validator("left_pad", "right_pad")
    @classmethod
    def _pad(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value not in _HEX):
            raise ValueError("a pad must be one hex character")
        return value

    @field_validator("wipe_tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not tag or len(tag) % 2 or set(tag) - _HEX:
                raise ValueError(f"wipe tag {tag!r} is not an even-length hex tag")
        return tuple(t.upper() for t in value)

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.len_count == "nibbles" and self.data_enc != "b":
            raise ValueError("len_count 'nibbles' needs data_enc 'b' (packed BCD/hex)")
        if self.left_pad is not None and self.right_pad is not None:
            raise ValueError("give left_pad or right_pad, not both")
        if self.wipe_tags and not self.tlv:
            raise ValueError("wipe_tags needs tlv: true")
        if self.len_type == 0 and self.max_len == 0 and self.format != "header":
            raise ValueError("a fixed-length field needs max_len > 0")
        if self.len_enc == "bcd" and self.len_type and 10 ** (2 * self.len_type) <= self.max_len:
            raise ValueError("max_len does not fit in the BCD length prefix")
        if self.len_type and self.len_enc not in ("b", "bcd") and 10**self.len_type <= self.max_len:
            raise ValueError("max_len does not fit in the text length prefix")
        return self

    def pyiso(self) -> dict[str, Any]:
        """The pyiso8583 part of this entry (keys that are unset are left out)."""
        data = self.model_dump()
        return {k: data[k] for k in PYISO_KEYS if data.get(k) is not None}


class DialectFile(BaseModel):
    """The top level of a dialect JSON file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    mac_field: Literal[64, 128]
    fields: dict[str, FieldSpec]

    @model_validator(mode="after")
    def _fields(self) -> DialectFile:
        unknown = set(self.fields) - _FIELD_KEYS
        if unknown:
            raise ValueError(f"unknown field keys {sorted(unknown)}")
        missing = {"h", "t", "p"} - set(self.fields)
        if missing:
            raise ValueError(f"missing message parts {sorted(missing)}")
        if str(self.mac_field) not in self.fields:
            raise ValueError(f"mac_field {self.mac_field} is not defined")
        if self.fields["t"].format != "mti" or self.fields["p"].format != "bitmap":
            raise ValueError("'t' must have format 'mti' and 'p' format 'bitmap'")
        return self


class DialectSpec:
    """A validated dialect: metadata per field and the pyiso8583 spec dict."""

    __slots__ = ("description", "fields", "mac_field", "name", "pyiso")

    def __init__(self, source: DialectFile) -> None:
        self.name = source.name
        self.description = source.description
        self.mac_field: int = source.mac_field
        self.fields: dict[str, FieldSpec] = dict(source.fields)
        #: The plain dict handed to ``iso8583.encode`` / ``iso8583.decode``.
        self.pyiso: dict[str, dict[str, Any]] = {k: v.pyiso() for k, v in source.fields.items()}

    def __repr__(self) -> str:
        return f"DialectSpec({self.name!r}, {len(self.fields)} fields)"

    def field(self, key: int | str) -> FieldSpec | None:
        return self.fields.get(str(key))

    def defines(self, number: int) -> bool:
        return str(number) in self.fields

    @property
    def binary(self) -> bool:
        """True when MTI and bitmap are binary (BCD MTI, 8-byte bitmap)."""
        return self.fields["t"].data_enc == "b"


def _parse(name: str, text: str) -> DialectSpec:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(name, f"not JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        return DialectSpec(DialectFile.model_validate(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        field = loc[1] if len(loc) > 1 and loc[0] == "fields" else None
        raise SpecError(name, f"{'.'.join(loc)}: {first['msg']}", field) from None


@cache
def load_spec(name: str) -> DialectSpec:
    """Load and validate a bundled dialect (``"cups"`` or ``"ascii87"``)."""
    if name not in BUNDLED_DIALECTS:
        raise SpecError(name, f"no such bundled dialect; choose one of {BUNDLED_DIALECTS}")
    text = resources.files("poskit.iso8583.dialects").joinpath(f"{name}.json").read_text("utf-8")
    spec = _parse(name, text)
    if spec.name != name:
        raise SpecError(name, f"file declares name {spec.name!r}")
    return spec


def load_spec_file(path: str | Path) -> DialectSpec:
    """Load and validate a dialect file from disk (for acquirer-specific variants)."""
    file = Path(path)
    return _parse(file.stem, file.read_text("utf-8"))
