"""Sub-field layouts: pack model values into field strings and unpack them back.

Each ``unpack_*`` raises :class:`MessageFormatError` naming the field (a received
message is wrong: response code 30); each ``pack_*`` raises
:class:`MessageEncodeError` (the sending side holds a value that does not fit).
Layouts follow china-pos-domain.md §1.3-§1.5 (cups) and are reused as ASCII digits by
the ascii87 dialect where docs/protocol.md says so.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from poskit.iso8583.errors import MessageEncodeError, MessageFormatError
from poskit.iso8583.model import BatchItem, EntryMode, Reconciliation, Totals, WorkingKeys
from poskit.money import Amount, CurrencyError, currency

__all__ = [
    "ENTRY_MODE_CODES",
    "MAX_BATCH_ITEMS",
    "WORKING_KEY_LENGTHS",
    "Field60",
    "Field61",
    "OriginalDataElements",
    "SecurityControl",
    "pack_additional_response",
    "pack_balance",
    "pack_batch_items",
    "pack_card_organisation_field",
    "pack_entry_mode",
    "pack_local_datetime",
    "pack_operator_field",
    "pack_pin_capture",
    "pack_settlement_totals",
    "pack_totals_block",
    "pack_upload_count",
    "pack_working_keys",
    "pad_text",
    "unpack_additional_response",
    "unpack_balance",
    "unpack_batch_items",
    "unpack_card_organisation_field",
    "unpack_entry_mode",
    "unpack_local_datetime",
    "unpack_operator_field",
    "unpack_pin_capture",
    "unpack_settlement_totals",
    "unpack_totals_block",
    "unpack_upload_count",
    "unpack_working_keys",
]


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _need(field: int, value: int, width: int, what: str) -> str:
    if not isinstance(value, int) or not 0 <= value < 10**width:
        raise MessageEncodeError(field, f"{what} must be 0..{10**width - 1}")
    return f"{value:0{width}d}"


# ---------------------------------------------------------------------------- field 22
#: Field 22 digits 1-2 per entry mode (CUPS / ISO 8583:1987).
ENTRY_MODE_CODES: dict[EntryMode, str] = {
    EntryMode.MANUAL: "01",
    EntryMode.SWIPE: "02",
    EntryMode.CHIP: "05",
    EntryMode.CONTACTLESS_CHIP: "07",
    EntryMode.CONTACTLESS_MSD: "91",
    EntryMode.FALLBACK: "80",
}
_ENTRY_BY_CODE = {code: mode for mode, code in ENTRY_MODE_CODES.items()}
# Accepted on receipt only: full-PBOC contactless, mobile chip, full magstripe read.
_ENTRY_BY_CODE.update(
    {"98": EntryMode.CONTACTLESS_CHIP, "96": EntryMode.CONTACTLESS_CHIP, "90": EntryMode.SWIPE}
)


def pack_entry_mode(mode: EntryMode, pin_entered: bool) -> str:
    """Field 22: entry mode + PIN digit (1 = PIN entered, 2 = no PIN), e.g. ``051``."""
    return ENTRY_MODE_CODES[mode] + ("1" if pin_entered else "2")


def unpack_entry_mode(value: str) -> tuple[EntryMode, bool]:
    if len(value) != 3 or not _digits(value):
        raise MessageFormatError(22, None, "entry mode must be 3 digits")
    mode = _ENTRY_BY_CODE.get(value[:2])
    if mode is None:
        raise MessageFormatError(22, None, f"unsupported entry mode {value[:2]}")
    return mode, value[2] == "1"


# ---------------------------------------------------------------------------- field 26
def pack_pin_capture(max_length: int) -> str:
    """Field 26: the longest PIN the PIN pad accepts (``06`` magstripe, ``12`` IC)."""
    if not isinstance(max_length, int) or not 4 <= max_length <= 12:
        raise MessageEncodeError(26, "PIN capture length must be 4..12")
    return f"{max_length:02d}"


def unpack_pin_capture(value: str) -> int:
    if len(value) != 2 or not _digits(value) or not 4 <= int(value) <= 12:
        raise MessageFormatError(26, None, "PIN capture code must be 04..12")
    return int(value)


# ---------------------------------------------------------------------------- field 53
@dataclasses.dataclass(frozen=True, slots=True)
class SecurityControl:
    """Field 53 (n16): d1 PIN block format (2 = ISO 9564 format 0 with PAN, 1 = without
    PAN, 0 = no PIN), d2 algorithm (0 single DES, 6 double-length 3DES), d3 track data
    encrypted with the TDK (1) or not (0); the other 13 digits are zero."""

    pin_format: str = "2"
    algorithm: str = "6"
    track_encrypted: bool = False

    def pack(self) -> str:
        if self.pin_format not in ("0", "1", "2") or self.algorithm not in ("0", "6"):
            raise MessageEncodeError(53, "PIN format must be 0/1/2 and algorithm 0/6")
        return self.pin_format + self.algorithm + ("1" if self.track_encrypted else "0") + "0" * 13

    @classmethod
    def unpack(cls, value: str) -> SecurityControl:
        if len(value) != 16 or not _digits(value):
            raise MessageFormatError(53, None, "security control must be 16 digits")
        if value[0] not in "012" or value[1] not in "06" or value[2] not in "01":
            raise MessageFormatError(53, None, "unknown PIN format, algorithm or track flag")
        return cls(value[0], value[1], value[2] == "1")


# ---------------------------------------------------------------------------- field 60
#: 19 digits is what UnionPay production terminals send (60.8 present).
_F60_LENGTHS = (8, 11, 12, 13, 14, 17, 19)


@dataclasses.dataclass(frozen=True, slots=True)
class Field60:
    """Field 60 (n..19): 60.1 transaction code n2, 60.2 batch n6, 60.3 network code n3,
    60.4 reading capability n1, 60.5 IC condition n1 (2 = fallback), 60.6 partial
    approval / balance flag n1, 60.7 account type n3, 60.8 reserved n2 (read, kept,
    never acted on). Trailing sub-fields may be left out, but only from the end."""

    txn_code: str
    batch: int
    network: str = "000"
    reading_capability: str | None = None
    chip_condition: str | None = None
    partial_approval: bool | None = None
    account_type: str | None = None
    reserved: str | None = None

    def pack(self) -> str:
        if len(self.txn_code) != 2 or not _digits(self.txn_code):
            raise MessageEncodeError(60, "60.1 must be 2 digits")
        if len(self.network) != 3 or not _digits(self.network):
            raise MessageEncodeError(60, "60.3 must be 3 digits")
        out = self.txn_code + _need(60, self.batch, 6, "60.2 batch number") + self.network
        tail: list[str | None] = [
            self.reading_capability,
            self.chip_condition,
            None if self.partial_approval is None else ("1" if self.partial_approval else "0"),
            self.account_type,
            self.reserved,
        ]
        widths = (1, 1, 1, 3, 2)
        ended = False
        for index, (part, width) in enumerate(zip(tail, widths, strict=True)):
            if part is None:
                ended = True
                continue
            if ended:
                raise MessageEncodeError(60, f"60.{index + 4} given without 60.{index + 3}")
            if len(part) != width or not _digits(part):
                raise MessageEncodeError(60, f"60.{index + 4} must be {width} digit(s)")
            out += part
        return out

    @classmethod
    def unpack(cls, value: str) -> Field60:
        if not _digits(value) or len(value) not in _F60_LENGTHS:
            raise MessageFormatError(60, None, f"field 60 must be {', '.join(map(str, _F60_LENGTHS))} digits")
        if len(value) == 8:  # 60.1 + 60.2 only: network code defaults to financial
            return cls(value[:2], int(value[2:8]))
        return cls(
            txn_code=value[:2],
            batch=int(value[2:8]),
            network=value[8:11],
            reading_capability=value[11] if len(value) > 11 else None,
            chip_condition=value[12] if len(value) > 12 else None,
            partial_approval=(value[13] == "1") if len(value) > 13 else None,
            account_type=value[14:17] if len(value) > 14 else None,
            reserved=value[17:19] if len(value) > 17 else None,
        )


# ---------------------------------------------------------------------------- field 61
@dataclasses.dataclass(frozen=True, slots=True)
class Field61:
    """Field 61 (n..29): 61.1 original batch n6, 61.2 original trace n6, 61.3 original
    date MMDD n4, then further digits (61.4 authorisation method, 61.5 institution...).
    Zeros mean unknown: refunds send ``000000000000`` + MMDD."""

    batch: int | None = None
    stan: int | None = None
    date: str | None = None
    extra: str = ""

    def pack(self) -> str:
        out = _need(61, self.batch or 0, 6, "61.1 batch") + _need(61, self.stan or 0, 6, "61.2 trace")
        if self.date is not None or self.extra:
            date = self.date or "0000"
            if len(date) != 4 or not _digits(date):
                raise MessageEncodeError(61, "61.3 date must be MMDD")
            out += date
        if self.extra and not _digits(self.extra):
            raise MessageEncodeError(61, "61.4+ must be digits")
        out += self.extra
        if len(out) > 29:
            raise MessageEncodeError(61, "field 61 is at most 29 digits")
        return out

    @classmethod
    def unpack(cls, value: str) -> Field61:
        if not _digits(value) or len(value) < 12 or 12 < len(value) < 16:
            raise MessageFormatError(61, None, "field 61 must be 12 digits or 16 and more")
        batch, stan = int(value[:6]), int(value[6:12])
        date = value[12:16] if len(value) >= 16 and value[12:16] != "0000" else None
        return cls(batch or None, stan or None, date, value[16:])


# ---------------------------------------------------------------------------- field 90
@dataclasses.dataclass(frozen=True, slots=True)
class OriginalDataElements:
    """ascii87 field 90 (n42): original MTI n4, STAN n6, date MMDD n4, time hhmmss n6,
    acquiring and forwarding institution n11 each (zeros when not used)."""

    mti: str
    stan: int
    date: str | None = None
    time: str | None = None
    acquirer: str = "0" * 11
    forwarder: str = "0" * 11

    def pack(self) -> str:
        date, time = self.date or "0000", self.time or "000000"
        parts = (self.mti, date, time, self.acquirer, self.forwarder)
        if (
            any(not _digits(p) for p in parts)
            or len(self.mti) != 4
            or len(date) != 4
            or len(time) != 6
            or len(self.acquirer) != 11
            or len(self.forwarder) != 11
        ):
            raise MessageEncodeError(
                90, "original data elements must be MTI n4, date n4, time n6, institutions n11"
            )
        return (
            self.mti + _need(90, self.stan, 6, "original STAN") + date + time + self.acquirer + self.forwarder
        )

    @classmethod
    def unpack(cls, value: str) -> OriginalDataElements:
        if len(value) != 42 or not _digits(value):
            raise MessageFormatError(90, None, "original data elements must be 42 digits")
        date, time = value[10:14], value[14:20]
        return cls(
            value[:4],
            int(value[4:10]),
            None if date == "0000" else date,
            None if time == "000000" else time,
            value[20:31],
            value[31:42],
        )


# ---------------------------------------------------------------------------- field 62
#: Sign-on key block length per scheme (china-pos-domain.md §1.4).
WORKING_KEY_LENGTHS = {"001": 24, "003": 40, "004": 60, "006": 60}
_SCHEME_BY_LENGTH = {24: "001", 40: "003", 60: "004"}
_KCV = 4


def pack_working_keys(keys: WorkingKeys, scheme: str) -> bytes:
    """Field 62 of a sign-on response.

    001: PIK(8)+KCV ‖ MAK(8)+KCV. 003: PIK(16)+KCV ‖ MAK(8)+8×00+KCV (or a 16-byte
    MAK) . 004: 003 ‖ TDK(16)+KCV. 006 (SM4): PIK, MAK, TDK 16 bytes each + KCV.
    """
    if scheme not in WORKING_KEY_LENGTHS:
        raise MessageEncodeError(62, f"unknown key scheme {scheme}")
    kcvs = [keys.pik_kcv, keys.mak_kcv] + ([keys.tdk_kcv] if scheme in ("004", "006") else [])
    if any(k is None or len(k) != _KCV for k in kcvs):
        raise MessageEncodeError(62, "each key check value must be 4 bytes")
    single = scheme == "001"
    if len(keys.pik) != (8 if single else 16):
        raise MessageEncodeError(62, f"PIK must be {8 if single else 16} bytes for scheme {scheme}")
    if single:
        if len(keys.mak) != 8:
            raise MessageEncodeError(62, "MAK must be 8 bytes for scheme 001")
        mak_slot = keys.mak
    elif scheme == "006":
        if len(keys.mak) != 16:
            raise MessageEncodeError(62, "MAK must be 16 bytes for scheme 006")
        mak_slot = keys.mak
    else:
        if len(keys.mak) not in (8, 16):
            raise MessageEncodeError(62, "MAK must be 8 or 16 bytes")
        mak_slot = keys.mak.ljust(16, b"\x00")
    out = keys.pik + keys.pik_kcv + mak_slot + keys.mak_kcv
    if scheme in ("004", "006"):
        if keys.tdk is None or len(keys.tdk) != 16 or keys.tdk_kcv is None:
            raise MessageEncodeError(62, f"scheme {scheme} needs a 16-byte TDK with its KCV")
        out += keys.tdk + keys.tdk_kcv
    return out


def unpack_working_keys(data: bytes, scheme: str | None = None) -> WorkingKeys:
    """Parse field 62 of a sign-on response; ``scheme`` None infers it from the length."""
    if scheme is None:
        scheme = _SCHEME_BY_LENGTH.get(len(data))
        if scheme is None:
            raise MessageFormatError(62, None, f"working keys are {len(data)} bytes; expecting 24, 40 or 60")
    expected = WORKING_KEY_LENGTHS.get(scheme)
    if expected is None:
        raise MessageFormatError(62, None, f"unknown key scheme {scheme}")
    if len(data) != expected:
        raise MessageFormatError(
            62, None, f"working keys are {len(data)} bytes; scheme {scheme} needs {expected}"
        )
    if scheme == "001":
        return WorkingKeys(data[0:8], data[8:12], data[12:20], data[20:24])
    mak_slot = data[20:36]
    mak = mak_slot[:8] if scheme != "006" and mak_slot[8:] == bytes(8) else mak_slot
    tdk = data[40:56] if scheme in ("004", "006") else None
    tdk_kcv = data[56:60] if scheme in ("004", "006") else None
    return WorkingKeys(data[0:16], data[16:20], mak, data[36:40], tdk, tdk_kcv)


# ---------------------------------------------------------------------------- field 48
def pack_totals_block(
    field: int,
    amount_debit: int,
    count_debit: int,
    amount_credit: int,
    count_credit: int,
    code: Reconciliation | None,
) -> str:
    """One 31-digit totals block: debit amount n12, count n3, credit amount n12, count n3,
    reconciliation code n1 (30 digits when ``code`` is None)."""
    out = (
        _need(field, amount_debit, 12, "debit total")
        + _need(field, count_debit, 3, "debit count")
        + _need(field, amount_credit, 12, "credit total")
        + _need(field, count_credit, 3, "credit count")
    )
    return out + (code.value if code is not None else "")


def unpack_totals_block(field: int, value: str) -> tuple[int, int, int, int, Reconciliation | None]:
    if len(value) not in (30, 31) or not _digits(value):
        raise MessageFormatError(field, None, "totals block must be 30 or 31 digits")
    code = None
    if len(value) == 31:
        if value[30] not in "0123":
            raise MessageFormatError(field, None, "reconciliation code must be 0-3")
        code = Reconciliation(value[30])
    return int(value[:12]), int(value[12:15]), int(value[15:27]), int(value[27:30]), code


def pack_settlement_totals(
    totals: Totals,
    reconciliation: Reconciliation = Reconciliation.NOT_CHECKED,
    foreign_reconciliation: Reconciliation = Reconciliation.NOT_CHECKED,
) -> str:
    """cups field 48 of 0500/0510 (n62): domestic block ‖ foreign block."""
    return pack_totals_block(
        48, totals.debit_amount, totals.debit_count, totals.credit_amount, totals.credit_count, reconciliation
    ) + pack_totals_block(
        48,
        totals.foreign_debit_amount,
        totals.foreign_debit_count,
        totals.foreign_credit_amount,
        totals.foreign_credit_count,
        foreign_reconciliation,
    )


def unpack_settlement_totals(value: str) -> tuple[Totals, Reconciliation, Reconciliation]:
    if len(value) not in (31, 62):
        raise MessageFormatError(48, None, "settlement totals must be 31 or 62 digits")
    d = unpack_totals_block(48, value[:31])
    f = unpack_totals_block(48, value[31:]) if len(value) == 62 else (0, 0, 0, 0, None)
    totals = Totals(d[0], d[1], d[2], d[3], f[0], f[1], f[2], f[3])
    return totals, d[4] or Reconciliation.NOT_CHECKED, f[4] or Reconciliation.NOT_CHECKED


MAX_BATCH_ITEMS = 8
_ITEM = 40


def pack_batch_items(items: tuple[BatchItem, ...]) -> str:
    """Field 48 of a 0320/201: count n2, then per item card class n2 (00 domestic,
    01 foreign), trace n6, PAN n20 right-justified zero-filled, amount n12."""
    if not 1 <= len(items) <= MAX_BATCH_ITEMS:
        raise MessageEncodeError(48, f"a batch upload carries 1..{MAX_BATCH_ITEMS} items")
    out = f"{len(items):02d}"
    for item in items:
        if not _digits(item.pan) or len(item.pan) > 20:
            raise MessageEncodeError(48, "batch item PAN must be up to 20 digits")
        out += (
            ("01" if item.foreign else "00")
            + _need(48, item.stan, 6, "item trace")
            + item.pan.rjust(20, "0")
            + _need(48, item.amount, 12, "item amount")
        )
    return out


def unpack_batch_items(value: str) -> tuple[BatchItem, ...]:
    if len(value) < 2 or not _digits(value):
        raise MessageFormatError(48, None, "batch items must be digits")
    count = int(value[:2])
    if len(value) != 2 + _ITEM * count or count == 0:
        raise MessageFormatError(48, None, f"batch item count {count} does not match the length")
    items = []
    for i in range(count):
        chunk = value[2 + _ITEM * i : 2 + _ITEM * (i + 1)]
        if chunk[:2] not in ("00", "01"):
            raise MessageFormatError(48, None, f"batch item {i + 1} card class must be 00 or 01")
        pan = chunk[8:28].lstrip("0")
        if not pan:
            raise MessageFormatError(48, None, f"batch item {i + 1} has no PAN")
        items.append(
            BatchItem(stan=int(chunk[2:8]), pan=pan, amount=int(chunk[28:40]), foreign=chunk[:2] == "01")
        )
    return tuple(items)


def pack_upload_count(count: int) -> str:
    """Field 48 of the end-of-upload message: transactions uploaded, n4."""
    return _need(48, count, 4, "upload count")


def unpack_upload_count(value: str) -> int:
    if len(value) != 4 or not _digits(value):
        raise MessageFormatError(48, None, "upload count must be 4 digits")
    return int(value)


# ---------------------------------------------------------------------------- field 63
def pad_text(field: int, text: str, width: int, encoding: str) -> str:
    """``text`` padded with spaces to ``width`` bytes in ``encoding`` (GBK in cups)."""
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        raise MessageEncodeError(field, f"text is not representable in {encoding}") from None
    if len(raw) > width:
        raise MessageEncodeError(field, f"text is {len(raw)} bytes, at most {width}")
    return text + " " * (width - len(raw))


def pack_operator_field(operator: str | None, model: str | None, encoding: str = "ascii") -> str:
    """Request field 63: 63.1 operator code an3, 63.2 terminal model ("vendor|model") an20."""
    out = pad_text(63, operator or "", 3, encoding)
    if model is not None:
        out += pad_text(63, model, 20, encoding)
    return out


def unpack_operator_field(value: str) -> tuple[str | None, str | None]:
    return value[:3].strip() or None, value[3:].strip() or None


def pack_card_organisation_field(
    organisation: str | None, remarks: tuple[str, ...], encoding: str = "ascii"
) -> str:
    """Response field 63: 63.1 card organisation an3 (CUP, VIS, MCC, JCB, AMX...), then
    remarks of 20 bytes each (issuer, CUPS, acquirer; printed on the receipt)."""
    if len(remarks) > 3:
        raise MessageEncodeError(63, "at most three remarks")
    return pad_text(63, organisation or "", 3, encoding) + "".join(
        pad_text(63, remark, 20, encoding) for remark in remarks
    )


def unpack_card_organisation_field(
    value: str,
    encoding: str = "ascii",
) -> tuple[str | None, tuple[str, ...]]:
    organisation = value[:3].strip() or None
    raw = value[3:].encode(encoding, errors="replace")
    if len(raw) % 20:
        raise MessageFormatError(63, None, "remarks must be 20 bytes each")
    try:
        remarks = tuple(raw[i : i + 20].decode(encoding).strip() for i in range(0, len(raw), 20))
    except UnicodeDecodeError:
        raise MessageFormatError(63, None, "a remark splits a multi-byte character") from None
    return organisation, remarks


# ---------------------------------------------------------------------------- field 44
def pack_additional_response(issuer_id: str | None, acquirer_id: str | None) -> str | None:
    """Field 44: issuing institution code an11 ‖ acquiring institution code an11."""
    if issuer_id is None and acquirer_id is None:
        return None
    for part in (issuer_id, acquirer_id):
        if part is not None and len(part) > 11:
            raise MessageEncodeError(44, "institution codes are at most 11 characters")
    return (issuer_id or "").ljust(11) + (acquirer_id or "")


def unpack_additional_response(value: str) -> tuple[str | None, str | None]:
    return value[:11].strip() or None, value[11:22].strip() or None


# ---------------------------------------------------------------------------- field 54
def pack_balance(balance: Amount, account_type: str = "00") -> str:
    """Field 54 (ISO additional amounts, 20 characters): account type n2, amount type
    n2 (02 available balance), currency n3, sign C/D, amount n12."""
    sign = "C" if balance.minor >= 0 else "D"
    return (
        account_type + "02" + balance.currency.numeric + sign + _need(54, abs(balance.minor), 12, "balance")
    )


def unpack_balance(value: str) -> Amount:
    if not value or len(value) % 20:
        raise MessageFormatError(54, None, "additional amounts come in 20-character entries")
    entries = [value[i : i + 20] for i in range(0, len(value), 20)]
    entry = next((e for e in entries if e[2:4] == "02"), entries[0])
    if entry[7] not in "CD" or not _digits(entry[8:20]) or not _digits(entry[4:7]):
        raise MessageFormatError(54, None, "balance entry must be currency n3, C/D, amount n12")
    try:
        cur = currency(entry[4:7])
    except CurrencyError:
        raise MessageFormatError(54, None, "unknown balance currency") from None
    minor = int(entry[8:20])
    return Amount(-minor if entry[7] == "D" else minor, cur)


# ---------------------------------------------------------------------------- fields 12/13
def pack_local_datetime(moment: datetime) -> tuple[str, str]:
    """Fields 12 (hhmmss) and 13 (MMDD)."""
    return moment.strftime("%H%M%S"), moment.strftime("%m%d")


def unpack_local_datetime(time: str | None, date: str | None, now: datetime) -> datetime | None:
    """Fields 12/13 as a datetime; the year is the one that puts it closest to ``now``."""
    if time is None and date is None:
        return None
    now = now.replace(tzinfo=None)
    if time is None or date is None:
        raise MessageFormatError(12 if time is None else 13, None, "fields 12 and 13 must come together")
    if len(time) != 6 or len(date) != 4 or not _digits(time + date):
        raise MessageFormatError(12, None, "local time must be hhmmss and date MMDD")
    best: datetime | None = None
    for year in (now.year - 1, now.year, now.year + 1):
        try:
            moment = datetime(
                year, int(date[:2]), int(date[2:]), int(time[:2]), int(time[2:4]), int(time[4:])
            )
        except ValueError:
            continue
        if best is None or abs(moment - now) < abs(best - now):
            best = moment
    if best is None:
        raise MessageFormatError(13, None, "local date/time is not a calendar date")
    return best
